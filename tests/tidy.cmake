# clang-tidy over exporter/ and simulator/ (scripts/check-tidy.sh, the checks in .clang-tidy) through
# this build's compile_commands.json: about 2.5 minutes on 2 cores, in the release pass of
# scripts/test.sh only (the sanitizer passes leave out the label tidy).
add_test(NAME tidy COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-tidy.sh ${CMAKE_BINARY_DIR})
set_tests_properties(tidy PROPERTIES LABELS tidy TIMEOUT 1800)
