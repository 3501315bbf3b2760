#!/usr/bin/env bash
# Load test (not CI): wrk on /metrics with 64 connections for 60 s while the
# exporter serves a 10,000-room app walked from a local simulator.
# Reports requests/s, latency, errors (socket errors + non-2xx; must be 0) and
# the exporter's RSS before and after. Loopback only; stops what it starts.
#
# usage: scripts/load_test.sh [BUILD_DIR]   (default build/release)
#   env: ROOMS=10000 CONNECTIONS=64 DURATION=60s THREADS=2 TIMEOUT=10s
set -euo pipefail

BUILD=${1:-build/release}
ROOMS=${ROOMS:-10000}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-60s}
THREADS=${THREADS:-2}
TIMEOUT=${TIMEOUT:-10s}  # per request, like Prometheus' default scrape_timeout
EXPORTER=$BUILD/tencent_live_exporter
SIMULATOR=$BUILD/tencent_live_simulator
command -v wrk >/dev/null || { echo "load_test: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x $EXPORTER && -x $SIMULATOR ]] || { echo "load_test: build $EXPORTER and $SIMULATOR first" >&2; exit 2; }

TMP=$(mktemp -d)
SIM_PID=""; EXP_PID=""
cleanup() {
  [[ -n $EXP_PID ]] && kill "$EXP_PID" 2>/dev/null && wait "$EXP_PID" 2>/dev/null || true
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_for() {  # FILE REGEX
  for _ in $(seq 1 200); do
    if grep -Eo "$2" "$1" >/dev/null 2>&1; then grep -Eo "$2" "$1" | head -1; return 0; fi
    sleep 0.1
  done
  echo "load_test: timed out waiting for /$2/ in $1" >&2; cat "$1" >&2; return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# The simulator without its rate limit, so the 10,000 rooms are walked in seconds.
"$SIMULATOR" --rooms="$ROOMS" --max-qps=0 --port=0 --secret-key=load-test-key >"$TMP/sim.log" 2>&1 &
SIM_PID=$!
SIM_URL=$(wait_for "$TMP/sim.log" 'http://127\.0\.0\.1:[0-9]+')
printf 'load-test-key\n' >"$TMP/key"
cat >"$TMP/config.yml" <<YAML
defaults:
  interval: 30s
  max_qps: 1000
  allow_qps_above_limit: true
  max_room_series: 0
apps:
  - sdkappid: 1400000000
    endpoint: $SIM_URL
    identifier: administrator
    secret_key_file: $TMP/key
YAML
"$EXPORTER" --config.file="$TMP/config.yml" --web.listen-address=127.0.0.1:0 \
  --web.max-requests="$CONNECTIONS" >"$TMP/exp.log" 2>&1 &
EXP_PID=$!
ADDR=$(wait_for "$TMP/exp.log" 'address=127\.0\.0\.1:[0-9]+' | cut -d= -f2)
URL="http://$ADDR/metrics"
for _ in $(seq 1 600); do
  if curl -sf "$URL" | grep -q "^tencent_live_rooms{sdkappid=\"1400000000\"} $ROOMS\$"; then break; fi
  sleep 0.2
done
curl -sf "$URL" | grep -q "^tencent_live_rooms{sdkappid=\"1400000000\"} $ROOMS\$" ||
  { echo "load_test: the walk of $ROOMS rooms did not complete" >&2; exit 1; }
BYTES=$(curl -sf "$URL" | wc -c)
RSS_BEFORE=$(rss_kib "$EXP_PID")
echo "exporter serving $ROOMS rooms; /metrics is $BYTES bytes; RSS before: ${RSS_BEFORE} KiB"

wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$TIMEOUT" --latency "$URL" | tee "$TMP/wrk.txt"
RSS_AFTER=$(rss_kib "$EXP_PID")

SOCKET_ERRORS=$(awk '/Socket errors/ {n=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) n+=$i; print n}' "$TMP/wrk.txt")
NON_2XX=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.txt")
ERRORS=$(( ${SOCKET_ERRORS:-0} + ${NON_2XX:-0} ))
kill -0 "$EXP_PID" || { echo "load_test: the exporter died" >&2; exit 1; }
echo "---"
echo "rooms=$ROOMS connections=$CONNECTIONS duration=$DURATION body_bytes=$BYTES"
echo "requests/s: $(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.txt")"
echo "errors: $ERRORS (socket errors ${SOCKET_ERRORS:-0}, non-2xx ${NON_2XX:-0})"
echo "RSS before: ${RSS_BEFORE} KiB, after: ${RSS_AFTER} KiB"
[[ $ERRORS -eq 0 ]]
