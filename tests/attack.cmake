# The web server under attack (tests/attack/web_attack_test.py): each attack of issue 10 against
# the real exporter on loopback port 0, with a real scrape during every one of them. About two
# minutes; run alone (timings).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME web_attack
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/attack/web_attack_test.py
          $<TARGET_FILE:tencent_live_exporter>)
set_tests_properties(web_attack PROPERTIES LABELS attack TIMEOUT 300 RUN_SERIAL TRUE)
