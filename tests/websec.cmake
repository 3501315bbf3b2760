# Secure and operable serving with the real binaries (tests/websec_e2e.py):
# SIGTERM mid-walk, upstream HTTPS with a private CA, secrets kept out of logs
# and metrics, reload, TLS + basic auth from --web.config.file.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME websec_e2e_integration
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/websec_e2e.py
          $<TARGET_FILE:tencent_live_exporter> $<TARGET_FILE:tencent_live_simulator>)
set_tests_properties(websec_e2e_integration PROPERTIES LABELS integration TIMEOUT 300)
