#!/usr/bin/env bash
# The whole build of a release image's programs, outside Docker's control: the Dockerfile's build
# stage runs exactly this, and CI runs it too (ctest container_build), so the image recipe is tested
# on every change even where no Docker engine exists.
#
# Usage: scripts/container-build.sh [PREFIX]      (default PREFIX: /out)
#   Installs the build packages (scripts/packages.txt, via install-deps.sh), configures the release
#   preset without tests into $TLE_CONTAINER_BUILD_DIR (default: build/container), builds, and
#   installs stripped programs into PREFIX/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/out}
build_dir=${TLE_CONTAINER_BUILD_DIR:-build/container}
jobs=${TLE_BUILD_JOBS:-$(nproc)}

scripts/install-deps.sh build

extra=()
[ "${CI:-}" = true ] && extra+=(-DTLE_WERROR=ON)
cmake --preset release -B "$build_dir" -DTLE_TESTS=OFF "${extra[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
cmake --install "$build_dir" --prefix "$prefix" --strip

for program in tencent_live_exporter tencent_live_simulator; do
  [ -x "$prefix/bin/$program" ] || { echo "container-build: $prefix/bin/$program missing" >&2; exit 1; }
done
echo "container-build: installed into $prefix/bin"
