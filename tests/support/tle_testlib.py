"""What the Python tests, benchmarks and the soak share.

- parse_exposition(): the Prometheus text format as [(name, {label: value}, value)], strict (an
  unparsable line raises ValueError), with label escapes undone; partial_first_line=True reads
  the tail of a scrape whose first line may be cut. values()/one()/total()/by_label()
  pick samples out of it.
  value_or_none() is the one value of a series that may be absent.
- free_port(), http_get(), http_post(), fetch(): loopback plumbing; LoopbackServer: a raw TCP
  server on 127.0.0.1:0 that hands each connection to a thread.
- wait_until(): poll a condition with a deadline (never a bare sleep); holds_for(): a claim
  that something does not happen, polled for a grace period.
- run_in_threads(): callables on threads, joined.
- flag_error_problems(): how a program refuses bad flags (one "error: ..., try --help" line,
  exit 1), checked for a list of cases.
- Process, Exporter, Simulator (start_exporter(), start_simulator()): a binary as a child
  process, its log in a file, its port read back from the "listening" log line.
- TempDir: a scratch folder; Checks: the "ok/FAIL" list the long end-to-end scripts report; make_pki(), bcrypt_hash(): the
  certificates and password hashes they serve with.

Standard library only, so every test can import it with
    sys.path.insert(0, <repo>/tests/support); import tle_testlib
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
_ESCAPE = re.compile(r'\\(.)')
# The "listening" line, logfmt or JSON (not any address=, which a flag echo could be).
_LISTENING = re.compile(r'(?:msg=listening address=|"msg":"listening","address":")'
                        r'127\.0\.0\.1:(?P<port>\d+)')
# The simulator's start-up line.
_SIMULATOR_LISTENING = re.compile(r"listening on (?P<scheme>https?)://127\.0\.0\.1:(?P<port>\d+)")


def unescape(value):
    """A label value as written (\\n, \\\\, \\") back to its text."""
    return _ESCAPE.sub(lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_exposition(text, partial_first_line=False):
    """[(name, {label: value}, float)] of every sample line; ValueError on anything else.

    partial_first_line: `text` is the tail of an exposition, cut anywhere, so its first line
    (up to the first newline, which may also be a whole line) is skipped rather than refused."""
    if partial_first_line:
        text = text.partition("\n")[2]
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


def value_or_none(samples, name, **want):
    """The value of the one sample of `name` matching `want`, None when there is none;
    ValueError when there are several."""
    found = values(samples, name, **want)
    if len(found) > 1:
        raise ValueError("expected at most one %s%r, found %r" % (name, want, found))
    return found[0][1] if found else None


def total(samples, name, **want):
    """The sum of the samples of `name` whose labels include `want` (0 when there are none)."""
    return sum(v for _, v in values(samples, name, **want))


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


def fetch(url, timeout=10, context=None, headers=None, method="GET"):
    """(status, body text, headers dict) of a request; an HTTP error status is an answer too,
    a failure to connect raises OSError (urllib.error.URLError)."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


class LoopbackServer:
    """A TCP server on 127.0.0.1:0 that runs handle(conn) on a daemon thread per connection.

    Subclasses define handle(); `port` is known once constructed; stop() closes the listening
    socket and sets `stopping` for the handlers to see."""

    def __init__(self, backlog=64):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()


def run_in_threads(targets):
    """Runs each callable of `targets` on its own daemon thread and waits for all of them."""
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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


def holds_for(predicate, seconds, interval=0.05):
    """Whether predicate() stays truthy for `seconds` (False as soon as it is not): the grace
    period of a claim that something does not happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(interval)
    return bool(predicate())


class Process:
    """A binary as a child process, stdout and stderr in `log_path`, readable at any time.

    A subclass names the flag that picks its port, the flag that picks port 0 when `args` do
    not, and the log line that says where it listens: wait_listening() then waits for that line
    and sets `scheme`, `port` and `base` ("http://127.0.0.1:PORT"). stop() sends SIGTERM, then
    SIGKILL after `timeout` seconds."""

    what = "process"
    listen_flag = listen_default = listening = None

    def __init__(self, binary, args, log_path, env=None):
        argv = [binary] + list(args)
        if self.listen_flag and not any(a.startswith(self.listen_flag) for a in args):
            argv.append(self.listen_default)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        self.scheme = self.port = self.base = None

    def wait_listening(self, timeout=20):
        m = self.wait_log(self.listening, timeout).groupdict()
        self.scheme, self.port = m.get("scheme") or "http", int(m["port"])
        self.base = "%s://127.0.0.1:%d" % (self.scheme, self.port)
        return self.base

    def log_bytes(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def log_text(self):
        return self.log_bytes().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited with %s:\n%s"
                               % (self.what, self.proc.returncode, self.log_text()[-4000:]))

    def wait_log(self, pattern, timeout=20):
        """The first match of `pattern` in the log, waiting for it; RuntimeError (with the log's
        tail) when the process exits or `timeout` passes first."""
        def found():
            m = re.search(pattern, self.log_text())
            if not m:
                self.check_alive()
            return m
        try:
            return wait_until("%r in %s" % (getattr(pattern, "pattern", pattern), self.log_path),
                              found, timeout, interval=0.05)
        except TimeoutError as e:
            raise RuntimeError("%s; log:\n%s" % (e, self.log_text()[-4000:])) from None

    def rss_mib(self):
        """VmRSS in MiB, None once the process is gone."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            return int(m.group(1)) / 1024.0 if m else None
        except OSError:
            return None

    def under_tsan(self):
        """Whether the binary runs under ThreadSanitizer (the tsan preset)."""
        try:
            with open("/proc/%d/maps" % self.proc.pid) as f:
                return "libtsan" in f.read()
        except OSError:
            return False

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Exporter(Process):
    """The exporter binary on 127.0.0.1:0 unless `args` name a listen address (see Process)."""

    what = "exporter"
    listen_flag, listen_default = "--web.listen-address", "--web.listen-address=127.0.0.1:0"
    listening = _LISTENING

    def scrape(self, path="/metrics", timeout=5):
        """parse_exposition() of one scrape."""
        return parse_exposition(http_get(self.base + path, timeout=timeout)[1])


class Simulator(Process):
    """The simulator binary on 127.0.0.1:0 unless `args` name a port (see Process); `scheme` is
    https when it serves TLS."""

    what = "simulator"
    listen_flag, listen_default = "--port", "--port=0"
    listening = _SIMULATOR_LISTENING


def _started(process, timeout):
    try:
        process.wait_listening(timeout)
    except BaseException:
        process.stop()
        raise
    return process


def start_exporter(binary, args, log_path, env=None, timeout=20):
    """An Exporter that is listening (see Exporter)."""
    return _started(Exporter(binary, args, log_path, env=env), timeout)


def start_simulator(binary, args, log_path, env=None, timeout=20):
    """A Simulator that is listening (see Simulator)."""
    return _started(Simulator(binary, args, log_path, env=env), timeout)


class TempDir:
    """A scratch folder for one test script's configs, certificates and logs."""

    def __init__(self, prefix):
        self.root = tempfile.mkdtemp(prefix=prefix)

    def path(self, name):
        return os.path.join(self.root, name)

    def write(self, name, text):
        """Writes `text` to `name` in the folder; returns its path."""
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


class Checks:
    """The checks of a long end-to-end script: each prints "ok   what" or "FAIL what", and the
    failures are kept for the summary and the exit status."""

    def __init__(self):
        self.passed, self.failures = [], []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        (self.passed if cond else self.failures).append(what)
        return cond

    def summary(self, tmp, crashed=False):
        """Prints the failures (and where the logs were kept) or removes `tmp` (a TempDir) when
        all passed; returns the exit status. `crashed`: the script raised, so keep the logs."""
        if self.failures or crashed:
            print("logs kept in %s" % tmp.root)
        else:
            tmp.remove()
        if self.failures:
            print("%d check(s) failed, %d passed:" % (len(self.failures), len(self.passed)))
            for f in self.failures:
                print("  " + f)
            return 1
        print("all %d checks passed" % len(self.passed))
        return 0


def make_pki(directory, ca_name, san="DNS:localhost,IP:127.0.0.1", cn="localhost",
             client=None):
    """With the openssl command, in `directory`: ca.crt/ca.key (a private CA named `ca_name`),
    server.crt/server.key for `san`, and client.crt/client.key (CN `client`) when asked."""
    def sh(cmd):
        subprocess.run(cmd, shell=True, cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
       "-days 2 -subj /CN=" + ca_name)
    sh("printf 'subjectAltName=%s\\n' > server.ext" % san)
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=" + cn)
    sh("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
       "-CAcreateserial -out server.crt -days 2 -extfile server.ext")
    if client:
        sh("openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
           "-subj /CN=" + client)
        sh("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key "
           "-CAcreateserial -out client.crt -days 2")


def bcrypt_hash(password, rounds):
    """A bcrypt hash of `password` with `rounds` rounds (a power of two), by libxcrypt (the crypt module,
    deprecated since Python 3.11 but present)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=rounds))


# What both programs exit with when their flags are wrong (kFlagErrorExitCode, flags.h).
FLAG_ERROR_EXIT_CODE = 1


def flag_error_problems(binary, program, cases, timeout=10):
    """What is wrong with how `binary` refuses bad flags: for each (args, message) in `cases`, a
    run must exit FLAG_ERROR_EXIT_CODE with one stderr line, "<program>: error: <message>...,
    try --help" (exporter/common/flags.h, FlagError). [] when every case does."""
    problems = []
    for args, message in cases:
        out = subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout)
        if (out.returncode != FLAG_ERROR_EXIT_CODE
                or not out.stderr.startswith(program + ": error: " + message)
                or not out.stderr.endswith(", try --help\n") or out.stderr.count("\n") != 1):
            problems.append("%s: want exit %d and one error line, got rc=%d stderr=%r"
                            % (args, FLAG_ERROR_EXIT_CODE, out.returncode, out.stderr))
    return problems


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
