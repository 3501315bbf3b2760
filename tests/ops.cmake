# Operations tests (issue 4): Prometheus rules, Alertmanager config, Grafana dashboards, and the
# end-to-end run of simulator -> exporter -> Prometheus -> Alertmanager -> webhook.
# They use promtool, prometheus, prometheus-alertmanager and amtool from PATH (scripts/test-packages.txt).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(TLE_OPS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/ops)

add_test(NAME rules_check
  COMMAND ${Python3_EXECUTABLE} ${TLE_OPS_DIR}/check_rules.py rules ${CMAKE_SOURCE_DIR})
add_test(NAME alertmanager_check
  COMMAND ${Python3_EXECUTABLE} ${TLE_OPS_DIR}/check_rules.py alertmanager ${CMAKE_SOURCE_DIR})
add_test(NAME dashboards_check
  COMMAND ${Python3_EXECUTABLE} ${TLE_OPS_DIR}/check_dashboards.py --self-test ${CMAKE_SOURCE_DIR})
# The inhibitions, on a real Alertmanager fed with alerts labelled as the promtool tests expect.
add_test(NAME alertmanager_inhibition
  COMMAND ${Python3_EXECUTABLE} ${TLE_OPS_DIR}/inhibition_test.py --source-dir ${CMAKE_SOURCE_DIR})
set_tests_properties(rules_check alertmanager_check alertmanager_inhibition PROPERTIES
  LABELS rules TIMEOUT 120)
set_tests_properties(dashboards_check PROPERTIES LABELS dashboards TIMEOUT 120)

add_test(NAME e2e
  COMMAND ${Python3_EXECUTABLE} ${TLE_OPS_DIR}/e2e_test.py
    --exporter $<TARGET_FILE:tencent_live_exporter>
    --simulator $<TARGET_FILE:tencent_live_simulator>
    --source-dir ${CMAKE_SOURCE_DIR})
# Every wait inside is bounded; their sum stays under this timeout.
set_tests_properties(e2e PROPERTIES LABELS e2e TIMEOUT 600)
