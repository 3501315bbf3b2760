# Benchmarks (issue 5): bench/run_all.sh --smoke runs every figure's script at tiny sizes against
# this build's binaries, so CI proves the scripts still work. It times nothing that is checked;
# it fails when a script breaks (a server does not start, a table cannot be made). Figure 2 is
# skipped when wrk or nginx is missing. The programs come from bench/CMakeLists.txt (part of `all`).
add_test(NAME bench_smoke COMMAND ${CMAKE_SOURCE_DIR}/bench/run_all.sh --smoke
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(bench_smoke PROPERTIES LABELS bench TIMEOUT 600
  ENVIRONMENT "TLE_BENCH_BUILD=${CMAKE_BINARY_DIR};TLE_BENCH_OUT=${CMAKE_BINARY_DIR}/bench-smoke.md")
