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
import os
import re
import signal
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import tle_testlib as testlib  # noqa: E402

EXPORTER, SIMULATOR = sys.argv[1], sys.argv[2]
SECRET = "e2e-secret-0f9c1d7b5a3e-do-not-leak"
WRONG_SECRET = "e2e-wrong-secret-77aa3c19-also-private"
SDKAPPID = 1400000042
TMP = testlib.TempDir("tle_websec_e2e_")
PROCS = []
check = testlib.Checks()


def simulator(*flags, secret=SECRET):
    sim = testlib.Simulator(SIMULATOR, ["--sdkappid=%d" % SDKAPPID, "--secret-key=" + secret,
                                        *flags], TMP.path("sim%d.log" % len(PROCS)))
    PROCS.append(sim)
    sim.wait_listening(15)
    return sim


def app_config(name, endpoint, extra=""):
    key_file = TMP.write("secret.key", SECRET + "\n")
    return TMP.write(name, (
        "defaults:\n  interval: 1s\n  request_timeout: 5s\n"
        "apps:\n  - sdkappid: %d\n    endpoint: %s\n    identifier: administrator\n"
        "    secret_key_file: %s\n%s") % (SDKAPPID, endpoint, key_file, extra))


def exporter(config, *flags, name=None):
    exp = testlib.Exporter(EXPORTER, ["--config.file=" + config, *flags],
                           TMP.path((name or "exp%d" % len(PROCS)) + ".log"))
    PROCS.append(exp)
    exp.wait_listening(15)
    return exp


get = testlib.fetch


def metrics_text(exp):
    return get(exp.base + "/metrics")[1]


def metric(text, name, **labels):
    """The one value of `name` with `labels` in an exposition text, None when absent."""
    return testlib.value_or_none(testlib.parse_exposition(text), name, **labels)


def wait_metric(exp, name, pred, timeout=20, **labels):
    """The value of `name` once pred(value) holds, else the last one seen (None: absent)."""
    seen = [None]

    def holds():
        seen[0] = metric(metrics_text(exp), name, **labels)
        return seen[0] is not None and pred(seen[0])
    try:
        testlib.wait_until(name, holds, timeout)
    except TimeoutError:
        pass
    return seen[0]


def test_sigterm_during_walk():
    sim = simulator("--latency=3000")
    config = app_config("slow.yml", sim.base)
    exp = exporter(config)
    # The first request reaches the simulator, which holds its answer for 3 s.
    started = re.compile(r'"requests"\s*:\s*[1-9]')
    try:
        stats = testlib.wait_until("the first request at the simulator", lambda: (
            lambda text: text if started.search(text) else None)(get(sim.base + "/-/sim/stats")[1]),
            2.5, interval=0.05)
    except TimeoutError:
        stats = get(sim.base + "/-/sim/stats")[1]
    body = metrics_text(exp)
    in_flight = (metric(body, "tencent_live_walks_total") == 1 and
                 metric(body, "tencent_live_last_success_timestamp_seconds") is None and
                 started.search(stats) is not None)
    check(in_flight, "a walk is in flight when SIGTERM comes (%s)" % stats.strip())
    start = time.time()
    exp.signal(signal.SIGTERM)
    try:
        rc = exp.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - start
    check(rc == 0, "SIGTERM during a walk exits 0 (rc=%s, %.2fs)" % (rc, took))
    check(took < 5, "SIGTERM during a walk exits within 5 s (%.2fs)" % took)
    exp.stop()
    sim.stop()


def test_upstream_tls():
    sim = simulator("--tls-cert=" + TMP.path("server.crt"), "--tls-key=" + TMP.path("server.key"))
    check(sim.scheme == "https", "simulator serves https")
    endpoint = "https://localhost:%d" % sim.port

    exp = exporter(app_config("tls_noca.yml", endpoint))
    errors = wait_metric(exp, "tencent_live_api_errors_total", lambda v: v > 0, code="tls")
    check(errors is not None and errors > 0,
          "private CA without ca_file: refused as a tls error (%s)" % errors)
    check(metric(metrics_text(exp), "tencent_live_up") == 0, "private CA without ca_file: up 0")
    exp.stop()

    exp = exporter(app_config("tls_ca.yml", endpoint, "    ca_file: %s\n" % TMP.path("ca.crt")))
    up = wait_metric(exp, "tencent_live_up", lambda v: v == 1)
    check(up == 1, "private CA with ca_file: walk completes (up=%s)" % up)
    exp.stop()

    exp = exporter(app_config("tls_insecure.yml", endpoint, "    insecure_skip_verify: true\n"))
    up = wait_metric(exp, "tencent_live_up", lambda v: v == 1)
    check(up == 1, "insecure_skip_verify: walk completes")
    check(re.search(r"level=warn .*insecure_skip_verify", exp.log_text()) is not None,
          "insecure_skip_verify is logged as a warning")
    exp.stop()
    sim.stop()


def test_secret_never_leaks_and_process_metrics():
    good_sim = simulator("--rooms=30")
    bad_sim = simulator("--rooms=30", secret=WRONG_SECRET)
    for label, sim in (("right", good_sim), ("wrong", bad_sim)):
        config = app_config("leak_%s.yml" % label, sim.base)
        exp = exporter(config, "--log.level=debug", name="leak_" + label)
        if label == "right":
            up = wait_metric(exp, "tencent_live_up", lambda v: v == 1)
            check(up == 1, "right secret: walk completes")
        else:
            errs = wait_metric(exp, "tencent_live_walk_failures_total", lambda v: v > 0,
                               reason="api_error")
            check(errs is not None and errs > 0, "wrong secret: walks fail with api_error")
        exposition = metrics_text(exp)
        bodies = exposition
        for p in ("/", "/-/ready", "/-/healthy"):
            bodies += get(exp.base + p)[1]
        get(exp.base + "/-/reload", method="POST")
        exp.stop()
        logs = exp.log_text()
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
                v = metric(exposition, name)
                check(v is not None and v >= 0, "%s present (%s)" % (name, v))
            check(metric(exposition, "process_resident_memory_bytes") > 1e6, "RSS is plausible")
            check(abs(metric(exposition, "process_start_time_seconds") - time.time()) < 600,
                  "process_start_time_seconds is near now")
    good_sim.stop()
    bad_sim.stop()


def applied_lines(exp):
    return re.findall(r'msg="config applied" apps=1 restarted=(\d+)', exp.log_text())


def test_reload():
    sim = simulator("--rooms=25")
    config = app_config("reload.yml", sim.base)
    exp = exporter(config)
    rooms = wait_metric(exp, "tencent_live_rooms", lambda v: v == 25)
    check(rooms == 25, "before reload: 25 rooms exported")
    walks_before = metric(metrics_text(exp), "tencent_live_walks_total")

    with open(config, "w") as f:
        f.write("apps:\n  - sdkappid: nope\n")
    exp.signal(signal.SIGHUP)
    ok = wait_metric(exp, "tencent_live_config_last_reload_successful", lambda v: v == 0)
    check(ok == 0, "SIGHUP with a bad config: last_reload_successful 0")
    check(re.search(r"level=error msg=\"reload failed", exp.log_text()) is not None,
          "a bad reload is logged")
    status, text, _ = get(exp.base + "/-/reload", method="POST")
    check(status == 500 and "sdkappid" in text,
          "POST /-/reload with a bad config: 500 naming the key (%d)" % status)
    walks = wait_metric(exp, "tencent_live_walks_total", lambda v: v > walks_before, timeout=10)
    check(walks is not None and walks > walks_before,
          "after a bad reload: the old walker keeps walking (%s -> %s)" % (walks_before, walks))
    body = metrics_text(exp)
    check(metric(body, "tencent_live_rooms") == 25, "after a bad reload: the old snapshot stays")
    check(get(exp.base + "/-/ready")[0] == 200, "after a bad reload: still ready")

    app_config("reload.yml", sim.base, "    max_room_series: 5\n")
    status, _, _ = get(exp.base + "/-/reload", method="POST")
    check(status == 200, "POST /-/reload with a good config: 200")
    body = metrics_text(exp)
    check(metric(body, "tencent_live_config_last_reload_successful") == 1,
          "after a good reload: last_reload_successful 1")
    ts = metric(body, "tencent_live_config_last_reload_success_timestamp_seconds")
    check(ts is not None and abs(ts - time.time()) < 30, "reload success timestamp is now")
    omitted = wait_metric(exp, "tencent_live_room_series_omitted", lambda v: v == 20)
    check(omitted == 20, "the new config applies (room_series_omitted=%s)" % omitted)

    app_config("reload.yml", sim.base, "    max_room_series: 5\n")
    seen = len(applied_lines(exp))
    exp.signal(signal.SIGHUP)
    try:
        testlib.wait_until("the SIGHUP reload", lambda: len(applied_lines(exp)) > seen, 10,
                           interval=0.05)
    except TimeoutError:
        pass
    applied = applied_lines(exp)
    check(len(applied) > seen and applied[-1:] == ["0"],
          "SIGHUP with an unchanged config keeps the walker (%s)" % applied)
    exp.stop()
    check(exp.proc.returncode == 0, "exporter exits 0 after SIGTERM")
    sim.stop()


def test_web_config():
    sim = simulator("--rooms=5")
    config = app_config("web_app.yml", sim.base)
    hashed = "$2y$" + testlib.bcrypt_hash("pa55word", rounds=16)[4:]
    web = TMP.write("web.yml", (
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "basic_auth_users:\n  prometheus: '%s'\n") % hashed)
    exp = exporter(config, "--web.config.file=" + web)
    ctx = ssl.create_default_context(cafile=TMP.path("ca.crt"))
    url = "https://localhost:%d/metrics" % exp.port
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
        get("http://127.0.0.1:%d/metrics" % exp.port, timeout=3)
        plain_refused = False
    except Exception:
        plain_refused = True
    check(plain_refused, "plain HTTP to the TLS listener is not served")
    exp.stop()

    bad_web = TMP.write("bad_web.yml", "tls_server_config:\n  cert_file: server.crt\n")
    p = subprocess.run([EXPORTER, "--config.file=" + config, "--web.listen-address=127.0.0.1:0",
                        "--web.config.file=" + bad_web], capture_output=True, text=True,
                       timeout=20)
    check(p.returncode == 1 and "bad_web.yml" in p.stderr and "key_file" in p.stderr,
          "a bad web config stops the start with a clear error: %s" % p.stderr.strip())
    sim.stop()


def main():
    try:
        testlib.make_pki(TMP.root, "tle-e2e-ca")
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
    return check.summary(TMP)


if __name__ == "__main__":
    sys.exit(main())
