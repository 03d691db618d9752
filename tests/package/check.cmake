# ctest package.find_package: install the build tree into a scratch prefix, then configure,
# build and run tests/package as a separate project that uses find_package(xwsk).
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P check.cmake
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream build failed (${rc})")
endif()
file(GLOB programs ${WORK_DIR}/build/downstream-*)
if(NOT programs)
  message(FATAL_ERROR "the package exported no backend")
endif()
foreach(program IN LISTS programs)
  execute_process(COMMAND ${program} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${program} failed (${rc})")
  endif()
endforeach()
if(EXISTS ${WORK_DIR}/build/driver-host-path.txt)
  # The WSK driver under the installed host: DriverEntry, one second, DriverUnload, no leaks.
  file(READ ${WORK_DIR}/build/driver-host-path.txt host)
  execute_process(COMMAND ${host} --seconds 1 ${WORK_DIR}/build/downstream_wsk_driver.so
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "unloaded clean")
    message(FATAL_ERROR "the downstream WSK driver failed under ${host} (${rc}): ${out}${err}")
  endif()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
