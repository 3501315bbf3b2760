# The landing page in a real browser (tests/landing_browser_test.py): headless
# Chromium (Debian package chromium) loads "/" from the real exporter binary and
# the test reads the DOM it renders. A missing chromium fails the test.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
find_program(TLE_CHROMIUM NAMES chromium chromium-browser)
if(NOT TLE_CHROMIUM)
  set(TLE_CHROMIUM /usr/bin/chromium)  # the test then fails, naming the package
endif()
add_test(NAME landing_browser_integration
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/landing_browser_test.py
          $<TARGET_FILE:tencent_live_exporter> ${TLE_CHROMIUM})
set_tests_properties(landing_browser_integration PROPERTIES LABELS integration TIMEOUT 300)
