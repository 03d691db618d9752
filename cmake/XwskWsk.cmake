# SPDX-License-Identifier: MIT
# XwskWsk.cmake: build and test the WSK kernel backend from the host build.
#
#   include(cmake/XwskWsk.cmake)
#   xwsk_add_wsk_kernel_tests(
#     [TEST_NAME <name>]       ctest name                 (default: wsk.conformance)
#     [LABELS <label>...]      ctest labels               (default: conformance;wsk)
#     [TIMEOUT <seconds>]      ctest + Wine run timeout   (default: 150; the run takes ~20 s)
#     [SETUP_HINT <text>]      printed when skipping      (default: tests/kernel/install-deps.sh)
#     [BUILD_TYPE <type>]      kernel build's CMAKE_BUILD_TYPE (default: RelWithDebInfo)
#   )
#
# When mingw-w64 (x86_64-w64-mingw32-g++), Wine (wine, winepath, wineserver),
# Wine's DDK headers (ddk/wsk.h) and Wine's PE import libs (libntoskrnl.a,
# libnetio.a) are all found, this adds an ExternalProject `xwsk_wsk_kernel`
# (part of ALL) that configures tests/kernel with
# cmake/mingw-w64-wine-driver.cmake and builds xwsk_ktest.sys and
# xwsk-ktest-loader.exe into <build>/wsk-kernel/, and a ctest test that runs
# them under Wine in a fresh prefix (tests/kernel/run-under-wine.sh).
#
# When something is missing, the same ctest test is still registered; it
# prints "SKIPPED: mingw-w64/wine not installed (...); run <hint>", which
# ctest reports as skipped (SKIP_REGULAR_EXPRESSION "SKIPPED:"). The Wine
# runner itself exits 77 (SKIP_RETURN_CODE 77) if Wine disappears between
# configure and test.
#
# The same cross build also builds the echo server driver sample (samples/echo-driver:
# xwsk_echo.sys + xwsk-echo-driver-loader.exe, added by tests/kernel/CMakeLists.txt), and a
# second ctest test `echo.wsk.peer` (labels echo;wsk) runs it under Wine against Linux peers
# (samples/echo-driver/run-echo-under-wine.sh: Python 10 MiB + socat/nc 1 MiB, sha256). It is
# registered as a skip, with the same reason, when something is missing.
#
# Sets in the caller's scope: XWSK_WSK_KERNEL_AVAILABLE (TRUE/FALSE) and
# XWSK_WSK_KERNEL_MISSING (what was not found).
include_guard(GLOBAL)

set(_XWSK_WSK_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(xwsk_add_wsk_kernel_tests)
  cmake_parse_arguments(ARG "" "TEST_NAME;TIMEOUT;SETUP_HINT;BUILD_TYPE" "LABELS" ${ARGN})
  if(NOT ARG_TEST_NAME)
    set(ARG_TEST_NAME wsk.conformance)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS conformance wsk)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 150)
  endif()
  if(NOT ARG_SETUP_HINT)
    set(ARG_SETUP_HINT "tests/kernel/install-deps.sh")
  endif()
  if(NOT ARG_BUILD_TYPE)
    set(ARG_BUILD_TYPE RelWithDebInfo)
  endif()

  get_filename_component(root "${_XWSK_WSK_CMAKE_DIR}/.." ABSOLUTE)
  set(runner "${root}/tests/kernel/run-under-wine.sh")
  set(echo_runner "${root}/samples/echo-driver/run-echo-under-wine.sh")
  set(echo_test echo.wsk.peer)
  set(echo_labels echo wsk)
  set(echo_timeout 130)  # the whole Wine run (prefix, driver, peers, teardown) gets 110 s

  # --- What is there? --------------------------------------------------------
  set(missing "")
  find_program(XWSK_MINGW_CXX_HOST NAMES x86_64-w64-mingw32-g++)
  if(NOT XWSK_MINGW_CXX_HOST)
    list(APPEND missing "x86_64-w64-mingw32-g++")
  endif()
  foreach(tool wine winepath wineserver)
    string(TOUPPER "${tool}" up)
    find_program(XWSK_${up}_PROGRAM NAMES ${tool})
    if(NOT XWSK_${up}_PROGRAM)
      list(APPEND missing "${tool}")
    endif()
  endforeach()
  find_path(XWSK_WINE_INCLUDE_ROOT NAMES windows/ddk/wsk.h
            PATHS /usr/include/wine/wine /usr/local/include/wine/wine /opt/wine/include/wine
            NO_DEFAULT_PATH)
  if(NOT XWSK_WINE_INCLUDE_ROOT)
    list(APPEND missing "Wine DDK headers (libwine-dev)")
  endif()
  find_path(XWSK_WINE_PE_LIB_DIR NAMES libntoskrnl.a
            PATHS /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib64/wine/x86_64-windows
                  /usr/lib/wine/x86_64-windows /usr/local/lib/wine/x86_64-windows
            NO_DEFAULT_PATH)
  if(NOT XWSK_WINE_PE_LIB_DIR OR NOT EXISTS "${XWSK_WINE_PE_LIB_DIR}/libnetio.a")
    list(APPEND missing "Wine PE import libs (wine64)")
  endif()
  find_program(XWSK_SH_PROGRAM NAMES sh)

  if(NOT XWSK_SH_PROGRAM)
    list(APPEND missing "sh")
  endif()

  if(missing)
    string(REPLACE ";" ", " missing_text "${missing}")
    message(STATUS "xwsk: WSK kernel tests skipped: missing ${missing_text}")
    set(msg "SKIPPED: mingw-w64/wine not installed (missing ${missing_text}); run ${ARG_SETUP_HINT}")
    # Portable (no shell needed): print the reason; ctest sees "SKIPPED:" and
    # reports the test as skipped.
    add_test(NAME ${ARG_TEST_NAME} COMMAND "${CMAKE_COMMAND}" -E echo "${msg}")
    set_tests_properties(${ARG_TEST_NAME} PROPERTIES
      LABELS "${ARG_LABELS}" SKIP_REGULAR_EXPRESSION "SKIPPED:" SKIP_RETURN_CODE 77 TIMEOUT 30)
    add_test(NAME ${echo_test} COMMAND "${CMAKE_COMMAND}" -E echo "${msg}")
    set_tests_properties(${echo_test} PROPERTIES
      LABELS "${echo_labels}" SKIP_REGULAR_EXPRESSION "SKIPPED:" SKIP_RETURN_CODE 77 TIMEOUT 30)
    set(XWSK_WSK_KERNEL_AVAILABLE FALSE PARENT_SCOPE)
    set(XWSK_WSK_KERNEL_MISSING "${missing}" PARENT_SCOPE)
    return()
  endif()

  # --- Cross build of driver + loader ----------------------------------------
  include(ExternalProject)
  set(kbin "${CMAKE_BINARY_DIR}/wsk-kernel")
  ExternalProject_Add(xwsk_wsk_kernel
    SOURCE_DIR "${root}/tests/kernel"
    BINARY_DIR "${kbin}"
    PREFIX "${CMAKE_BINARY_DIR}/wsk-kernel-ep"
    CMAKE_ARGS
      "-DCMAKE_TOOLCHAIN_FILE=${root}/cmake/mingw-w64-wine-driver.cmake"
      "-DCMAKE_BUILD_TYPE=${ARG_BUILD_TYPE}"
      "-DXWSK_WINE_INCLUDE_ROOT=${XWSK_WINE_INCLUDE_ROOT}"
      "-DXWSK_WINE_PE_LIB_DIR=${XWSK_WINE_PE_LIB_DIR}"
    BUILD_ALWAYS TRUE
    INSTALL_COMMAND ""
    BUILD_BYPRODUCTS "${kbin}/xwsk_ktest.sys" "${kbin}/xwsk-ktest-loader.exe"
                     "${kbin}/samples/echo-driver/xwsk_echo.sys"
                     "${kbin}/samples/echo-driver/xwsk-echo-driver-loader.exe"
                     "${kbin}/samples/wsk-echo/xwsk_wsk_echo.sys"
                     "${kbin}/samples/wsk-echo/xwsk-wsk-echo-loader.exe"
    USES_TERMINAL_BUILD TRUE)

  math(EXPR wine_timeout "${ARG_TIMEOUT} - 20")
  if(wine_timeout LESS 30)
    set(wine_timeout 30)
  endif()
  add_test(NAME ${ARG_TEST_NAME}
    COMMAND "${XWSK_SH_PROGRAM}" "${runner}" "${kbin}/xwsk-ktest-loader.exe" "${kbin}/xwsk_ktest.sys")
  set_tests_properties(${ARG_TEST_NAME} PROPERTIES
    LABELS "${ARG_LABELS}"
    SKIP_RETURN_CODE 77
    TIMEOUT ${ARG_TIMEOUT}
    # The Wine run gets a little less, so the runner can still clean up.
    ENVIRONMENT "XWSK_WINE_TIMEOUT=${wine_timeout}"
    # Fail on the loader's own FAILED lines even if an exit code got lost.
    FAIL_REGULAR_EXPRESSION "\\[ FAILED \\]")

  # The echo server driver against Linux peers (Python socket, socat or nc).
  find_program(XWSK_PYTHON3_PROGRAM NAMES python3)
  if(NOT XWSK_PYTHON3_PROGRAM)
    add_test(NAME ${echo_test} COMMAND "${CMAKE_COMMAND}" -E echo
             "SKIPPED: python3 not installed (the Linux peer of the echo driver)")
    set_tests_properties(${echo_test} PROPERTIES
      LABELS "${echo_labels}" SKIP_REGULAR_EXPRESSION "SKIPPED:" TIMEOUT 30)
  else()
    set(edir "${kbin}/samples/echo-driver")
    add_test(NAME ${echo_test}
      COMMAND "${XWSK_SH_PROGRAM}" "${echo_runner}" "${edir}/xwsk-echo-driver-loader.exe"
              "${edir}/xwsk_echo.sys")
    math(EXPR echo_wine_timeout "${echo_timeout} - 20")
    set_tests_properties(${echo_test} PROPERTIES
      LABELS "${echo_labels}"
      SKIP_RETURN_CODE 77
      TIMEOUT ${echo_timeout}
      ENVIRONMENT "XWSK_WINE_TIMEOUT=${echo_wine_timeout}"
      FAIL_REGULAR_EXPRESSION "MISMATCH")
  endif()
  # The two WSK providers compared case by case (Wine's netio.sys, umwsk's): same statuses for
  # every case that runs on both, or a documented reason (docs/wsk-differential.md).
  if(XWSK_PYTHON3_PROGRAM AND TARGET xwsk-conformance-wsk_um)
    add_test(NAME wsk.differential
      COMMAND "${XWSK_PYTHON3_PROGRAM}" "${root}/tests/umwsk/differential.py"
              --loader "${kbin}/xwsk-ktest-loader.exe" --driver "${kbin}/xwsk_ktest.sys"
              --um $<TARGET_FILE:xwsk-conformance-wsk_um>)
    set_tests_properties(wsk.differential PROPERTIES
      LABELS "wsk;wsk_um;differential"
      SKIP_RETURN_CODE 77
      TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "XWSK_WINE_TIMEOUT=${wine_timeout}")
  endif()

  # The WSK-native echo sample (samples/wsk-echo), the same source as xwsk_wsk_echo.so, as a
  # driver over Wine's netio.sys.
  if(XWSK_PYTHON3_PROGRAM)
    set(wdir "${kbin}/samples/wsk-echo")
    add_test(NAME wsk_echo.wine.peer
      COMMAND "${XWSK_SH_PROGRAM}" "${root}/samples/wsk-echo/run-under-wine.sh"
              "${wdir}/xwsk-wsk-echo-loader.exe" "${wdir}/xwsk_wsk_echo.sys")
    set_tests_properties(wsk_echo.wine.peer PROPERTIES
      LABELS "${echo_labels}"
      SKIP_RETURN_CODE 77
      TIMEOUT 120
      ENVIRONMENT "XWSK_WINE_TIMEOUT=100"
      RESOURCE_LOCK xwsk_port_40007)
  endif()
  set(XWSK_WSK_KERNEL_AVAILABLE TRUE PARENT_SCOPE)
  set(XWSK_WSK_KERNEL_MISSING "" PARENT_SCOPE)
endfunction()
