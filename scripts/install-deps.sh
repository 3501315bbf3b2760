#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, by name, from scripts/*packages.txt.
# Usage: scripts/install-deps.sh [build|test|bench|runtime]
#   build (default): packages.txt; test: packages.txt + test-packages.txt;
#   bench: packages.txt + bench-packages.txt (wrk, nginx for bench/run_all.sh);
#   runtime: runtime-packages.txt only (the Dockerfile's runtime stage).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-build}" in
  build) lists=("$here/packages.txt") ;;
  test) lists=("$here/packages.txt" "$here/test-packages.txt") ;;
  bench) lists=("$here/packages.txt" "$here/bench-packages.txt") ;;
  runtime) lists=("$here/runtime-packages.txt") ;;
  *) echo "usage: $0 [build|test|bench|runtime]" >&2; exit 2 ;;
esac
mapfile -t wanted < <(grep -hv '^\s*#' "${lists[@]}" | grep -v '^\s*$')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
