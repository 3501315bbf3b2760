#!/usr/bin/env python3
"""Secure and operable serving, with the real binaries over loopback.

usage: websec_e2e.py EXPORTER SIMULATOR

Checks: SIGTERM during a walk exits 0 within 5 s; upstream HTTPS with a private
CA is refused without ca_file and accepted with it (insecure_skip_verify warns);
process_* metrics; the secret key appears in no log line and no metric at debug
level; reload by SIGHUP and POST /-/reload with a bad and a good config; TLS
serving and basic auth from --web.config.file; a bad web config stops the start.
Certificates are made with the openssl command at test time.
"""
import base64
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # deprecated in 3.11 but present: libxcrypt's bcrypt
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

EXPORTER, SIMULATOR = sys.argv[1], sys.argv[2]
SECRET = "e2e-secret-0f9c1d7b5a3e-do-not-leak"
WRONG_SECRET = "e2e-wrong-secret-77aa3c19-also-private"
SDKAPPID = 1400000042
TMP = tempfile.mkdtemp(prefix="tle_websec_e2e_")
PROCS = []
FAILURES = []
PASSED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if cond:
        PASSED.append(what)
    else:
        FAILURES.append(what)


def path(name):
    return os.path.join(TMP, name)


def write(name, text):
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


def sh(cmd):
    subprocess.run(cmd, shell=True, cwd=TMP, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki():
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
       "-days 2 -subj /CN=tle-e2e-ca")
    sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext")
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
       "-subj /CN=localhost")
    sh("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
       "-CAcreateserial -out server.crt -days 2 -extfile server.ext")


class Proc:
    """A child process whose stdout+stderr go to a file we can read any time."""

    def __init__(self, name, args):
        self.log_path = path(name + ".log")
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        PROCS.append(self)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("no %r in %s:\n%s" % (pattern, self.log_path, self.text()))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def simulator(*flags, secret=SECRET):
    sim = Proc("sim%d" % len(PROCS), [SIMULATOR, "--port=0", "--sdkappid=%d" % SDKAPPID,
                                      "--secret-key=" + secret, *flags])
    m = sim.wait_for(r"listening on (https?)://127\.0\.0\.1:(\d+)")
    return sim, m.group(1), int(m.group(2))


def app_config(name, endpoint, extra=""):
    key_file = write("secret.key", SECRET + "\n")
    return write(name, (
        "defaults:\n  interval: 1s\n  request_timeout: 5s\n"
        "apps:\n  - sdkappid: %d\n    endpoint: %s\n    identifier: administrator\n"
        "    secret_key_file: %s\n%s") % (SDKAPPID, endpoint, key_file, extra))


def exporter(config, *flags, name=None):
    exp = Proc(name or "exp%d" % len(PROCS),
               [EXPORTER, "--config.file=" + config, "--web.listen-address=127.0.0.1:0",
                *flags])
    m = exp.wait_for(r"msg=listening address=127\.0\.0\.1:(\d+)")
    return exp, int(m.group(1))


def get(url, timeout=10, context=None, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def metric(text, name, labels=""):
    m = re.search(r"^%s(\{[^}]*%s[^}]*\})? (\S+)$" % (re.escape(name), re.escape(labels)),
                  text, re.M)
    return float(m.group(2)) if m else None


def wait_metric(port, name, pred, labels="", timeout=20):
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
        value = metric(body, name, labels)
        if value is not None and pred(value):
            return value
        time.sleep(0.2)
    return value


def test_sigterm_during_walk():
    sim, _, sport = simulator("--latency=3000")
    config = app_config("slow.yml", "http://127.0.0.1:%d" % sport)
    exp, port = exporter(config)
    time.sleep(1.0)  # the first request is now waiting on the 3 s latency
    _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
    _, stats, _ = get("http://127.0.0.1:%d/-/sim/stats" % sport)
    in_flight = (metric(body, "tencent_live_walks_total") == 1 and
                 metric(body, "tencent_live_last_success_timestamp_seconds") is None and
                 re.search(r'"requests"\s*:\s*[1-9]', stats) is not None)
    check(in_flight, "a walk is in flight when SIGTERM comes (%s)" % stats.strip())
    start = time.time()
    exp.p.send_signal(signal.SIGTERM)
    try:
        rc = exp.p.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - start
    check(rc == 0, "SIGTERM during a walk exits 0 (rc=%s, %.2fs)" % (rc, took))
    check(took < 5, "SIGTERM during a walk exits within 5 s (%.2fs)" % took)
    exp.stop()
    sim.stop()


def test_upstream_tls():
    sim, scheme, sport = simulator("--tls-cert=" + path("server.crt"),
                                   "--tls-key=" + path("server.key"))
    check(scheme == "https", "simulator serves https")
    endpoint = "https://localhost:%d" % sport

    exp, port = exporter(app_config("tls_noca.yml", endpoint))
    errors = wait_metric(port, "tencent_live_api_errors_total", lambda v: v > 0,
                         labels='code="tls"')
    check(errors is not None and errors > 0,
          "private CA without ca_file: refused as a tls error (%s)" % errors)
    _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
    check(metric(body, "tencent_live_up") == 0, "private CA without ca_file: up 0")
    exp.stop()

    exp, port = exporter(app_config("tls_ca.yml", endpoint,
                                    "    ca_file: %s\n" % path("ca.crt")))
    up = wait_metric(port, "tencent_live_up", lambda v: v == 1)
    check(up == 1, "private CA with ca_file: walk completes (up=%s)" % up)
    exp.stop()

    exp, port = exporter(app_config("tls_insecure.yml", endpoint,
                                    "    insecure_skip_verify: true\n"))
    up = wait_metric(port, "tencent_live_up", lambda v: v == 1)
    check(up == 1, "insecure_skip_verify: walk completes")
    check(re.search(r"level=warn .*insecure_skip_verify", exp.text()) is not None,
          "insecure_skip_verify is logged as a warning")
    exp.stop()
    sim.stop()


def test_secret_never_leaks_and_process_metrics():
    good_sim, _, good_port = simulator("--rooms=30")
    bad_sim, _, bad_port = simulator("--rooms=30", secret=WRONG_SECRET)
    for label, sport in (("right", good_port), ("wrong", bad_port)):
        config = app_config("leak_%s.yml" % label, "http://127.0.0.1:%d" % sport)
        exp, port = exporter(config, "--log.level=debug", name="leak_" + label)
        if label == "right":
            up = wait_metric(port, "tencent_live_up", lambda v: v == 1)
            check(up == 1, "right secret: walk completes")
        else:
            errs = wait_metric(port, "tencent_live_walk_failures_total",
                               lambda v: v > 0, labels='reason="api_error"')
            check(errs is not None and errs > 0, "wrong secret: walks fail with api_error")
        bodies = ""
        for p in ("/metrics", "/", "/-/ready", "/-/healthy"):
            bodies += get("http://127.0.0.1:%d%s" % (port, p))[1]
        get("http://127.0.0.1:%d/-/reload" % port, method="POST")
        exp.stop()
        logs = exp.text()
        if label == "right":
            check("level=debug" in logs, "right secret: debug lines were logged")
        for n, secret in enumerate((SECRET, WRONG_SECRET)):
            check(secret not in logs,
                  "%s secret: no log line holds secret key #%d" % (label, n + 1))
            check(secret not in bodies,
                  "%s secret: no metric or page holds secret key #%d" % (label, n + 1))
        if label == "right":
            for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                         "process_virtual_memory_bytes", "process_open_fds",
                         "process_max_fds", "process_start_time_seconds"):
                v = metric(bodies, name)
                check(v is not None and v >= 0, "%s present (%s)" % (name, v))
            check(metric(bodies, "process_resident_memory_bytes") > 1e6, "RSS is plausible")
            check(abs(metric(bodies, "process_start_time_seconds") - time.time()) < 600,
                  "process_start_time_seconds is near now")
    good_sim.stop()
    bad_sim.stop()


def test_reload():
    sim, _, sport = simulator("--rooms=25")
    endpoint = "http://127.0.0.1:%d" % sport
    config = app_config("reload.yml", endpoint)
    exp, port = exporter(config)
    rooms = wait_metric(port, "tencent_live_rooms", lambda v: v == 25)
    check(rooms == 25, "before reload: 25 rooms exported")
    _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
    walks_before = metric(body, "tencent_live_walks_total")

    with open(config, "w") as f:
        f.write("apps:\n  - sdkappid: nope\n")
    exp.p.send_signal(signal.SIGHUP)
    ok = wait_metric(port, "tencent_live_config_last_reload_successful", lambda v: v == 0)
    check(ok == 0, "SIGHUP with a bad config: last_reload_successful 0")
    check(re.search(r"level=error msg=\"reload failed", exp.text()) is not None,
          "a bad reload is logged")
    status, text, _ = get("http://127.0.0.1:%d/-/reload" % port, method="POST")
    check(status == 500 and "sdkappid" in text,
          "POST /-/reload with a bad config: 500 naming the key (%d)" % status)
    time.sleep(2.5)
    _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
    check(metric(body, "tencent_live_rooms") == 25, "after a bad reload: the old snapshot stays")
    check(metric(body, "tencent_live_walks_total") > walks_before,
          "after a bad reload: the old walker keeps walking")
    check(get("http://127.0.0.1:%d/-/ready" % port)[0] == 200, "after a bad reload: still ready")

    app_config("reload.yml", endpoint, "    max_room_series: 5\n")
    status, _, _ = get("http://127.0.0.1:%d/-/reload" % port, method="POST")
    check(status == 200, "POST /-/reload with a good config: 200")
    _, body, _ = get("http://127.0.0.1:%d/metrics" % port)
    check(metric(body, "tencent_live_config_last_reload_successful") == 1,
          "after a good reload: last_reload_successful 1")
    ts = metric(body, "tencent_live_config_last_reload_success_timestamp_seconds")
    check(ts is not None and abs(ts - time.time()) < 30, "reload success timestamp is now")
    omitted = wait_metric(port, "tencent_live_room_series_omitted", lambda v: v == 20)
    check(omitted == 20, "the new config applies (room_series_omitted=%s)" % omitted)

    app_config("reload.yml", endpoint, "    max_room_series: 5\n")
    exp.p.send_signal(signal.SIGHUP)
    time.sleep(1)
    applied = re.findall(r'msg="config applied" apps=1 restarted=(\d+)', exp.text())
    check(applied[-1:] == ["0"], "SIGHUP with an unchanged config keeps the walker (%s)" % applied)
    exp.stop()
    check(exp.p.returncode == 0, "exporter exits 0 after SIGTERM")
    sim.stop()


def test_web_config():
    sim, _, sport = simulator("--rooms=5")
    config = app_config("web_app.yml", "http://127.0.0.1:%d" % sport)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hashed = crypt.crypt("pa55word", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    hashed = "$2y$" + hashed[4:]
    web = write("web.yml", (
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "basic_auth_users:\n  prometheus: '%s'\n") % hashed)
    exp, port = exporter(config, "--web.config.file=" + web)
    ctx = ssl.create_default_context(cafile=path("ca.crt"))
    url = "https://localhost:%d/metrics" % port
    status, _, headers = get(url, context=ctx)
    check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic"),
          "HTTPS without credentials: 401 with WWW-Authenticate")
    auth = {"Authorization": "Basic " + base64.b64encode(b"prometheus:pa55word").decode()}
    status, body, _ = get(url, context=ctx, headers=auth)
    check(status == 200 and "tencent_live_exporter_build_info" in body,
          "HTTPS with the right password: 200")
    bad = {"Authorization": "Basic " + base64.b64encode(b"prometheus:nope").decode()}
    check(get(url, context=ctx, headers=bad)[0] == 401, "wrong password: 401")
    try:
        get("http://127.0.0.1:%d/metrics" % port, timeout=3)
        plain_refused = False
    except Exception:
        plain_refused = True
    check(plain_refused, "plain HTTP to the TLS listener is not served")
    exp.stop()

    bad_web = write("bad_web.yml", "tls_server_config:\n  cert_file: server.crt\n")
    p = subprocess.run([EXPORTER, "--config.file=" + config, "--web.listen-address=127.0.0.1:0",
                        "--web.config.file=" + bad_web], capture_output=True, text=True,
                       timeout=20)
    check(p.returncode == 1 and "bad_web.yml" in p.stderr and "key_file" in p.stderr,
          "a bad web config stops the start with a clear error: %s" % p.stderr.strip())
    sim.stop()


def main():
    try:
        make_pki()
        for test in (test_sigterm_during_walk, test_upstream_tls,
                     test_secret_never_leaks_and_process_metrics, test_reload,
                     test_web_config):
            print("--", test.__name__, flush=True)
            try:
                test()
            except Exception as e:  # a crash in one check group fails the run
                check(False, "%s raised %r" % (test.__name__, e))
            finally:
                for proc in PROCS:
                    proc.stop()
    finally:
        for proc in PROCS:
            proc.stop()
        if not FAILURES:
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            print("logs kept in", TMP)
    print("websec_e2e: %d passed, %d failed" % (len(PASSED), len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
