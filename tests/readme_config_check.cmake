# The README's --config.check example, run as written against the shipped config (issue 14).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME readme_config_check
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/readme_config_check.py
          ${CMAKE_SOURCE_DIR} $<TARGET_FILE:tencent_live_exporter>)
set_tests_properties(readme_config_check PROPERTIES LABELS unit TIMEOUT 120)
