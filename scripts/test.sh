#!/usr/bin/env bash
# One command: install what is needed, build, and run every test through ctest.
# A release build runs the whole suite (unit, integration, end-to-end, rules, dashboards, fuzzing),
# then an ASan+UBSan build runs it again (without the e2e, fuzz, deploy, bench and attack tests,
# whose timings and memory bounds measure the sanitizer there). TLE_SKIP_ASAN=1 skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/check-format.sh
scripts/build.sh release
(cd build/release && ctest --output-on-failure --timeout 600)
if [ "${TLE_SKIP_ASAN:-0}" != 1 ]; then
  scripts/build.sh asan
  (cd build/asan && ctest --output-on-failure --timeout 900 -LE 'e2e|fuzz|deploy|bench|attack')
fi
