# SPDX-License-Identifier: MIT
# Small helpers the samples' and tests' CMakeLists.txt share:
#
#   xwsk_backend_exe_name(<var> <program> <backend>)
#       The name of <program>'s binary for one backend library: posix_epoll -> <program>-posix,
#       any other <backend> -> <program>-<backend with - for _> (xwsk-echo-posix-poll, ...).
#
#   xwsk_python_interpreter(<var>)
#       The Python interpreter itself (its sys.executable), not a wrapper such as a pyenv shim,
#       which costs about 1 s per start; ${Python3_EXECUTABLE} where that cannot be found.
#       Call after find_package(Python3 COMPONENTS Interpreter).
include_guard(GLOBAL)

function(xwsk_backend_exe_name var program backend)
  if(backend STREQUAL "posix_epoll")
    set(${var} ${program}-posix PARENT_SCOPE)
  else()
    string(REPLACE "_" "-" suffix ${backend})
    set(${var} ${program}-${suffix} PARENT_SCOPE)
  endif()
endfunction()

function(xwsk_python_interpreter var)
  execute_process(COMMAND ${Python3_EXECUTABLE} -c "import sys; print(sys.executable)"
                  OUTPUT_VARIABLE python OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT EXISTS "${python}")
    set(python ${Python3_EXECUTABLE})
  endif()
  set(${var} ${python} PARENT_SCOPE)
endfunction()
