#!/usr/bin/env python3
"""The web server under attack: the real exporter binary on loopback port 0.

usage: web_attack_test.py EXPORTER

Each attack of issue 10 runs for a bounded count of connections and a bounded
time, from this process, against 127.0.0.1 only. While it runs, a real scraper
fetches the telemetry path every 0.25 s on a fresh connection; after it the
exporter must still answer. Every attack passes only when
  - the process is alive,
  - its VmRSS (/proc/PID/status) never rose more than RSS_BOUND_MIB over the
    baseline taken after start-up and a few scrapes,
  - every scrape made while the attack ran succeeded (200 and a body with
    tencent_live_up) within SCRAPE_DEADLINE seconds, and there was at least one,
  - plus the attack's own checks (the server closed the flood connections
    early, the range answer is the whole body, no reload was smuggled, ...).
A table of the figures (RSS baseline and peak, slowest scrape) is printed at
the end. The exporters run with --demo (the embedded simulator, 250 rooms);
the mTLS and basic-auth ones get a web config made here (openssl, crypt).
"""
import base64
import http.client
import os
import random
import resource
import selectors
import socket
import ssl
import string
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import tle_testlib as testlib  # noqa: E402

EXPORTER = sys.argv[1]
RSS_BOUND_MIB = 64
SCRAPE_DEADLINE = 2.0
TMP = testlib.TempDir("tle_attack_")
PROCS = []
check = testlib.Checks()
FIGURES = []
PASSWORD = "scrape-pa55word"


class Exporter(testlib.Exporter):
    """One exporter process with --demo on 127.0.0.1:0, listening."""

    def __init__(self, name, *flags):
        super().__init__(EXPORTER, ["--demo", *flags], TMP.path(name + ".log"))
        PROCS.append(self)
        self.wait_listening()

    def rss(self):
        """rss_mib(), NaN once the process is gone (so max() keeps the peak seen)."""
        rss = self.rss_mib()
        return float("nan") if rss is None else rss


class Scraper:
    """The real scraper: one GET of the telemetry path on a new connection."""

    def __init__(self, exporter, path="/metrics", tls=None, auth=None):
        self.exporter, self.path, self.tls, self.auth = exporter, path, tls, auth

    def once(self, path=None):
        start = time.monotonic()
        try:
            if self.tls:
                conn = http.client.HTTPSConnection("localhost", self.exporter.port,
                                                   timeout=SCRAPE_DEADLINE, context=self.tls)
            else:
                conn = http.client.HTTPConnection("127.0.0.1", self.exporter.port,
                                                  timeout=SCRAPE_DEADLINE)
            headers = {"Accept-Encoding": "identity"}
            if self.auth:
                headers["Authorization"] = "Basic " + base64.b64encode(
                    self.auth.encode()).decode()
            conn.request("GET", path or self.path, headers=headers)
            res = conn.getresponse()
            body = res.read()
            conn.close()
            ok = res.status == 200 and (path is not None or b"tencent_live_up" in body)
        except (OSError, http.client.HTTPException):
            ok = False
        return ok, time.monotonic() - start


def under_attack(name, exporter, scraper, attack, baseline, after_checks=None):
    """Runs attack() on a thread; scrapes and samples RSS until it ends."""
    result = {}
    errors = []

    def run():
        try:
            result.update(attack() or {})
        except Exception as e:  # reported as a failure below
            errors.append(repr(e))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    scrapes, worst, peak = 0, 0.0, exporter.rss()
    failed = []
    time.sleep(0.1)  # let the attack get going
    while thread.is_alive():
        ok, took = scraper.once()
        scrapes += 1
        worst = max(worst, took)
        if not ok or took > SCRAPE_DEADLINE:
            failed.append("%.2fs%s" % (took, "" if ok else " (failed)"))
        peak = max(peak, exporter.rss())
        time.sleep(0.25)
    thread.join()
    ok_after, took_after = scraper.once()
    peak = max(peak, exporter.rss())
    check(not errors, "%s: the attack ran (%s)" % (name, "; ".join(errors) or "no error"))
    check(exporter.alive(), "%s: the exporter is alive" % name)
    check(scrapes >= 1 and not failed,
          "%s: %d scrapes during the attack, all within %.0f s (slowest %.3f s%s)"
          % (name, scrapes, SCRAPE_DEADLINE, worst,
             "; late or failed: " + ", ".join(failed[:5]) if failed else ""))
    check(ok_after, "%s: a scrape after the attack succeeds (%.3f s)" % (name, took_after))
    check(peak - baseline <= RSS_BOUND_MIB,
          "%s: RSS peak %.1f MiB, baseline %.1f MiB (bound +%d MiB)"
          % (name, peak, baseline, RSS_BOUND_MIB))
    FIGURES.append((name, baseline, peak, scrapes, worst))
    if after_checks:
        after_checks(result)
    return result


def baseline_of(exporter, scraper):
    """RSS once the first walk is served and a few scrapes were made."""
    testlib.wait_until("/-/ready", lambda: scraper.once("/-/ready")[0], 30, interval=0.1,
                       alive=exporter.check_alive)
    for _ in range(5):
        scraper.once()
    return exporter.rss()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def flood(port, head, filler, max_bytes, connections=20, seconds=3):
    """`connections` attackers, each sending `head` then `filler` over and over
    on one connection until the server closes it (or max_bytes are sent, which
    counts as not closed), then again on a new one, for `seconds`. Returns how
    many connections the server closed, out of how many, and the most bytes
    one of them got to send."""
    stats = {"closed": 0, "connections": 0, "most": 0, "max_bytes": max_bytes}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def one_connection():
        sent = 0
        gone = False
        s = connect(port)
        s.settimeout(2)
        try:
            s.sendall(head)
            sent += len(head)
            while sent < max_bytes:
                s.sendall(filler)
                sent += len(filler)
        except OSError:
            gone = True
        if not gone:
            try:  # sent all it may: did the server hang up?
                while s.recv(65536):
                    pass
                gone = True
            except ConnectionResetError:
                gone = True
            except OSError:
                pass
        s.close()
        with lock:
            stats["connections"] += 1
            stats["closed"] += 1 if gone else 0
            stats["most"] = max(stats["most"], sent)

    def attacker():
        while time.monotonic() < deadline:
            one_connection()

    testlib.run_in_threads([attacker] * connections)
    return stats


def repeat(seconds, fn):
    """Calls fn() until `seconds` have passed (at least once); the last result."""
    deadline = time.monotonic() + seconds
    result = fn()
    while time.monotonic() < deadline:
        result = fn()
    return result


def flood_checks(name):
    def checks(r):
        check(r["connections"] >= 20 and r["closed"] == r["connections"],
              "%s: the server closed %d of %d flood connections, each before %d MiB "
              "(most sent by one: %.1f MiB, kernel buffers included)"
              % (name, r["closed"], r["connections"], r["max_bytes"] >> 20,
                 r["most"] / 1048576.0))
    return checks


def raw_get(port, request, timeout=5):
    s = connect(port)
    s.sendall(request)
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    return data


def attack_ranges(exp, scraper, baseline):
    normal = raw_get(exp.port, b"GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    normal_body = len(normal.split(b"\r\n\r\n", 1)[1])

    def attack():
        return repeat(3, attack_round)

    def attack_round():
        answers = []
        lock = threading.Lock()

        def one():
            a = raw_get(exp.port, b"GET /metrics HTTP/1.1\r\nHost: a\r\n"
                                  b"Range: bytes=50000000-50000100\r\nConnection: close\r\n\r\n")
            with lock:
                answers.append(a)

        testlib.run_in_threads([one] * 40)
        return {"answers": answers}

    def checks(r):
        whole = [a for a in r["answers"]
                 if a.startswith(b"HTTP/1.1 200") and b"Content-Range" not in a
                 and len(a.split(b"\r\n\r\n", 1)[-1]) >= normal_body * 0.9]
        check(len(whole) == 40, "range past the end x40: %d of 40 got 200 with the whole body"
              % len(whole))

    under_attack("range past the end x40", exp, scraper, attack, baseline, checks)

    def many():
        return repeat(3, many_round)

    def many_round():
        ranges = ",".join("%d-%d" % (i, i) for i in range(900))
        a = raw_get(exp.port, ("GET /metrics HTTP/1.1\r\nHost: a\r\nRange: bytes=%s\r\n"
                               "Connection: close\r\n\r\n" % ranges).encode())
        return {"answer": a}

    def many_checks(r):
        a = r["answer"]
        body = len(a.split(b"\r\n\r\n", 1)[-1])
        check(a.startswith(b"HTTP/1.1 200") and body < normal_body * 1.5,
              "900 ranges: 200 and the body once (%d bytes, plain body %d)" % (body, normal_body))

    under_attack("900 ranges", exp, scraper, many, baseline, many_checks)


def attack_parsing(exp, scraper, baseline):
    under_attack("request line without newline", exp, scraper,
                 lambda: flood(exp.port, b"GET /", b"a" * 8192, 8 << 20),
                 baseline, flood_checks("request line without newline"))
    under_attack("unlimited 8 KB headers", exp, scraper,
                 lambda: flood(exp.port, b"GET /metrics HTTP/1.1\r\n",
                               b"X-Pad: " + b"a" * 8192 + b"\r\n", 8 << 20),
                 baseline, flood_checks("unlimited 8 KB headers"))
    under_attack("a:b headers flood", exp, scraper,
                 lambda: flood(exp.port, b"GET /metrics HTTP/1.1\r\n", b"a:b\r\n" * 1000,
                               8 << 20),
                 baseline, flood_checks("a:b headers flood"))
    under_attack("chunked body flood", exp, scraper,
                 lambda: flood(exp.port, b"POST /-/reload HTTP/1.1\r\nHost: a\r\n"
                                         b"Transfer-Encoding: chunked\r\n\r\n",
                               b"2000\r\n" + b"x" * 0x2000 + b"\r\n", 8 << 20),
                 baseline, flood_checks("chunked body flood"))
    under_attack("body without Content-Length flood", exp, scraper,
                 lambda: flood(exp.port, b"POST /-/reload HTTP/1.1\r\nHost: a\r\n\r\n",
                               b"x" * 8192, 8 << 20),
                 baseline, flood_checks("body without Content-Length flood"))
    under_attack("huge Content-Length body", exp, scraper,
                 lambda: flood(exp.port, b"POST /-/reload HTTP/1.1\r\nHost: a\r\n"
                                         b"Content-Length: 100000000000\r\n\r\n",
                               b"x" * 8192, 8 << 20),
                 baseline, flood_checks("huge Content-Length body"))


def closed_by_server(sel, timeout=0.2):
    """The sockets of selector `sel` that the server closed (or reset) within `timeout`, taken
    out of `sel`; what the others sent is read and dropped."""
    closed = []
    for key, _ in sel.select(timeout=timeout):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            closed.append(s)
    return closed


def attack_slowloris(exp, scraper, baseline, connections=200, seconds=14, every=3.0):
    def attack():
        sel = selectors.DefaultSelector()
        conns = {}
        closed_at = []
        opened = [0]

        def open_one():
            s = connect(exp.port)  # connected before the first line goes out
            s.setblocking(False)
            conns[s] = {"start": time.monotonic(), "next": time.monotonic(), "n": 0}
            sel.register(s, selectors.EVENT_READ)
            opened[0] += 1

        for _ in range(connections):
            open_one()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            for s, st in list(conns.items()):
                if now >= st["next"]:
                    line = (b"GET /metrics HTTP/1.1\r\n" if st["n"] == 0
                            else b"X-Slow-%d: y\r\n" % st["n"])
                    try:
                        s.send(line)
                    except OSError:
                        pass
                    st["n"] += 1
                    st["next"] = now + every
            for s in closed_by_server(sel):
                closed_at.append(time.monotonic() - conns[s]["start"])
                s.close()
                del conns[s]
                open_one()  # the attacker comes back at once
        for s in list(conns):
            s.close()
        return {"closed_at": closed_at, "opened": opened[0]}

    def checks(r):
        times = r["closed_at"]
        check(len(times) >= connections and max(times) < 12.5,
              "slowloris: %d of %d dripping connections closed by the server, the slowest "
              "after %.1f s (request deadline 10 s)"
              % (len(times), r["opened"], max(times) if times else -1))

    under_attack("slowloris x200", exp, scraper, attack, baseline, checks)


def attack_idle(exp, scraper, baseline, connections=1000, seconds=8):
    def attack():
        sel = selectors.DefaultSelector()
        conns = set()
        reopened = [0]

        def open_one():
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", exp.port))
            sel.register(s, selectors.EVENT_READ)
            conns.add(s)

        for _ in range(connections):
            open_one()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for s in closed_by_server(sel):
                s.close()
                conns.discard(s)
                reopened[0] += 1
                if len(conns) < connections:
                    open_one()
        held = len(conns)
        for s in conns:
            s.close()
        return {"held": held, "reopened": reopened[0]}

    def checks(r):
        print("     (idle: %d connections held at the end, %d closed by the server and "
              "reopened)" % (r["held"], r["reopened"]))

    under_attack("1000 idle connections", exp, scraper, attack, baseline, checks)


def client_hello():
    """The bytes of a real TLS ClientHello."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def attack_tls_drip(exp, scraper, baseline, connections=50, seconds=14):
    hello = client_hello()

    def attack():
        socks = []
        for _ in range(connections):
            s = connect(exp.port)
            s.setblocking(False)
            socks.append([s, time.monotonic(), None])
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            for entry in socks:
                s, start, closed = entry
                if closed is not None:
                    continue
                try:
                    if i < len(hello):
                        s.send(hello[i:i + 1])
                    if s.recv(4096) == b"":
                        entry[2] = time.monotonic() - start
                except BlockingIOError:
                    pass
                except OSError:
                    entry[2] = time.monotonic() - start
            i += 1
            # one byte every 3 s, checking for the close in between
            step_end = time.monotonic() + 3
            while time.monotonic() < min(step_end, end):
                for entry in socks:
                    if entry[2] is None:
                        try:
                            if entry[0].recv(4096) == b"":
                                entry[2] = time.monotonic() - entry[1]
                        except BlockingIOError:
                            pass
                        except OSError:
                            entry[2] = time.monotonic() - entry[1]
                time.sleep(0.1)
        closed = [e[2] for e in socks if e[2] is not None]
        for e in socks:
            e[0].close()
        return {"closed": closed}

    def checks(r):
        c = r["closed"]
        check(len(c) == connections and max(c) < 12.5,
              "ClientHello 1 byte/3 s over mTLS: %d of %d closed by the server, the slowest "
              "after %.1f s (handshake deadline 10 s)"
              % (len(c), connections, max(c) if c else -1))

    under_attack("ClientHello drip over mTLS x50", exp, scraper, attack, baseline, checks)


def attack_bcrypt(exp, scraper, baseline, threads=32, seconds=8):
    def attack():
        counts = {}
        lock = threading.Lock()
        end = time.monotonic() + seconds

        def one(n):
            while time.monotonic() < end:
                user = "intruder-%d-%s" % (n, "".join(random.choices(string.ascii_lowercase, k=8)))
                auth = base64.b64encode(("%s:guess" % user).encode()).decode()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=10)
                    conn.request("GET", "/metrics", headers={"Authorization": "Basic " + auth})
                    status = conn.getresponse().status
                    conn.close()
                except (OSError, http.client.HTTPException):
                    status = "error"
                with lock:
                    counts[status] = counts.get(status, 0) + 1

        testlib.run_in_threads([lambda n=n: one(n) for n in range(threads)])
        return {"counts": counts}

    def checks(r):
        counts = r["counts"]
        check(set(counts) <= {401, 503} and counts.get(401, 0) > 0,
              "bcrypt flood x%d: the unknown users got only 401 (checked) or 503 (queue full): %s"
              % (threads, counts))

    under_attack("bcrypt flood x32 unknown users", exp, scraper, attack, baseline, checks)


def test_smuggled_reload(exp):
    def applied():
        return exp.log_text().count("config applied")

    before = applied()
    smuggled = b"POST /-/reload HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    answer = raw_get(exp.port, b"GET /-/healthy HTTP/1.1\r\nHost: a\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled +
                     b"GET /-/healthy HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    # What did not happen is given half a second to show.
    testlib.holds_for(lambda: applied() == before, 0.5)
    after = applied()
    check(answer.count(b"HTTP/1.1 ") == 2 and answer.count(b"HTTP/1.1 200") == 2 and
          b"Reloaded" not in answer,
          "GET with a POST /-/reload in its body, then a GET: two answers, both 200 "
          "(%d answers)" % answer.count(b"HTTP/1.1 "))
    check(after == before, "GET with a POST /-/reload in its body: no reload (%d -> %d)"
          % (before, after))
    start = time.monotonic()
    reload_answer = raw_get(exp.port, b"POST /-/reload HTTP/1.1\r\nHost: a\r\n"
                                      b"Connection: close\r\n\r\n")
    took = time.monotonic() - start
    check(reload_answer.startswith(b"HTTP/1.1 200") and took < 1.0,
          "POST /-/reload without a body: 200 in %.3f s" % took)
    try:
        testlib.wait_until("the reload", lambda: applied() >= before + 1, 5, interval=0.05)
    except TimeoutError:
        pass
    check(applied() == before + 1,
          "POST /-/reload without a body: the config was reloaded")


def test_telemetry_path():
    exp = Exporter("literal", "--web.telemetry-path=/m.trics")
    status = lambda p: raw_get(exp.port, ("GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                          % p).encode())[:12]
    check(status("/m.trics") == b"HTTP/1.1 200", "--web.telemetry-path=/m.trics serves /m.trics")
    check(status("/mXtrics") == b"HTTP/1.1 404", "--web.telemetry-path=/m.trics: /mXtrics is 404")
    exp.stop()


def test_port_in_use(exp):
    start = time.monotonic()
    try:
        p = subprocess.run([EXPORTER, "--demo", "--web.listen-address=127.0.0.1:%d" % exp.port],
                           capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:  # run() killed it
        check(False, "a second exporter on port %d is still running after 15 s" % exp.port)
        return
    took = time.monotonic() - start
    address = "127.0.0.1:%d" % exp.port
    check(p.returncode == 1 and "address already in use" in p.stderr and address in p.stderr,
          "a second exporter on %s exits 1 naming it (%.1f s): %s"
          % (address, took, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""))
    ok, _ = Scraper(exp).once()
    check(ok, "the first exporter still serves its port")


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        raise RuntimeError("need %d open files for the idle-connection attack, the limit is %d"
                           % (want, soft))


def main():
    started = time.monotonic()
    try:
        raise_fd_limit(1400)
        testlib.make_pki(TMP.root, "tle-attack-ca", client="tle-attack-client")
        exp = Exporter("plain")
        scraper = Scraper(exp)
        base = baseline_of(exp, scraper)
        print("-- plain exporter on port %d, baseline RSS %.1f MiB" % (exp.port, base), flush=True)
        attack_ranges(exp, scraper, base)
        attack_parsing(exp, scraper, base)
        attack_slowloris(exp, scraper, base)
        attack_idle(exp, scraper, base)
        test_smuggled_reload(exp)
        test_port_in_use(exp)
        test_telemetry_path()

        hashed = testlib.bcrypt_hash(PASSWORD, rounds=1 << 10)
        auth = TMP.write("auth.yml", "basic_auth_users:\n  prometheus: '%s'\n" % hashed)
        auth_exp = Exporter("auth", "--web.config.file=" + auth)
        auth_scraper = Scraper(auth_exp, auth="prometheus:" + PASSWORD)
        base = baseline_of(auth_exp, auth_scraper)  # the first one is cached from here on
        print("-- basic-auth exporter (bcrypt cost 10), baseline RSS %.1f MiB" % base, flush=True)
        attack_bcrypt(auth_exp, auth_scraper, base)
        auth_exp.stop()

        mtls = TMP.write("mtls.yml", (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"))
        mtls_exp = Exporter("mtls", "--web.config.file=" + mtls)
        ctx = ssl.create_default_context(cafile=TMP.path("ca.crt"))
        ctx.load_cert_chain(TMP.path("client.crt"), TMP.path("client.key"))
        mtls_scraper = Scraper(mtls_exp, tls=ctx)
        base = baseline_of(mtls_exp, mtls_scraper)
        print("-- mTLS exporter, baseline RSS %.1f MiB" % base, flush=True)
        attack_tls_drip(mtls_exp, mtls_scraper, base)
        mtls_exp.stop()
    except Exception as e:
        check(False, "the attack suite raised %r" % e)
    finally:
        for proc in PROCS:
            proc.stop()
    print("\n| attack | baseline RSS MiB | peak RSS MiB | scrapes during | slowest scrape s |")
    print("|---|---:|---:|---:|---:|")
    for name, baseline, peak, scrapes, worst in FIGURES:
        print("| %s | %.1f | %.1f | %d | %.3f |" % (name, baseline, peak, scrapes, worst))
    print("\nweb_attack: %d checks failed, %.0f s"
          % (len(check.failures), time.monotonic() - started))
    return check.summary(TMP)


if __name__ == "__main__":
    sys.exit(main())
