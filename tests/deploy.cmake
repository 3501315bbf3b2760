# Deployment checks (label `deploy`): deploy/**/*.yaml, the Dockerfile's build script, the image's
# runtime package list. See tests/deploy/check_deploy.py.
find_program(TLE_PYTHON3 python3 REQUIRED)
set(_tle_check_deploy ${CMAKE_CURRENT_SOURCE_DIR}/deploy/check_deploy.py)

add_test(NAME deploy_yaml COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} yaml)
add_test(NAME deploy_promtool COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} promtool)
add_test(NAME prometheusrule_matches COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} prometheusrule)
# What the Dockerfile's build stage runs, into its own build tree and a scratch prefix; then the
# installed exporter must start (--demo) and answer /-/healthy. A full release build: slow.
add_test(NAME container_build COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} container-build
  ${CMAKE_BINARY_DIR}/container-prefix ${CMAKE_BINARY_DIR}/container)
set_tests_properties(deploy_yaml deploy_promtool prometheusrule_matches PROPERTIES
  LABELS deploy TIMEOUT 300)
set_tests_properties(container_build PROPERTIES LABELS deploy TIMEOUT 3600 RUN_SERIAL TRUE)

# Debian's docker-compose (1.29) on the demo stack, and its healthchecks against the built programs.
add_test(NAME deploy_compose COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} compose
  $<TARGET_FILE:tencent_live_exporter> $<TARGET_FILE:tencent_live_simulator>)
set_tests_properties(deploy_compose PROPERTIES LABELS deploy TIMEOUT 180)

# The systemd unit's install steps, followed in a scratch root; the config is then read as the
# service user (setpriv). Needs root: skipped (exit 77) otherwise.
add_test(NAME deploy_systemd_install COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} systemd-install
  $<TARGET_FILE:tencent_live_exporter>)
set_tests_properties(deploy_systemd_install PROPERTIES LABELS deploy TIMEOUT 120
  SKIP_RETURN_CODE 77)

# Every shared library of the programs must come from scripts/runtime-packages.txt, the list the
# image's runtime stage installs. Sanitizer builds link extra runtimes, so they skip this.
if(NOT TLE_SANITIZE)
  add_test(NAME runtime_libs COMMAND ${TLE_PYTHON3} ${_tle_check_deploy} runtime-libs
    $<TARGET_FILE:tencent_live_exporter> $<TARGET_FILE:tencent_live_simulator>)
  set_tests_properties(runtime_libs PROPERTIES LABELS deploy TIMEOUT 300)
endif()
