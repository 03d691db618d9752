# SPDX-License-Identifier: MIT
# Helpers for targets built with cmake/mingw-w64-wine-driver.cmake:
#
#   xwsk_kernel_compile_options(<target>)
#       Kernel-mode compile flags on a (static/object) library or driver:
#       C++${XWSK_KERNEL_CXX_STANDARD}, freestanding, no exceptions/RTTI/
#       thread-safe statics, -nostdinc with libstdc++'s header-only parts,
#       GCC's freestanding headers, Wine's CRT + Windows/DDK headers.
#
#   xwsk_add_kernel_driver(<target> SOURCES <src>... [LINK_LIBRARIES <lib>...])
#       A kernel driver <target>.sys: native subsystem, entry DriverEntry,
#       -nostdlib, imports from ntoskrnl.exe and netio.sys, libgcc. After the
#       link, fails the build if the .sys has static constructors (.ctors),
#       which would never run (see backends/wsk/kernel_rt.cpp).
#
#   xwsk_add_wine_exe(<target> SOURCES <src>... [LINK_LIBRARIES <lib>...])
#       A user-mode console .exe against mingw-w64's own headers and CRT,
#       fully static (no libstdc++/libgcc DLLs to find inside the Wine prefix).
#
# Include after project() in a build configured with a kernel toolchain file:
# cmake/mingw-w64-wine-driver.cmake (tested here, under Wine) or cmake/wdk-msvc.cmake (MSVC +
# WDK for real Windows: untested, see docs/wsk-backend.md).
include_guard(GLOBAL)

if(XWSK_WDK_TOOLCHAIN)
  # ---- MSVC + WDK (untested) --------------------------------------------------------------
  function(xwsk_kernel_compile_options target)
    set_target_properties(${target} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON
                                               MSVC_RUNTIME_LIBRARY "")
    target_include_directories(${target} SYSTEM PRIVATE ${XWSK_WDK_INCLUDE_DIRS})
    # /kernel: no C++ exceptions, no RTTI, kernel-safe code generation.
    target_compile_options(${target} PRIVATE /kernel /GS- /Gy /Zc:wchar_t /W4 /Zi /Oi)
    target_compile_definitions(${target} PRIVATE XWSK_KERNEL=1 _AMD64_=1 _WIN64=1 AMD64=1
                                                 NTDDI_VERSION=0x0A000000 _WIN32_WINNT=0x0A00
                                                 POOL_NX_OPTIN=1 POOL_ZERO_DOWN_LEVEL_SUPPORT=1)
  endfunction()

  function(xwsk_add_kernel_driver target)
    cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
    add_library(${target} MODULE ${ARG_SOURCES})
    xwsk_kernel_compile_options(${target})
    set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".sys")
    target_link_directories(${target} PRIVATE "${XWSK_WDK_LIB_DIR}")
    target_link_options(${target} PRIVATE /DRIVER /SUBSYSTEM:NATIVE /ENTRY:DriverEntry
                                          /NODEFAULTLIB /INTEGRITYCHECK /DEBUG)
    target_link_libraries(${target} PRIVATE ${ARG_LINK_LIBRARIES} ntoskrnl.lib netio.lib hal.lib
                                            BufferOverflowFastFailK.lib)
  endfunction()

  function(xwsk_add_wine_exe target)  # the loader: an ordinary console program on Windows
    cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
    add_executable(${target} ${ARG_SOURCES})
    set_target_properties(${target} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
    target_compile_definitions(${target} PRIVATE UNICODE _UNICODE)
    target_link_libraries(${target} PRIVATE ${ARG_LINK_LIBRARIES} advapi32)
  endfunction()
  return()
endif()

if(NOT XWSK_WINE_DRIVER_TOOLCHAIN)
  message(FATAL_ERROR "XwskKernelTargets.cmake needs -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-wine-driver.cmake "
                      "(or cmake/wdk-msvc.cmake)")
endif()

# Windows-GNU adds -lkernel32 -luser32 ... to every link; a driver must not
# import user-mode DLLs, so targets list their libraries explicitly.
set(CMAKE_C_STANDARD_LIBRARIES "")
set(CMAKE_CXX_STANDARD_LIBRARIES "")

set(_XWSK_KTARGETS_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(xwsk_kernel_compile_options target)
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD ${XWSK_KERNEL_CXX_STANDARD}
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
  # Include order matters with -nostdinc: libstdc++, then GCC's freestanding
  # headers (stddef.h with max_align_t, stdarg.h, stdint.h), then Wine's CRT
  # and Windows/DDK headers. -isystem keeps Wine's header warnings (including
  # the -fpermissive ULONG->enum one in ddk/wdm.h) out of our build logs.
  target_compile_options(${target} PRIVATE
    -ffreestanding
    -fno-exceptions
    -fno-rtti
    -fno-threadsafe-statics
    -fpermissive
    -fcheck-new
    -fno-stack-protector
    -nostdinc
    $<$<COMPILE_LANGUAGE:CXX>:-nostdinc++>
    $<$<COMPILE_LANGUAGE:CXX>:-isystem${XWSK_MINGW_CXX_INCLUDE}>
    $<$<COMPILE_LANGUAGE:CXX>:-isystem${XWSK_MINGW_CXX_INCLUDE}/${XWSK_MINGW_TRIPLET}>
    -isystem${XWSK_MINGW_GCC_INCLUDE}
    -isystem${XWSK_WINE_MSVCRT_INCLUDE}
    -isystem${XWSK_WINE_WINDOWS_INCLUDE}
    -Wall
    -Wextra
    -Werror
    -Wframe-larger-than=2048)
  target_compile_definitions(${target} PRIVATE XWSK_KERNEL=1 _AMD64_=1)
endfunction()

function(xwsk_add_kernel_driver target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  xwsk_kernel_compile_options(${target})
  set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".sys")
  target_link_options(${target} PRIVATE
    -nostdlib
    -shared
    -Wl,--subsystem,native
    -Wl,--entry,DriverEntry
    -Wl,--image-base,0x140000000
    "-L${XWSK_WINE_PE_LIB_DIR}")
  # Project libraries first, then the kernel imports they need, then libgcc.
  target_link_libraries(${target} PRIVATE ${ARG_LINK_LIBRARIES} ntoskrnl netio gcc)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -DNM=${CMAKE_NM} -DIMAGE=$<TARGET_FILE:${target}>
            -P "${_XWSK_KTARGETS_DIR}/XwskCheckNoCtors.cmake"
    VERBATIM)
endfunction()

function(xwsk_add_wine_exe target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  target_link_options(${target} PRIVATE -static -municode)
  target_link_libraries(${target} PRIVATE ${ARG_LINK_LIBRARIES} advapi32 kernel32)
endfunction()
