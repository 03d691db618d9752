# The packaging tests (label package), included by tests/CMakeLists.txt:
#   package.install  the installed tree (shared-library exports and SONAMEs) and a downstream
#                    program built through find_package(xwsk) and through pkg-config, against
#                    the static and the shared libraries (tests/package/check.cmake);
#   package.deb      the Debian packages (CPack) hold what they should (tests/package/deb.cmake);
#   package.docs     the API reference builds with Doxygen's warnings as errors (target
#                    xwsk_docs); skipped, with the reason, when doxygen is missing.
add_test(NAME package.install
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-check
                 -DCXX=${CMAKE_CXX_COMPILER} -DNM=${CMAKE_NM} -DREADELF=${CMAKE_READELF}
                 -DLIBDIR=${CMAKE_INSTALL_LIBDIR} -DSOVERSION=${XWSK_SOVERSION}
                 -DSHARED=${XWSK_BUILD_SHARED}
                 -P ${CMAKE_CURRENT_LIST_DIR}/check.cmake)
# RUN_SERIAL: it builds (two jobs) and must not race another test over the build tree.
set_tests_properties(package.install PROPERTIES LABELS "package" TIMEOUT 300 RUN_SERIAL ON)

if(TARGET xwsk_docs)
  add_test(NAME package.docs
           COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target xwsk_docs)
  set_tests_properties(package.docs PROPERTIES LABELS "package;docs" TIMEOUT 120)
else()
  add_test(NAME package.docs
           COMMAND sh -c "echo 'XWSK-SKIP package.docs: ${XWSK_DOCS_SKIP_REASON}'; exit 77")
  set_tests_properties(package.docs PROPERTIES LABELS "package;docs" SKIP_RETURN_CODE 77)
endif()

# package.deb: the Debian packages (CPack) and their contents (tests/package/deb.cmake).
add_test(NAME package.deb
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-deb
                 -DSOVERSION=${XWSK_SOVERSION} -DSHARED=${XWSK_BUILD_SHARED}
                 -P ${CMAKE_CURRENT_LIST_DIR}/deb.cmake)
set_tests_properties(package.deb PROPERTIES LABELS "package" TIMEOUT 300 RUN_SERIAL ON
                                            SKIP_REGULAR_EXPRESSION "XWSK-SKIP package.deb")
