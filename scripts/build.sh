#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release). Used by the README, CI and the Dockerfile.
# Usage: scripts/build.sh [preset] [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
extra=()
[ "${CI:-}" = true ] && extra+=(-DTLE_WERROR=ON)
cmake --preset "$preset" "${extra[@]}" "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
