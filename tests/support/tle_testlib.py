"""What the Python tests, benchmarks and the soak share.

- parse_exposition(): the Prometheus text format as [(name, {label: value}, value)], strict (an
  unparsable line raises ValueError), with label escapes undone; values()/one()/total()/by_label()
  pick samples out of it.
- free_port(), http_get(), http_post(): loopback plumbing.
- wait_until(): poll a condition with a deadline (never a bare sleep).
- start_exporter(): the exporter binary on 127.0.0.1:0, its log in a file, its port read back
  from the "listening" log line.

Standard library only, so every test can import it with
    sys.path.insert(0, <repo>/tests/support); import tle_testlib
"""
import os
import re
import socket
import subprocess
import time
import urllib.request

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
_ESCAPE = re.compile(r'\\(.)')
# The "listening" line, logfmt or JSON (not any address=, which a flag echo could be).
_LISTENING = re.compile(r'(?:msg=listening address=|"msg":"listening","address":")'
                        r'127\.0\.0\.1:(\d+)')


def unescape(value):
    """A label value as written (\\n, \\\\, \\") back to its text."""
    return _ESCAPE.sub(lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_exposition(text):
    """[(name, {label: value}, float)] of every sample line; ValueError on anything else."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("unparsable exposition line: %r" % line[:200])
        labels, rest = {}, m.group(2) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                raise ValueError("unparsable labels: %r" % line[:200])
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def values(samples, name, **want):
    """[(labels, value)] of the samples of `name` whose labels include `want`."""
    return [(lab, v) for n, lab, v in samples
            if n == name and all(lab.get(k) == w for k, w in want.items())]


def one(samples, name, **want):
    """The value of the one sample of `name` matching `want`; ValueError unless exactly one."""
    found = values(samples, name, **want)
    if len(found) != 1:
        raise ValueError("expected one %s%r, found %r" % (name, want, found))
    return found[0][1]


def total(samples, name):
    return sum(v for n, _, v in samples if n == name)


def by_label(samples, name, label):
    return {lab.get(label, ""): v for n, lab, v in samples if n == name}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5, headers=None):
    """(status, body text) of a GET; HTTP errors raise urllib.error.HTTPError."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


def http_post(url, timeout=5):
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


def wait_until(what, predicate, timeout, interval=0.2, alive=None, errors=()):
    """Polls predicate() until it returns something truthy and returns that.

    alive(), when given, runs before every poll and should raise when a process the test needs
    has died. Exceptions of the types in `errors` count as "not yet". After `timeout` seconds
    raises TimeoutError naming `what` (and the last such error)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        if alive:
            alive()
        try:
            result = predicate()
            if result:
                return result
        except errors as e:  # noqa: PERF203 - polling
            last_error = e
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %ss waiting for %s%s" % (
                timeout, what, " (last error: %s)" % last_error if last_error else ""))
        time.sleep(interval)


class Exporter:
    """The exporter binary as a child process on 127.0.0.1:0, its output in `log_path`.

    start() returns once the exporter has logged its listening address; `base` is then
    "http://127.0.0.1:PORT"."""

    def __init__(self, binary, args, log_path, env=None):
        self.log_path = log_path
        self._log = open(log_path, "w")
        argv = [binary] + list(args)
        if not any(a.startswith("--web.listen-address") for a in args):
            argv.append("--web.listen-address=127.0.0.1:0")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        self.base = None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError("exporter exited with %s:\n%s"
                               % (self.proc.returncode, self.log_text()[-4000:]))

    def wait_listening(self, timeout=20):
        def port():
            m = _LISTENING.search(self.log_text())
            return m and m.group(1)
        try:
            found = wait_until("the exporter's listening address", port, timeout,
                               interval=0.05, alive=self.check_alive)
        except TimeoutError as e:
            raise RuntimeError("%s; log:\n%s" % (e, self.log_text()[-4000:])) from None
        self.base = "http://127.0.0.1:%s" % found
        return self.base

    def scrape(self, path="/metrics", timeout=5):
        """parse_exposition() of one scrape."""
        return parse_exposition(http_get(self.base + path, timeout=timeout)[1])

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def start_exporter(binary, args, log_path, env=None, timeout=20):
    """An Exporter that is listening (see Exporter)."""
    exporter = Exporter(binary, args, log_path, env=env)
    try:
        exporter.wait_listening(timeout)
    except BaseException:
        exporter.stop()
        raise
    return exporter


def support_dir():
    return os.path.dirname(os.path.abspath(__file__))


def run_main(parser, run, failure=AssertionError):
    """The tail of a test script's main(): parses `parser`'s arguments, turns SIGTERM (a ctest
    timeout) into an exit that unwinds the caller's finally blocks, runs run(args) and prints
    "FAIL: ..." for an exception of type `failure`. Returns the exit code (0 or 1)."""
    import signal
    import sys
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(args)
    except failure as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    return 0
