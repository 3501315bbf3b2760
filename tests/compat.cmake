# The exporter against an independent implementation of the upstream API (tests/compat/): a Python
# stdlib server written from the vendor's documentation, not from our simulator, so a mistake the
# exporter and the simulator share (e.g. in UserSig code) cannot hide. See tests/compat/compat_test.py.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME independent_api_compat
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/compat/compat_test.py
          $<TARGET_FILE:tencent_live_exporter>)
set_tests_properties(independent_api_compat PROPERTIES LABELS integration TIMEOUT 180)
