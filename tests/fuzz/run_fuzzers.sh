#!/usr/bin/env bash
# Builds preset `fuzz` (clang, libFuzzer, ASan, UBSan) and runs every fuzzer for SECONDS each.
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS]   (default: 60 when CI=true, else 10)
#
# Each fuzzer <name>_fuzz starts from a copy of tests/fuzz/corpus/<name>/ in
# tests/fuzz/corpus-work/<name>/ (gitignored; new inputs accumulate there between runs) and uses
# tests/fuzz/<name>.dict when it exists. A crash, leak, timeout or out-of-memory is kept in
# tests/fuzz/corpus-work/<name>-findings/ and makes the script exit 1.
# Exit 1 when clang++ or libFuzzer is not available (scripts/install-deps.sh test provides them).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -ge 1 ]; then
  seconds=$1
elif [ "${CI:-}" = true ]; then
  seconds=60
else
  seconds=10
fi
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run_fuzzers: clang++ not found (Debian package clang)" >&2
  exit 1
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
  >"$probe/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" >/dev/null 2>&1; then
  echo "run_fuzzers: clang++ cannot link libFuzzer (Debian package libclang-rt-14-dev)" >&2
  exit 1
fi

extra=()
[ "${CI:-}" = true ] && extra+=(-DTLE_WERROR=ON)
cmake --preset fuzz "${extra[@]}" >/dev/null
cmake --build --preset fuzz --target fuzzers -j "${TLE_FUZZ_JOBS:-$(nproc)}"

shopt -s nullglob
sources=(tests/fuzz/*_fuzz.cc)
if [ ${#sources[@]} -eq 0 ]; then
  echo "run_fuzzers: no tests/fuzz/*_fuzz.cc" >&2
  exit 1
fi

status=0
for src in "${sources[@]}"; do
  name=$(basename "$src" _fuzz.cc)
  bin=build/fuzz/fuzz/${name}_fuzz
  if [ ! -x "$bin" ]; then
    echo "run_fuzzers: $bin was not built" >&2
    status=1
    continue
  fi
  work=tests/fuzz/corpus-work/$name
  findings=tests/fuzz/corpus-work/$name-findings
  mkdir -p "$work" "$findings"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1
        -artifact_prefix="$findings/")
  [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
  echo "== $name: ${seconds}s, corpus $work"
  if ! "$bin" "${args[@]}" "$work" 2>"$findings/last-run.log"; then
    echo "run_fuzzers: $name found a problem; inputs in $findings/" >&2
    tail -n 60 "$findings/last-run.log" >&2
    status=1
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done)' "$findings/last-run.log" || true
  fi
done
exit "$status"
