# The real exporter against a hostile upstream (issue 10): each upstream misbehaviour is played by
# a raw-socket server in tests/hostile_upstream_test.py; HTTPS_PROXY/NO_PROXY through a CONNECT
# proxy to the simulator over HTTPS. Needs the openssl command (a test package) for certificates.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME hostile_upstream_integration
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/hostile_upstream_test.py
          $<TARGET_FILE:tencent_live_exporter> $<TARGET_FILE:tencent_live_simulator>)
set_tests_properties(hostile_upstream_integration PROPERTIES LABELS integration TIMEOUT 300)
if(TLE_SANITIZE)
  set_tests_properties(hostile_upstream_integration PROPERTIES ENVIRONMENT TLE_SANITIZED=1)
endif()
