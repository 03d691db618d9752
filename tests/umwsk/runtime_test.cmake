# umwsk runtime test (helper R's fragment, included from tests/umwsk/CMakeLists.txt inside
# `if(TARGET xwsk_umwsk)`): the kernel runtime of libxwsk_umwsk against the WDM contract.
# One ctest entry, label umwsk.
add_executable(umwsk_runtime_test ${CMAKE_CURRENT_LIST_DIR}/runtime_test.cpp)
target_link_libraries(umwsk_runtime_test PRIVATE xwsk::umwsk GTest::gtest_main xwsk_warnings)
add_test(NAME umwsk.runtime COMMAND umwsk_runtime_test)
set_tests_properties(umwsk.runtime PROPERTIES LABELS "umwsk" TIMEOUT 120)

# Each verifier rule of the runtime broken on purpose (report mode), and the stop mode.
# ctest umwsk.runtime.verifier, labels umwsk and verifier.
add_executable(umwsk_runtime_verifier_test ${CMAKE_CURRENT_LIST_DIR}/runtime_verifier_test.cpp)
target_link_libraries(umwsk_runtime_verifier_test PRIVATE xwsk::umwsk GTest::gtest_main
                                                          xwsk_warnings)
add_test(NAME umwsk.runtime.verifier COMMAND umwsk_runtime_verifier_test)
set_tests_properties(umwsk.runtime.verifier PROPERTIES LABELS "umwsk;verifier" TIMEOUT 120)
add_test(NAME umwsk.runtime.verifier.env_report
         COMMAND umwsk_runtime_verifier_test --gtest_filter=RuntimeVerifierMode.*)
set_tests_properties(umwsk.runtime.verifier.env_report
                     PROPERTIES LABELS "umwsk;verifier" TIMEOUT 60
                                ENVIRONMENT "UMWSK_VERIFIER=report")
