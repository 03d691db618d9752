# SPDX-License-Identifier: MIT
# CMake toolchain file: build the WSK backend and the kernel test driver (xwsk_ktest.sys) with
# MSVC and the Windows Driver Kit, for real Windows. UNTESTED: written against the WDK's
# documented layout and flags, never run (the project's machines have no Windows/WDK). See
# docs/wsk-backend.md.
#
# Usage, from a "x64 Native Tools Command Prompt for VS" with the WDK installed:
#   cmake -S tests/kernel -B build-wdk -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/wdk-msvc.cmake
#   cmake --build build-wdk
#
# Sets XWSK_WDK_TOOLCHAIN and XWSK_KERNEL_TOOLCHAIN; cmake/XwskKernelTargets.cmake then builds
# drivers with /kernel and links them /DRIVER against ntoskrnl.lib and netio.lib.
#
# Overridable: XWSK_WDK_ROOT (default: C:/Program Files (x86)/Windows Kits/10),
# XWSK_WDK_VERSION (default: the newest Include/<version> that has km/wsk.h).

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)
set(CMAKE_C_COMPILER cl)
set(CMAKE_CXX_COMPILER cl)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES XWSK_WDK_ROOT XWSK_WDK_VERSION)

if(NOT XWSK_WDK_ROOT)
  set(XWSK_WDK_ROOT "C:/Program Files (x86)/Windows Kits/10")
endif()
if(NOT XWSK_WDK_VERSION)
  file(GLOB _xwsk_wdk_versions LIST_DIRECTORIES true "${XWSK_WDK_ROOT}/Include/10.*")
  list(SORT _xwsk_wdk_versions COMPARE NATURAL ORDER DESCENDING)
  foreach(dir ${_xwsk_wdk_versions})
    if(EXISTS "${dir}/km/wsk.h")
      get_filename_component(XWSK_WDK_VERSION "${dir}" NAME)
      break()
    endif()
  endforeach()
endif()
if(NOT XWSK_WDK_VERSION OR NOT EXISTS "${XWSK_WDK_ROOT}/Include/${XWSK_WDK_VERSION}/km/wsk.h")
  message(FATAL_ERROR "WDK not found (km/wsk.h) under ${XWSK_WDK_ROOT}; pass -DXWSK_WDK_ROOT=... "
                      "-DXWSK_WDK_VERSION=10.0.x.y")
endif()

set(XWSK_WDK_INCLUDE_DIRS
  "${XWSK_WDK_ROOT}/Include/${XWSK_WDK_VERSION}/km"
  "${XWSK_WDK_ROOT}/Include/${XWSK_WDK_VERSION}/km/crt"
  "${XWSK_WDK_ROOT}/Include/${XWSK_WDK_VERSION}/shared")
set(XWSK_WDK_LIB_DIR "${XWSK_WDK_ROOT}/Lib/${XWSK_WDK_VERSION}/km/x64")

set(XWSK_KERNEL_CXX_STANDARD 20)
set(XWSK_WDK_TOOLCHAIN TRUE)
set(XWSK_KERNEL_TOOLCHAIN TRUE)
