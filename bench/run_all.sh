#!/usr/bin/env bash
# Runs every benchmark figure (issue 5) and writes their tables to one markdown file.
#
#   bench/run_all.sh            full run (~15 min on 2 cores): installs wrk and nginx-light
#                               (scripts/install-deps.sh bench), builds the release preset,
#                               writes bench/results.md
#   bench/run_all.sh --smoke    tiny sizes, seconds; uses the binaries in $TLE_BENCH_BUILD
#                               (default build/release) without building or installing, and
#                               skips figure 2 when wrk or nginx is missing. ctest bench_smoke.
# Environment: TLE_BENCH_BUILD=dir (the build to measure), TLE_BENCH_OUT=file (the results).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
export TLE_BENCH_SMOKE=$smoke
export TLE_BENCH_BUILD=${TLE_BENCH_BUILD:-$root/build/release}

if [ "$smoke" = 0 ]; then
  "$root/scripts/install-deps.sh" bench
  (cd "$root" && cmake --preset release >/dev/null)
  cmake --build "$TLE_BENCH_BUILD" -j "$(nproc)" \
    --target tencent_live_exporter tencent_live_simulator bench_render bench_walk_on_demand bench_top_rooms
  out=${TLE_BENCH_OUT:-$here/results.md}
else
  out=${TLE_BENCH_OUT:-$(mktemp -t tle-bench-smoke.XXXXXX.md)}
fi
for bin in tencent_live_exporter tencent_live_simulator bench/bench_render bench/bench_walk_on_demand bench/bench_top_rooms; do
  [ -x "$TLE_BENCH_BUILD/$bin" ] || { echo "run_all: $TLE_BENCH_BUILD/$bin is missing (build it first)" >&2; exit 1; }
done

figures=(walk_efficiency serving memory render walk_on_demand top_rooms basic_auth)
{
  echo "## Benchmark results$([ "$smoke" = 1 ] && echo " (smoke: tiny sizes, not figures)")"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), revision $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory, $(uname -sr)"
  echo "- load at start: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
  echo
} >"$out"
for fig in "${figures[@]}"; do
  if [ "$fig" = serving ] && { ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; }; then
    if [ "$smoke" = 1 ]; then
      printf '### Figure 2: skipped (wrk or nginx not installed: scripts/install-deps.sh bench)\n\n' >>"$out"
      continue
    fi
  fi
  echo "run_all: $fig" >&2
  python3 "$here/$fig.py" >>"$out"
  echo >>"$out"
done
echo "- load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
cat "$out"
echo "run_all: results in $out" >&2
