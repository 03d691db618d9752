# SPDX-License-Identifier: MIT
# cmake -DNM=<mingw nm> -DIMAGE=<file.sys> -P XwskCheckNoCtors.cmake
#
# Fails if a kernel image has static constructors: DriverEntry is the raw
# entry point, so nothing would ever run them (backends/wsk/kernel_rt.cpp).
# mingw's linker merges .ctors into .text between __CTOR_LIST__ and
# __DTOR_LIST__ (two sentinel words when empty); GCC names each dynamic
# initializer function _GLOBAL__sub_I_<first global>.
execute_process(COMMAND "${NM}" "${IMAGE}" OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${IMAGE} failed")
endif()
string(REGEX MATCHALL "_GLOBAL__sub_I_[A-Za-z0-9_]+" _inits "${_out}")
set(_ctor_bytes 0)
if(_out MATCHES "([0-9a-fA-F]+) [A-Za-z] __CTOR_LIST__\n")
  set(_ctor "${CMAKE_MATCH_1}")
  if(_out MATCHES "([0-9a-fA-F]+) [A-Za-z] __DTOR_LIST__\n")
    math(EXPR _ctor_bytes "0x${CMAKE_MATCH_1} - 0x${_ctor} - 16")
  endif()
endif()
if(_inits OR _ctor_bytes GREATER 0)
  list(REMOVE_DUPLICATES _inits)
  message(FATAL_ERROR "${IMAGE} has static constructors (${_inits}; ${_ctor_bytes} bytes of "
                      "constructor list): a global or static has a dynamic initializer, which "
                      "never runs in a driver. Make it constinit/constexpr/POD.")
endif()
