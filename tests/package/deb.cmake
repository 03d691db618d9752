# ctest package.deb: builds the Debian packages of this build with CPack into a scratch directory
# and checks their contents with dpkg-deb: the runtime package holds the versioned shared
# libraries and nothing else; the -dev package holds the headers, the static libraries, the .so
# links, the pkg-config files and the CMake package, and no versioned library of the runtime one.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSOVERSION=... -DSHARED=ON|OFF -P deb.cmake
cmake_minimum_required(VERSION 3.25)
find_program(DPKG_DEB dpkg-deb)
if(NOT DPKG_DEB)
  message("XWSK-SKIP package.deb: dpkg-deb not found (Debian's dpkg)")
  return()  # the test's SKIP_REGULAR_EXPRESSION matches the line above
endif()
if(NOT SHARED)
  message("XWSK-SKIP package.deb: no shared libraries in this build (XWSK_BUILD_SHARED=OFF), "
          "so no runtime package")
  return()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_CPACK_COMMAND} --config ${BUILD_DIR}/CPackConfig.cmake
                        -B ${WORK_DIR} -G DEB
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed (${rc}):\n${out}${err}")
endif()

function(deb_contents deb out)
  execute_process(COMMAND ${DPKG_DEB} -c ${deb} RESULT_VARIABLE rc OUTPUT_VARIABLE listing)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-deb -c ${deb} failed (${rc})")
  endif()
  # "perm owner size date time ./path[ -> target]": keep the paths of files and links.
  string(REGEX REPLACE "[^\n]* \\./" "/" listing "${listing}")
  string(REGEX REPLACE " -> [^\n]*" "" listing "${listing}")
  string(REGEX REPLACE "\n$" "" listing "${listing}")
  string(REPLACE "\n" ";" listing "${listing}")
  list(FILTER listing EXCLUDE REGEX "/$")  # directories
  set(${out} ${listing} PARENT_SCOPE)
endfunction()

file(GLOB runtime_deb ${WORK_DIR}/libxwsk${SOVERSION}_*.deb)
file(GLOB dev_deb ${WORK_DIR}/libxwsk-dev_*.deb)
if(NOT runtime_deb OR NOT dev_deb)
  file(GLOB debs ${WORK_DIR}/*.deb)
  message(FATAL_ERROR "expected libxwsk${SOVERSION}_*.deb and libxwsk-dev_*.deb, got: ${debs}")
endif()

deb_contents(${runtime_deb} runtime)
set(other ${runtime})
list(FILTER other EXCLUDE REGEX "/lib/.*libxwsk-[a-z-]+\\.so\\.${SOVERSION}(\\.[0-9]+)?$")
list(FILTER runtime INCLUDE REGEX "libxwsk-posix\\.so\\.${SOVERSION}\\.")
if(other OR NOT runtime)
  message(FATAL_ERROR "${runtime_deb}: not only the shared libraries (or no libxwsk-posix): "
                      "${other}")
endif()

deb_contents(${dev_deb} dev)
foreach(wanted "/include/xwsk/xwsk\\.h$" "/lib/.*libxwsk-posix\\.a$" "/lib/.*libxwsk-posix\\.so$"
        "/lib/.*pkgconfig/xwsk-posix\\.pc$" "/lib/.*pkgconfig/xwsk-posix-static\\.pc$"
        "/lib/.*cmake/xwsk/xwskConfig\\.cmake$" "/lib/.*cmake/xwsk/xwskTargets\\.cmake$")
  set(found ${dev})
  list(FILTER found INCLUDE REGEX "${wanted}")
  if(NOT found)
    message(FATAL_ERROR "${dev_deb} lacks ${wanted}")
  endif()
endforeach()
set(clash ${dev})
list(FILTER clash INCLUDE REGEX "libxwsk-(posix|posix-poll|uv)\\.so\\.")
if(clash)
  message(FATAL_ERROR "${dev_deb} holds files of the runtime package: ${clash}")
endif()

file(SIZE ${runtime_deb} runtime_size)
file(SIZE ${dev_deb} dev_size)
list(LENGTH dev n_dev)
get_filename_component(runtime_name ${runtime_deb} NAME)
get_filename_component(dev_name ${dev_deb} NAME)
message(STATUS "${runtime_name}: ${runtime_size} bytes; ${dev_name}: ${dev_size} bytes, "
               "${n_dev} files and links")
file(REMOVE_RECURSE ${WORK_DIR})
