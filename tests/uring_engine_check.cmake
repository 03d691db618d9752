# SPDX-License-Identifier: MIT
# Checks which engine xwsk::posix_uring runs on (tests/CMakeLists.txt: posix_uring.engine and
# posix_uring.fallback). cmake -DBINARY=<xwsk-conformance-posix_uring> -DMODE=engine|fallback -P
#   engine:   one case without XWSK_URING: backend_name() must be posix-uring, unless the host
#             cannot use io_uring (the library's stderr line says why): then a skip with that line.
#   fallback: the whole suite with XWSK_URING=0: the library says so on stderr, every case
#             reports posix-epoll, none reports posix-uring, and the run passes (0 failed).
#   denied:   one case with io_uring_setup failing with EPERM (strace -e inject, -DSTRACE=...):
#             the stderr line gives the reason and the case passes on posix-epoll.
#   small_ring: the whole suite on a receive ring of 8 buffers (XWSK_URING_RX_BUFS=8), so that
#             receives run dry (ENOBUFS) and pause at a socket's cap: every case passes
#             (events_retained_elsewhere exhausts the ring on purpose). A skip where the
#             kernel has no stream paths (the library's stderr line says so).
#   readiness_streams: the whole suite with XWSK_URING_STREAMS=0, as on a kernel without
#             provided buffer rings or multishot receive: the library says streams take the
#             readiness path on the ring's polls, and every case passes.
#   streams:  stream echo cases under strace: on posix-uring the stream data moves through the
#             ring (no recv/send family system call at all); the same cases on the epoll
#             fallback make such calls (so the count is a real measure).
#   datagrams: datagram cases (send_to, receive_from requests, the receive_from event,
#             retained) under strace: on posix-uring no recv/send family call (multishot recvmsg
#             into the datagram ring, sendmsg on the ring); the epoll fallback makes them.
# Checks a whole-suite run's closing line ("N passed, 0 failed, M skipped") and exit code; a
# fatal error naming @what otherwise. Sets `closing` in the caller.
function(require_suite_passed out err rc what)
  string(REGEX MATCH "\n([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped" line "${out}")
  if(NOT rc EQUAL 0 OR NOT line OR NOT CMAKE_MATCH_2 EQUAL 0)
    message(FATAL_ERROR "the suite failed on ${what} (exit ${rc}):\n${out}\n${err}")
  endif()
  string(STRIP "${line}" line)
  set(closing "${line}" PARENT_SCOPE)
endfunction()

# Runs BINARY with the remaining arguments under strace (the strace options in the list variable
# named by @strace_args, the environment settings in the one named by @env_args); the script ends
# with a skip when strace is missing or cannot run here. Sets out, err and rc.
macro(run_traced mode strace_args env_args)
  if(NOT STRACE)
    message("XWSK-SKIP posix-uring ${mode}: strace not found (scripts/bootstrap.sh full)")
    return()
  endif()
  execute_process(COMMAND ${STRACE} -f -qq ${${strace_args}} ${CMAKE_COMMAND} -E env ${${env_args}}
                          # LeakSanitizer cannot run under ptrace (the asan preset); the other
                          # tests check for leaks.
                          "ASAN_OPTIONS=$ENV{ASAN_OPTIONS}:detect_leaks=0" ${BINARY} ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  string(REGEX MATCH "(^|\n)strace: [^\n]*" strace_why "${err}")
  if(NOT rc EQUAL 0 AND strace_why)
    string(STRIP "${strace_why}" strace_why)
    message("XWSK-SKIP posix-uring ${mode}: strace cannot run here: ${strace_why}")
    return()
  endif()
endmacro()

# Runs BINARY on io_uring (XWSK_URING unset) with the environment settings in the list
# variable named by @env_args and the remaining arguments; the script ends with a skip when the
# library says this host cannot use io_uring. Sets out, err and rc.
macro(run_on_uring mode env_args)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=XWSK_URING ${${env_args}} ${BINARY}
                          ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  string(REGEX MATCH "xwsk: io_uring not used[^\n]*" uring_why "${err}")
  if(uring_why)
    message("XWSK-SKIP posix-uring ${mode}: ${uring_why}")
    return()
  endif()
endmacro()

if(MODE STREQUAL "engine")
  set(no_settings "")
  run_on_uring(engine no_settings --gtest_filter=conformance.tcp_echo_v4)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the case failed (exit ${rc}):\n${out}\n${err}")
  endif()
  if(NOT out MATCHES "XWSK-TRACE posix-uring ")
    message(FATAL_ERROR "backend_name() is not posix-uring:\n${out}")
  endif()
  message("posix-uring: the io_uring engine runs")
elseif(MODE STREQUAL "fallback")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env XWSK_URING=0 ${BINARY} --gtest_brief=1
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT err MATCHES "xwsk: io_uring not used \\(XWSK_URING=0[^\n]*posix-epoll")
    message(FATAL_ERROR "no fallback line on stderr:\n${err}")
  endif()
  if(out MATCHES "XWSK-TRACE posix-uring ")
    message(FATAL_ERROR "a case ran on posix-uring despite XWSK_URING=0")
  endif()
  if(NOT out MATCHES "XWSK-TRACE posix-epoll ")
    message(FATAL_ERROR "no case reported posix-epoll:\n${out}")
  endif()
  require_suite_passed("${out}" "${err}" "${rc}" "the fallback")
  message("posix-uring fallback: backend_name() posix-epoll, ${closing}")
elseif(MODE STREQUAL "denied")
  # io_uring_setup fails with EPERM (as under kernel.io_uring_disabled=2 or a seccomp filter;
  # strace injects the error): the library must say why and run one case on epoll.
  set(strace_args --seccomp-bpf -o /dev/null -e trace=io_uring_setup
                  -e inject=io_uring_setup:error=EPERM)
  set(env_args --unset=XWSK_URING)
  run_traced(denied strace_args env_args --gtest_filter=conformance.tcp_echo_v4)
  if(NOT err MATCHES "xwsk: io_uring not used \\(io_uring_queue_init: Operation not permitted[^\n]*posix-epoll")
    message(FATAL_ERROR "no fallback line naming EPERM on stderr (exit ${rc}):\n${err}")
  endif()
  if(NOT rc EQUAL 0 OR NOT out MATCHES "XWSK-TRACE posix-epoll tcp_echo_v4")
    message(FATAL_ERROR "the case did not pass on posix-epoll (exit ${rc}):\n${out}\n${err}")
  endif()
  message("posix-uring denied: io_uring_setup EPERM -> posix-epoll, the case passes")
elseif(MODE STREQUAL "small_ring" OR MODE STREQUAL "readiness_streams")
  if(MODE STREQUAL "small_ring")
    set(setting XWSK_URING_RX_BUFS=8)
    set(what "a ring of 8 receive buffers")
  else()
    set(setting XWSK_URING_STREAMS=0)
    set(what "readiness streams (XWSK_URING_STREAMS=0)")
  endif()
  run_on_uring(${MODE} setting --gtest_brief=1)
  string(REGEX MATCH "xwsk: io_uring streams on the readiness path[^\n]*" streams "${err}")
  if(MODE STREQUAL "small_ring" AND streams)
    message("XWSK-SKIP posix-uring small_ring: ${streams}")
    return()
  endif()
  if(MODE STREQUAL "readiness_streams" AND NOT streams MATCHES "XWSK_URING_STREAMS=0")
    message(FATAL_ERROR "XWSK_URING_STREAMS=0 did not put streams on the readiness path:\n${err}")
  endif()
  if(err MATCHES "XWSK_URING_RX_BUFS=[^\n]* ignored")
    message(FATAL_ERROR "the library ignored ${setting}:\n${err}")
  endif()
  require_suite_passed("${out}" "${err}" "${rc}" "${what}")
  if(NOT out MATCHES "XWSK-TRACE posix-uring ")
    message(FATAL_ERROR "no case ran on posix-uring with ${setting}:\n${out}")
  endif()
  message("posix-uring on ${what}: ${closing}")
elseif(MODE STREQUAL "streams" OR MODE STREQUAL "datagrams")
  if(MODE STREQUAL "streams")
    set(cases "conformance.tcp_echo_v4:conformance.events_echo_from_indication:conformance.tcp_chained_buffers")
    set(syscalls recvfrom,recvmsg,readv,sendto,sendmsg,writev)
    set(what "recv/send system calls for stream data")
  else()
    # Datagram sends (send_to, chained segments) and receives (requests and the receive_from
    # event, retained or not). send_messages with datagrams of different sizes still uses
    # sendmmsg (not counted here: udp_send_messages_sized checks its results).
    set(cases "conformance.udp_echo_v4:conformance.udp_echo_v6:conformance.udp_chained_buffers:conformance.events_receive_from_v4:conformance.events_receive_from_retained")
    set(syscalls recvfrom,recvmsg,recvmmsg,sendto,sendmsg,sendmmsg)
    set(what "recv/send system calls for datagrams")
  endif()
  string(REPLACE ":" ";" case_list "${cases}")
  list(LENGTH case_list n_cases)
  string(REPLACE "," "|" syscall_regex "${syscalls}")
  foreach(engine uring epoll)
    if(engine STREQUAL "uring")
      set(env --unset=XWSK_URING)
    else()
      set(env XWSK_URING=0)
    endif()
    set(trace "${CMAKE_CURRENT_BINARY_DIR}/uring_${MODE}_${engine}.strace")
    set(strace_args -o ${trace} -e trace=${syscalls})
    run_traced(${MODE} strace_args env --gtest_filter=${cases})
    string(REGEX MATCH "xwsk: io_uring (not used|streams on the readiness path)[^\n]*" why
           "${err}")
    if(engine STREQUAL "uring" AND why)
      message("XWSK-SKIP posix-uring ${MODE}: ${why}")
      return()
    endif()
    if(NOT rc EQUAL 0 OR NOT out MATCHES "${n_cases} passed, 0 failed")
      message(FATAL_ERROR "the cases failed on ${engine} (exit ${rc}):\n${out}\n${err}")
    endif()
    file(STRINGS ${trace} calls REGEX "(${syscall_regex})\\(")
    list(LENGTH calls n_${engine})
  endforeach()
  if(NOT n_uring EQUAL 0)
    message(FATAL_ERROR "posix-uring made ${n_uring} ${what}")
  endif()
  if(n_epoll EQUAL 0)
    message(FATAL_ERROR "the epoll fallback made no such call: the count measures nothing")
  endif()
  message("posix-uring ${MODE}: 0 ${what} (the epoll engine: ${n_epoll})")
else()
  message(FATAL_ERROR "MODE must be engine, fallback, denied, small_ring, readiness_streams, streams or datagrams")
endif()
