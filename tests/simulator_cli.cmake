# The tencent_live_simulator program itself: flags, "listening on", control endpoints, signals.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME simulator_cli
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/simulator_cli_test.py
            $<TARGET_FILE:tencent_live_simulator>)
  set_tests_properties(simulator_cli PROPERTIES LABELS integration TIMEOUT 120)
endif()
