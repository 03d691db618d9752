# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-compile Windows kernel drivers (.sys) and their
# user-mode loaders (.exe) with mingw-w64, against Wine's DDK headers and Wine's
# PE import libraries, so the result runs inside Wine's kernel emulation
# (winedevice.exe + ntoskrnl.exe + netio.sys, a real WSK provider).
#
# Recipe and its pitfalls: backends/wsk/NOTES.md. Debian packages:
#   apt-get install -y g++-mingw-w64-x86-64 mingw-w64 wine64 libwine-dev
#
# Usage:
#   cmake -S tests/kernel -B build-kernel \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-wine-driver.cmake
#
# This file only selects compilers and discovers paths. Per-target flags live in
# cmake/XwskKernelTargets.cmake (xwsk_add_kernel_driver / xwsk_add_wine_exe),
# which reads the XWSK_* variables set here:
#
#   XWSK_WINE_DRIVER_TOOLCHAIN  TRUE when this toolchain is active
#   XWSK_WINE_WINDOWS_INCLUDE   Wine's Windows + DDK headers (.../wine/windows)
#   XWSK_WINE_MSVCRT_INCLUDE    Wine's CRT headers (.../wine/msvcrt)
#   XWSK_WINE_PE_LIB_DIR        Wine's PE import libs (libntoskrnl.a, libnetio.a)
#   XWSK_MINGW_GCC_INCLUDE      GCC's own freestanding headers (stddef.h, ...)
#   XWSK_MINGW_CXX_INCLUDE      libstdc++ headers (header-only parts are used)
#   XWSK_KERNEL_CXX_STANDARD    20 if the compiler accepts -std=c++20, else 17
#
# Overridable from the command line: XWSK_MINGW_TRIPLET (x86_64-w64-mingw32),
# XWSK_WINE_INCLUDE_ROOT, XWSK_WINE_PE_LIB_DIR.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

if(NOT XWSK_MINGW_TRIPLET)
  set(XWSK_MINGW_TRIPLET x86_64-w64-mingw32)
endif()
# Try-compile projects re-read this file: forward our knobs to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES XWSK_MINGW_TRIPLET
     XWSK_WINE_INCLUDE_ROOT XWSK_WINE_PE_LIB_DIR)

find_program(XWSK_MINGW_CXX NAMES ${XWSK_MINGW_TRIPLET}-g++ ${XWSK_MINGW_TRIPLET}-g++-win32 REQUIRED)
find_program(XWSK_MINGW_CC NAMES ${XWSK_MINGW_TRIPLET}-gcc ${XWSK_MINGW_TRIPLET}-gcc-win32 REQUIRED)
find_program(XWSK_MINGW_WINDRES NAMES ${XWSK_MINGW_TRIPLET}-windres)

set(CMAKE_C_COMPILER ${XWSK_MINGW_CC})
set(CMAKE_CXX_COMPILER ${XWSK_MINGW_CXX})
if(XWSK_MINGW_WINDRES)
  set(CMAKE_RC_COMPILER ${XWSK_MINGW_WINDRES})
endif()

# mingw's own sysroot is used by the user-mode loader (normal CRT link).
set(CMAKE_FIND_ROOT_PATH /usr/${XWSK_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# --- Wine's DDK headers ------------------------------------------------------
if(NOT XWSK_WINE_INCLUDE_ROOT)
  foreach(cand /usr/include/wine/wine /usr/local/include/wine/wine /opt/wine/include/wine)
    if(EXISTS "${cand}/windows/ddk/wsk.h")
      set(XWSK_WINE_INCLUDE_ROOT "${cand}")
      break()
    endif()
  endforeach()
endif()
if(NOT EXISTS "${XWSK_WINE_INCLUDE_ROOT}/windows/ddk/wsk.h")
  message(FATAL_ERROR "Wine DDK headers (windows/ddk/wsk.h) not found; install libwine-dev "
                      "or pass -DXWSK_WINE_INCLUDE_ROOT=<dir containing windows/ and msvcrt/>")
endif()
set(XWSK_WINE_WINDOWS_INCLUDE "${XWSK_WINE_INCLUDE_ROOT}/windows")
set(XWSK_WINE_MSVCRT_INCLUDE "${XWSK_WINE_INCLUDE_ROOT}/msvcrt")

# --- Wine's PE import libraries ---------------------------------------------
if(NOT XWSK_WINE_PE_LIB_DIR)
  foreach(cand /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib64/wine/x86_64-windows
               /usr/lib/wine/x86_64-windows /usr/local/lib/wine/x86_64-windows)
    if(EXISTS "${cand}/libntoskrnl.a" AND EXISTS "${cand}/libnetio.a")
      set(XWSK_WINE_PE_LIB_DIR "${cand}")
      break()
    endif()
  endforeach()
endif()
if(NOT EXISTS "${XWSK_WINE_PE_LIB_DIR}/libntoskrnl.a")
  message(FATAL_ERROR "Wine PE import libs (libntoskrnl.a, libnetio.a) not found; install wine64 "
                      "or pass -DXWSK_WINE_PE_LIB_DIR=<dir>")
endif()

# --- GCC's freestanding headers and libstdc++'s header-only parts -----------
execute_process(COMMAND ${XWSK_MINGW_CC} -print-file-name=include
                OUTPUT_VARIABLE XWSK_MINGW_GCC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
get_filename_component(_xwsk_gcc_libdir "${XWSK_MINGW_GCC_INCLUDE}" DIRECTORY)
set(XWSK_MINGW_CXX_INCLUDE "${_xwsk_gcc_libdir}/include/c++")
if(NOT EXISTS "${XWSK_MINGW_CXX_INCLUDE}/type_traits")
  message(FATAL_ERROR "libstdc++ headers not found at ${XWSK_MINGW_CXX_INCLUDE}")
endif()

# --- C++ standard for kernel code: 20 if accepted, else 17 ------------------
if(NOT DEFINED XWSK_KERNEL_CXX_STANDARD)
  execute_process(COMMAND ${XWSK_MINGW_CXX} -std=c++20 -x c++ -E -
                  INPUT_FILE /dev/null OUTPUT_QUIET ERROR_QUIET RESULT_VARIABLE _xwsk_rc)
  if(_xwsk_rc EQUAL 0)
    set(XWSK_KERNEL_CXX_STANDARD 20)
  else()
    set(XWSK_KERNEL_CXX_STANDARD 17)
  endif()
endif()

set(XWSK_WINE_DRIVER_TOOLCHAIN TRUE)
set(XWSK_KERNEL_TOOLCHAIN TRUE)
