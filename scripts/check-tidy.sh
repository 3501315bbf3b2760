#!/usr/bin/env bash
# clang-tidy (the checks in .clang-tidy, every finding an error) on every .cc of exporter/ and
# simulator/, through a build tree's compile_commands.json (default build/release; configure it
# first: cmake --preset release). About 2.5 minutes on 2 cores: ctest `tidy` (label tidy, in the
# release pass of scripts/test.sh) runs it.
# Usage: scripts/check-tidy.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-tidy: $build/compile_commands.json not found (cmake --preset release first)" >&2
  exit 1
fi
for tool in clang-tidy run-clang-tidy; do
  command -v "$tool" >/dev/null || { echo "check-tidy: $tool not found (Debian package clang-tidy)" >&2; exit 1; }
done
# run-clang-tidy takes regular expressions over the compile database's file names.
run-clang-tidy -quiet -p "$build" -j "$(nproc)" "$(pwd)/(exporter|simulator)/.*\.cc$"
