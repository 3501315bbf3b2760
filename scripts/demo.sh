#!/usr/bin/env bash
# One command: install what is needed, build, and run the exporter on its embedded demo simulator.
# Then open http://localhost:9877/metrics (or pass --web.listen-address=...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh release
exec build/release/tencent_live_exporter --demo "$@"
