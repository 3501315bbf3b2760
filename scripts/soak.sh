#!/usr/bin/env bash
# Soak: the release exporter against the simulator with every fault switched on at random.
# usage: scripts/soak.sh [DURATION_SECONDS] [extra scripts/soak.py flags]   (default 600 s)
# Prints walks, failures by reason, crashes (must be 0) and RSS after warm-up and at the end
# (must stay flat); exits 1 otherwise. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-${DURATION:-600}}"
[ $# -gt 0 ] && shift
if [ ! -x build/release/tencent_live_exporter ] || [ ! -x build/release/tencent_live_simulator ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j2 --target tencent_live_exporter tencent_live_simulator
fi
exec python3 scripts/soak.py --duration "$duration" "$@"
