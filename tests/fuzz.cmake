# Fuzzing (issue 3).
#
# With TLE_FUZZ=ON (preset `fuzz`, clang) every tests/fuzz/<name>_fuzz.cc becomes its own libFuzzer
# executable build/<preset>/fuzz/<name>_fuzz, all of them reachable through the target `fuzzers`.
# Seeds live in tests/fuzz/corpus/<name>/, an optional dictionary in tests/fuzz/<name>.dict.
#
# In every build, the ctest `fuzz_smoke` (label `fuzz`) runs tests/fuzz/run_fuzzers.sh, which builds
# preset `fuzz` itself and runs each fuzzer for 60 s under CI=true, else 10 s. Without clang or
# libFuzzer the script exits 77 and ctest reports the test as skipped.
if(TLE_FUZZ)
  file(GLOB TLE_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/*_fuzz.cc)
  add_custom_target(fuzzers)
  foreach(src ${TLE_FUZZ_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE tle_exporter tle_simulator)
    target_compile_options(${name} PRIVATE ${TLE_WARNINGS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    add_dependencies(fuzzers ${name})
  endforeach()
endif()

# Without an argument the script picks 60 s when CI=true and 10 s otherwise; it reads CI when the
# test runs, not when CMake configures.
add_test(NAME fuzz_smoke COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzers.sh
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(fuzz_smoke PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT 3600)
