# SPDX-License-Identifier: MIT
# xwsk_add_umwsk_driver(<name> SOURCES <files...> [LINK_LIBRARIES <libs...>])
#
# Builds a WSK driver's unchanged sources as a Linux module (<name>.so) for xwsk-driver-host:
# compiled against umwsk's WDK headers with the kernel's C++ rules (no exceptions, no RTTI) and
# linked to libxwsk_umwsk.so (the kernel runtime and the WSK provider). DriverEntry must have C
# linkage, as it has in a Windows driver (`extern "C" DRIVER_INITIALIZE DriverEntry;`).
function(xwsk_add_umwsk_driver name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "")
  target_compile_options(${name} PRIVATE -fno-exceptions -fno-rtti)
  if(TARGET xwsk::umwsk)
    target_link_libraries(${name} PRIVATE xwsk::umwsk ${ARG_LINK_LIBRARIES})
  else()
    target_link_libraries(${name} PRIVATE xwsk_umwsk ${ARG_LINK_LIBRARIES})
  endif()
endfunction()
