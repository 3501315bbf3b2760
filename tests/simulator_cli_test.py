#!/usr/bin/env python3
"""tencent_live_simulator as a program: flags, "listening on", control endpoints, clean stop.

Usage: simulator_cli_test.py PATH_TO_tencent_live_simulator
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import tle_testlib  # noqa: E402


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    binary = sys.argv[1]
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0 or "--fault=NAME" not in out.stdout or "cursor_loop" not in out.stdout:
        fail("--help: %r" % out.stdout)
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0 or not out.stdout.startswith("tencent_live_simulator, version "):
        fail("--version: %r" % out.stdout)
    # Bad flags: one line on stderr and exit 1, as the exporter (and kingpin) does.
    for problem in tle_testlib.flag_error_problems(binary, "tencent_live_simulator", (
            (["--bogus"], 'unknown long flag "--bogus"'),
            (["--fault=nope"], '--fault: want NAME[:PROB][:COUNT]: unknown fault "nope"'),
            (["--fault=slow:2"], '--fault: want NAME[:PROB][:COUNT]: PROB "2" is not a number'),
            (["--rooms=x"], '--rooms: want a whole number 0..10000000, got "x"'),
            (["--rooms", "10000001"], "--rooms: want a whole number"),
            (["--port=1", "--port=2"], 'flag "--port" cannot be repeated'),
            (["--churn=yes"], 'flag "--churn" takes no value'),
            (["--tls-cert=a"], "--tls-cert and --tls-key go together"))):
        fail(problem)

    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [binary, "--port=0", "--rooms", "42", "--seed=7", "--fault=internal_error:1:1"],
            stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
            if not m:
                fail("first line: %r" % line)
            base = m.group(1)
            rooms = json.load(urllib.request.urlopen(base + "/-/sim/rooms", timeout=5))
            if len(rooms) != 42:
                fail("rooms: %d" % len(rooms))
            faults = json.load(urllib.request.urlopen(base + "/-/sim/faults", timeout=5))
            if faults["faults"] != [{"name": "internal_error", "probability": 1.0, "count": 1}]:
                fail("faults: %r" % faults)
            req = urllib.request.Request(
                base + "/v4/live_engine_http_srv/get_room_list?contenttype=json",
                data=b'{"Next":"","Count":20}', method="POST")
            answer = json.load(urllib.request.urlopen(req, timeout=5))
            if answer["ErrorCode"] != 60012 or answer["ActionStatus"] != "FAIL":
                fail("answer without sdkappid: %r" % answer)
            stats = json.load(urllib.request.urlopen(base + "/-/sim/stats", timeout=5))
            if stats["requests"] != 1 or stats["answers_by_code"] != {"60012": 1}:
                fail("stats: %r" % stats)
            start = time.monotonic()
            proc.send_signal(sig)
            code = proc.wait(timeout=10)
            if code != 0:
                fail("exit code %d after %s" % (code, sig))
            if time.monotonic() - start > 5:
                fail("took too long to stop")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print("ok")


if __name__ == "__main__":
    main()
