# The tencent_live_exporter program itself: config warnings at start and on reload, clean stop.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME exporter_cli
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/exporter_cli_test.py
          $<TARGET_FILE:tencent_live_exporter>)
set_tests_properties(exporter_cli PROPERTIES LABELS integration TIMEOUT 120)
