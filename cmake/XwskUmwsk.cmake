# SPDX-License-Identifier: MIT
# xwsk_add_umwsk_driver(<name> SOURCES <files...> [LINK_LIBRARIES <libs...>])
#
# Builds a WSK driver's unchanged sources as a Linux module (<name>.so) for xwsk-driver-host:
# compiled against umwsk's WDK headers with the kernel's C++ rules (no exceptions, no RTTI) and
# linked to libxwsk_umwsk.so (the kernel runtime and the WSK provider). DriverEntry must have C
# linkage, as it has in a Windows driver (`extern "C" DRIVER_INITIALIZE DriverEntry;`).
#
# WPP software tracing works unchanged: for every source `x.cpp` the build makes an `x.tmh`
# that includes umwsk_wpp.h, so `#include "x.tmh"`, WPP_INIT_TRACING, DoTraceMessage and
# TraceEvents compile, and trace calls print log lines. GCC also gets -Wno-multichar: pool tags
# written 'abcd' are multi-character constants, which GCC warns about.
function(xwsk_add_umwsk_driver name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "")
  target_compile_options(${name} PRIVATE -fno-exceptions -fno-rtti
                                         $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-Wno-multichar>
                                         $<$<COMPILE_LANG_AND_ID:C,GNU>:-Wno-multichar>)
  set(tmh_dir ${CMAKE_CURRENT_BINARY_DIR}/${name}_tmh)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(stem ${src} NAME_WE)
    file(CONFIGURE OUTPUT ${tmh_dir}/${stem}.tmh CONTENT "#include <umwsk_wpp.h>\n")
  endforeach()
  target_include_directories(${name} PRIVATE ${tmh_dir})
  if(TARGET xwsk::umwsk)
    target_link_libraries(${name} PRIVATE xwsk::umwsk ${ARG_LINK_LIBRARIES})
  else()
    target_link_libraries(${name} PRIVATE xwsk_umwsk ${ARG_LINK_LIBRARIES})
  endif()
endfunction()
