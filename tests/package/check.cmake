# ctest package.install: install the build tree into a scratch prefix, then
#   1. the shared libraries: SONAME libxwsk-<backend>.so.<SOVERSION> and only xwsk:: symbols
#      exported (nm -D);
#   2. find_package: configure, build and run tests/package as a separate project that links
#      every backend both as xwsk::<backend>_static and as xwsk::<backend>_shared;
#   3. pkg-config: compile main.cpp with `pkg-config --cflags` and link it with
#      `pkg-config --libs xwsk-<backend>` (shared) and `xwsk-<backend>-static` (the archive),
#      then run each program;
#   4. the downstream WSK driver under the installed driver host.
# Each program must depend on libxwsk-<backend>.so exactly when it was linked to the shared kind.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... -DNM=... -DREADELF=...
#         -DLIBDIR=... -DSOVERSION=... -DSHARED=ON|OFF -P check.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
string(TIMESTAMP t0 "%s")

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# The program's NEEDED entries must name libxwsk-* exactly when @kind is shared.
function(check_program program kind)
  run("${program}" ${program})
  if(NOT run_out MATCHES "get_address_info\\(localhost\\) = STATUS_SUCCESS")
    message(FATAL_ERROR "${program}: unexpected output: ${run_out}")
  endif()
  run("readelf -d ${program}" ${READELF} -d ${program})
  if(kind STREQUAL "shared" AND NOT run_out MATCHES "NEEDED[^\n]*libxwsk-")
    message(FATAL_ERROR "${program} does not load a shared libxwsk-*:\n${run_out}")
  elseif(kind STREQUAL "static" AND run_out MATCHES "NEEDED[^\n]*libxwsk-")
    message(FATAL_ERROR "${program} loads a shared libxwsk-* though linked statically:\n${run_out}")
  endif()
  math(EXPR n "${programs_run} + 1")
  set(programs_run ${n} PARENT_SCOPE)
endfunction()
set(programs_run 0)

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(libdir ${prefix}/${LIBDIR})
string(TIMESTAMP t1 "%s")

# ---- 1. the shared libraries export the API and nothing else -----------------------------------
file(GLOB archives ${libdir}/libxwsk-*.a)
if(NOT archives)
  message(FATAL_ERROR "no libxwsk-*.a installed in ${libdir}")
endif()
set(shared_libs "")
if(SHARED)
  foreach(archive IN LISTS archives)
    get_filename_component(stem ${archive} NAME_WE)
    set(so ${libdir}/${stem}.so.${SOVERSION})
    if(NOT EXISTS ${libdir}/${stem}.so OR NOT EXISTS ${so})
      message(FATAL_ERROR "${stem}: ${stem}.so or ${stem}.so.${SOVERSION} not installed")
    endif()
    run("readelf -d ${so}" ${READELF} -d ${so})
    if(NOT run_out MATCHES "SONAME[^\n]*\\[${stem}\\.so\\.${SOVERSION}\\]")
      message(FATAL_ERROR "${so}: SONAME is not ${stem}.so.${SOVERSION}:\n${run_out}")
    endif()
    run("nm -D ${so}" ${NM} -DC --defined-only ${so})
    string(REGEX REPLACE "\n$" "" symbols "${run_out}")
    string(REPLACE "\n" ";" symbols "${symbols}")
    list(LENGTH symbols count)
    set(foreign ${symbols})
    list(FILTER foreign EXCLUDE REGEX "^[0-9a-f]+ [TDBRVWi] xwsk::")
    if(foreign OR count EQUAL 0)
      message(FATAL_ERROR "${so} exports ${count} symbols, some outside the xwsk API:\n"
                          "${foreign}")
    endif()
    message(STATUS "${stem}.so.${SOVERSION}: ${count} symbols exported, all xwsk::")
    string(REGEX REPLACE "^lib" "" module ${stem})
    list(APPEND shared_libs ${module})
  endforeach()
endif()

# ---- 2. find_package(xwsk) ----------------------------------------------------------------------
run("downstream configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run("downstream build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
file(GLOB programs ${WORK_DIR}/build/downstream-*-static ${WORK_DIR}/build/downstream-*-shared)
if(NOT programs)
  message(FATAL_ERROR "the package exported no backend")
endif()
foreach(program IN LISTS programs)
  string(REGEX MATCH "(static|shared)$" kind ${program})
  check_program(${program} ${kind})
endforeach()
list(LENGTH programs n_find_package)
if(SHARED AND NOT programs MATCHES "-shared")
  message(FATAL_ERROR "find_package(xwsk) exported no shared library")
endif()
string(TIMESTAMP t2 "%s")

# ---- 3. pkg-config ------------------------------------------------------------------------------
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${libdir}/pkgconfig)
file(GLOB pcs RELATIVE ${libdir}/pkgconfig ${libdir}/pkgconfig/xwsk-*.pc)
list(FILTER pcs EXCLUDE REGEX "-static\\.pc$")
if(NOT pcs)
  message(FATAL_ERROR "no xwsk-*.pc installed in ${libdir}/pkgconfig")
endif()
set(pc_dir ${WORK_DIR}/pkg-config)
file(MAKE_DIRECTORY ${pc_dir})
list(GET pcs 0 first)
string(REGEX REPLACE "\\.pc$" "" first ${first})
run("pkg-config --cflags" ${PKG_CONFIG} --cflags ${first})
separate_arguments(cflags UNIX_COMMAND "${run_out}")
run("compile main.cpp" ${CXX} -std=c++20 ${cflags} -c ${SOURCE_DIR}/main.cpp -o ${pc_dir}/main.o)
foreach(pc IN LISTS pcs)
  string(REGEX REPLACE "\\.pc$" "" module ${pc})
  run("pkg-config --variable=libdir ${module}" ${PKG_CONFIG} --variable=libdir ${module})
  string(STRIP "${run_out}" module_libdir)
  # The private dependencies resolve (what `pkg-config --static` adds).
  run("pkg-config --static --libs ${module}" ${PKG_CONFIG} --static --libs ${module})
  foreach(kind shared static)
    if(kind STREQUAL "shared")
      if(NOT module IN_LIST shared_libs)
        continue()
      endif()
      set(query ${module})
    else()
      set(query ${module}-static)
    endif()
    run("pkg-config --libs ${query}" ${PKG_CONFIG} --libs ${query})
    separate_arguments(libs UNIX_COMMAND "${run_out}")
    set(program ${pc_dir}/${module}-${kind})
    run("link ${program}" ${CXX} ${pc_dir}/main.o ${libs} -Wl,-rpath,${module_libdir}
        -o ${program})
    check_program(${program} ${kind})
  endforeach()
endforeach()
math(EXPR n_pkg_config "${programs_run} - ${n_find_package}")
list(LENGTH pcs n_pcs)
list(LENGTH shared_libs n_shared)
math(EXPR n_expected "${n_pcs} + ${n_shared}")
if(NOT n_pkg_config EQUAL n_expected)
  message(FATAL_ERROR "pkg-config: ${n_pkg_config} programs for ${n_pcs} modules, "
                      "${n_shared} of them shared (expected ${n_expected})")
endif()
string(TIMESTAMP t3 "%s")

# ---- 4. the downstream WSK driver under the installed host --------------------------------------
if(EXISTS ${WORK_DIR}/build/driver-host-path.txt)
  # DriverEntry, one second, DriverUnload, no leaks.
  file(READ ${WORK_DIR}/build/driver-host-path.txt host)
  run("the downstream WSK driver under ${host}"
      ${host} --seconds 1 ${WORK_DIR}/build/downstream_wsk_driver.so)
  if(NOT run_out MATCHES "unloaded clean")
    message(FATAL_ERROR "the downstream WSK driver did not unload clean: ${run_out}")
  endif()
endif()
string(TIMESTAMP t4 "%s")

math(EXPR d_install "${t1} - ${t0}")
math(EXPR d_find "${t2} - ${t1}")
math(EXPR d_pc "${t3} - ${t2}")
math(EXPR d_driver "${t4} - ${t3}")
message(STATUS "package: ${programs_run} downstream programs built and run "
               "(${n_find_package} through find_package, the rest through pkg-config), "
               "${n_shared} shared libraries checked; seconds: install ${d_install}, "
               "find_package ${d_find}, pkg-config ${d_pc}, driver ${d_driver}")
file(REMOVE_RECURSE ${WORK_DIR})
