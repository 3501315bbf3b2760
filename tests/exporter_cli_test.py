#!/usr/bin/env python3
"""tencent_live_exporter as a program: --help and --version, bad flags (one error line, exit 1);
the config's warnings are logged at warn level at start (also by --config.check) and again on
each reload (SIGHUP), and SIGTERM stops it cleanly.

Usage: exporter_cli_test.py PATH_TO_tencent_live_exporter
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import tle_testlib  # noqa: E402

WARNING = re.compile(r'level=warn msg="config warning" warning=".*secret\.key.*readable by every user')


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


class Lines:
    """Collects a process's stderr lines on a thread; wait_for polls them."""

    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append(line)

    def count(self, pattern):
        with self.lock:
            return sum(1 for line in self.lines if pattern.search(line))

    def wait_for(self, pattern, count=1, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(pattern) >= count:
                return True
            time.sleep(0.02)
        return False

    def text(self):
        with self.lock:
            return "".join(self.lines)


# Every flag of docs/contract.md ("Flags"), as --help must list it.
CONTRACT_FLAGS = ("--config.file=PATH", "--config.check", "--demo", "--web.listen-address=ADDR",
                  "--web.telemetry-path=PATH", "--web.config.file=PATH", "--web.max-requests=N",
                  "--web.max-connections=N", "--log.level=LEVEL", "--log.format=FORMAT",
                  "--version", "--help")


def check_flags(binary):
    """--help, --version and bad flags: one "error: ..., try --help" line on stderr, exit 1."""
    for flag in ("--help", "-h"):
        out = subprocess.run([binary, flag], capture_output=True, text=True, timeout=10)
        missing = [f for f in CONTRACT_FLAGS if "  " + f + " " not in out.stdout]
        if out.returncode != 0 or missing or out.stderr:
            fail("%s: rc=%d, missing %r: %r" % (flag, out.returncode, missing, out.stdout))
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0 or not re.fullmatch(
            r"tencent_live_exporter, version \S+ \(revision: \S+\)\n", out.stdout):
        fail("--version: rc=%d %r" % (out.returncode, out.stdout))
    for problem in tle_testlib.flag_error_problems(binary, "tencent_live_exporter", (
            (["--bogus"], 'unknown long flag "--bogus"'),
            (["stray"], 'unexpected argument "stray"'),
            (["--config.file"], 'expected argument for flag "--config.file"'),
            (["--demo=1"], 'flag "--demo" takes no value'),
            (["--demo", "--demo"], 'flag "--demo" cannot be repeated'),
            (["--web.max-requests=x"], '--web.max-requests: want a whole number 0..1000000, got "x"'),
            (["--web.max-connections", "-1"], "--web.max-connections: want a whole number"),
            (["--web.listen-address=9877"], '--web.listen-address: "9877": no port'),
            (["--web.telemetry-path=/-/m"], "--web.telemetry-path: must start with /"),
            (["--log.level=trace"], "--log.level: must be debug, info, warn or error"),
            (["--log.format=xml"], "--log.format: must be logfmt or json"))):
        fail(problem)


def main():
    binary = sys.argv[1]
    check_flags(binary)
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "secret.key")
        with open(key, "w", encoding="utf-8") as f:
            f.write("not-a-real-secret\n")
        os.chmod(key, 0o644)  # readable by every user: the warning
        config = os.path.join(tmp, "exporter.yml")
        with open(config, "w", encoding="utf-8") as f:
            # Port 9 (discard) on loopback: the walks fail at once, which is fine here.
            f.write("apps:\n"
                    "  - sdkappid: 1400000000\n"
                    "    endpoint: http://127.0.0.1:9\n"
                    "    identifier: administrator\n"
                    "    secret_key_file: secret.key\n")

        out = subprocess.run([binary, "--config.file=" + config, "--config.check"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0 or ": OK: " not in out.stdout:
            fail("--config.check: rc=%d stdout=%r stderr=%r" % (out.returncode, out.stdout, out.stderr))
        if len(WARNING.findall(out.stderr)) != 1:
            fail("--config.check: want one warn line for the key file, got %r" % out.stderr)

        proc = subprocess.Popen([binary, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:0"],
                                stderr=subprocess.PIPE, text=True)
        try:
            lines = Lines(proc.stderr)
            if not lines.wait_for(re.compile(r"msg=listening")):
                fail("no listening line: %r" % lines.text())
            if lines.count(WARNING) != 1:
                fail("start: want one warn line for the key file, got %r" % lines.text())
            proc.send_signal(signal.SIGHUP)
            if not lines.wait_for(WARNING, count=2):
                fail("reload: the warning is not logged again: %r" % lines.text())
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            if code != 0 or time.monotonic() - start > 5:
                fail("SIGTERM: exit %d after %.1f s" % (code, time.monotonic() - start))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print("ok")


if __name__ == "__main__":
    main()
