#!/usr/bin/env python3
"""End-to-end test (ctest e2e): simulator -> exporter -> Prometheus -> Alertmanager -> webhook.

Starts, on free loopback ports and in a temporary directory:
  * tencent_live_simulator --rooms=60 --churn (the fake upstream API; rooms open, close and grow),
  * tencent_live_exporter, walking the simulator every 2 s, with top rooms on (count 10, every 2 s),
    category and activity status names and a constant label env="e2e" (see PENDING_FAMILIES),
  * a real Prometheus (Debian `prometheus`), scraping the exporter every 1 s and evaluating the
    shipped rules every 1 s. The rules are config/prometheus/*rules*.yml, unchanged except that
    every alert's `for:` is shortened to 5s (the shipped durations are minutes long),
  * a real Alertmanager (Debian `prometheus-alertmanager`), with the shipped
    config/alertmanager/alertmanager.yml whose webhook URLs are pointed at an HTTP server inside this
    test and whose group_wait/group_interval are shortened to 1 s,
and asserts, in this order:
  1. Prometheus sees the exporter's target up and the exporter's room data;
  2. with the simulator answering every request with ErrorCode 100001 (fault internal_error), the
     alert TencentLiveWalksFailing fires and reaches the webhook of its severity route (warning ->
     /chat);
  3. with the simulator rejecting the UserSig (fault bad_signature, ErrorCode 70003), the alert
     TencentLiveAuthFailing fires and reaches the critical route (/pager);
     and Alertmanager itself marks TencentLiveWalksFailing of that app suppressed by it (the
     inhibition in config/alertmanager/alertmanager.yml; tests/ops/inhibition_test.py checks every
     inhibition rule);
  4. once the faults are cleared and walks complete again, every query of every panel of every
     dashboard, and every label_values() query of their variables, returns data from Prometheus
     ($job, $instance, $sdkappid and $room_id filled in with the real values,
     $__rate_interval = 15s). The failure phases run first so that the error and retry panels have
     series to show.

PENDING_FAMILIES below lists metric families the dashboards and rules already use but the exporter
does not export yet (their C++ lands separately). A query that reads one of them, directly or
through a recording rule, is only checked to be accepted by Prometheus (it parses and evaluates),
not to return data, and the test says so in its output. Every other query must return data. A
family on the list that Prometheus does have data for fails the test: take it off the list. While
the list names top-rooms families, the exporter's config may fall back to one without the new keys
(top_rooms, category_names, labels) if the exporter refuses them; once the list is empty, it must
accept them.
Every process is stopped in a `finally` block (and gets SIGTERM if this script dies). Python 3
standard library plus PyYAML.

Usage: e2e_test.py --exporter PATH --simulator PATH [--source-dir REPO_ROOT] [--keep]
"""
import argparse
import ctypes
import glob
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import tle_testlib as testlib  # noqa: E402
from tle_testlib import free_port, http_get, http_post  # noqa: E402,F401 (inhibition_test too)

# Families the exporter does not export yet (see the docstring). Empty this list when they land.
PENDING_FAMILIES = set()  # issues 12 and 13 landed: every family above has data
# Config keys of issues 12 and 13 the e2e exporter runs with (see the docstring).
NEW_CONFIG_DEFAULTS = {
    "top_rooms": {"count": 10, "interval": "2s"},
    "category_names": {1: "music", 2: "gaming"},
    "activity_status_names": {0: "idle", 1: "live"},
}
NEW_CONFIG_APP = {"labels": {"env": "e2e"}}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
NAME_RE = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")

SECRET = "demo-secret-key-not-for-production"
SDKAPPID = "1400000000"
JOB = "tencent_live"
RATE_INTERVAL = "15s"


class TestFailure(Exception):
    pass


def log(msg):
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG: the child gets SIGTERM if this test process dies without cleaning up.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


class Processes:
    """Started child processes, their logs, and their teardown."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv, env=None):
        path = os.path.join(self.workdir, f"{name}.log")
        out = open(path, "wb")
        log(f"start {name}: {' '.join(argv)}")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=self.workdir, preexec_fn=_die_with_parent)
        out.close()
        self.procs.append((name, proc, path))
        return proc

    def check_alive(self):
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise TestFailure(f"{name} exited early with status {proc.returncode}")

    def log_text(self, name):
        for n, _, path in self.procs:
            if n == name:
                with open(path, "rb") as f:
                    return f.read().decode("utf-8", "replace")
        return ""

    def stop_all(self):
        for name, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for name, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()

    def dump_logs(self, lines=40):
        for name, _, path in self.procs:
            with open(path, "rb") as f:
                tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
            print(f"----- last {len(tail)} lines of {name} ({path}) -----")
            print("\n".join(tail))


class Webhook:
    """Alertmanager's webhook receiver: keeps every notification it is sent."""

    def __init__(self):
        self.lock = threading.Lock()
        self.notifications = []  # (path, payload)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode("utf-8", "replace")}
                with outer.lock:
                    outer.notifications.append((self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def find(self, alertname, status="firing"):
        with self.lock:
            for path, payload in self.notifications:
                for alert in payload.get("alerts", []):
                    if (alert.get("labels", {}).get("alertname") == alertname and
                            alert.get("status") == status):
                        return path, alert
        return None

    def summary(self):
        with self.lock:
            return [(p, [(a.get("labels", {}).get("alertname"), a.get("status"))
                         for a in n.get("alerts", [])]) for p, n in self.notifications]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(what, predicate, timeout, procs, interval=0.5):
    """Polls predicate() until it returns a truthy value; fails after `timeout` seconds."""
    try:
        return testlib.wait_until(what, predicate, timeout, interval=interval,
                                  alive=procs.check_alive,
                                  errors=(OSError, urllib.error.URLError, ValueError, KeyError))
    except TimeoutError as e:
        raise TestFailure(str(e)) from None


def http_ok(url):
    try:
        return http_get(url)[0] == 200
    except urllib.error.HTTPError:
        return False


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(url, timeout=10)
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise ValueError(f"{path} {params}: {doc}")
        return doc["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def query_range(self, expr, seconds=60, step=5):
        end = time.time()
        return self.api("query_range", query=expr, start=end - seconds, end=end, step=step)["result"]

    def value(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def find_tool(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise TestFailure(f"none of {names} found on PATH")


def test_rules(source_dir, dest_dir):
    """Copies the shipped rule files with every alert's `for:` shortened to 5s."""
    paths = []
    for src in sorted(glob.glob(os.path.join(source_dir, "config", "prometheus", "*rules*.yml"))):
        with open(src, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule and "for" in rule:
                    rule["for"] = "5s"
        dest = os.path.join(dest_dir, os.path.basename(src))
        with open(dest, "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        paths.append(dest)
    if not paths:
        raise TestFailure("no rule files in config/prometheus")
    return paths


def test_alertmanager_config(source_dir, webhook_port):
    """The shipped Alertmanager config with its webhooks pointed at the test's server."""
    with open(os.path.join(source_dir, "config", "alertmanager", "alertmanager.yml"),
              encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for receiver in doc.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            path = urllib.parse.urlparse(hook["url"]).path or "/"
            hook["url"] = f"http://127.0.0.1:{webhook_port}{path}"

    def shorten(route):
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            shorten(child)

    doc["route"]["group_wait"] = "1s"
    doc["route"]["group_interval"] = "1s"
    shorten(doc["route"])
    return doc


def dashboard_queries(source_dir):
    """(where, expr, is_instant) of every panel target, and (where, selector, label) of every
    label_values() variable, over all dashboards."""
    targets, variables = [], []
    for path in sorted(glob.glob(os.path.join(source_dir, "dashboards", "*.json"))):
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
        name = os.path.basename(path)
        for v in dash.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            inner = q.strip()[len("label_values("):-1]
            selector, label = inner.rsplit(",", 1)
            variables.append((f"{name} variable {v['name']}", selector.strip(), label.strip()))
        for p in dash.get("panels", []):
            for t in p.get("targets", []):
                targets.append((f"{name} panel {p['title']!r} query {t['refId']}", t["expr"],
                                 bool(t.get("instant"))))
    return targets, variables


def recording_rules(source_dir):
    """{record name: expr} of the shipped recording rules."""
    records = {}
    for path in sorted(glob.glob(os.path.join(source_dir, "config", "prometheus", "*rules*.yml"))):
        with open(path, encoding="utf-8") as f:
            for group in (yaml.safe_load(f) or {}).get("groups", []):
                for rule in group.get("rules", []):
                    if "record" in rule:
                        records[rule["record"]] = rule["expr"]
    return records


def family(name):
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[:-len(suffix)] in PENDING_FAMILIES:
            return name[:-len(suffix)]
    return name


def pending_families_of(expr, records, seen=None):
    """The PENDING_FAMILIES an expression reads, directly or through recording rules."""
    seen = set() if seen is None else seen
    found = set()
    for name in NAME_RE.findall(expr):
        if family(name) in PENDING_FAMILIES:
            found.add(family(name))
        elif name in records and name not in seen:
            seen.add(name)
            found |= pending_families_of(records[name], records, seen)
    return found


def exporter_config(path, sim, with_new_keys):
    defaults = {"interval": "2s", "stale_after": "1m"}
    app = {"sdkappid": int(SDKAPPID), "endpoint": sim, "identifier": "administrator",
           "secret_key_env": "TENCENT_LIVE_SECRET_KEY"}
    if with_new_keys:
        defaults.update(NEW_CONFIG_DEFAULTS)
        app.update(NEW_CONFIG_APP)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"defaults": defaults, "apps": [app]}, f)


def alertmanager_alerts(base, alertname):
    url = f"{base}/api/v2/alerts?" + urllib.parse.urlencode({"filter": f'alertname="{alertname}"'})
    return json.loads(http_get(url)[1])


def substitute(expr, values):
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${%s}" % name, values[name]).replace("$" + name, values[name])
    return expr


def run(args):
    source_dir = os.path.abspath(args.source_dir)
    prometheus_bin = find_tool("prometheus")
    alertmanager_bin = find_tool("alertmanager", "prometheus-alertmanager")
    for binary in (args.exporter, args.simulator):
        if not os.access(binary, os.X_OK):
            raise TestFailure(f"not an executable: {binary}")

    workdir = tempfile.mkdtemp(prefix="tle-e2e-")
    procs = Processes(workdir)
    webhook = Webhook()
    ok = False
    try:
        sim_port, exp_port, prom_port, am_port = (free_port() for _ in range(4))
        sim = f"http://127.0.0.1:{sim_port}"

        # --- simulator and exporter ---------------------------------------------------------
        procs.start("simulator", [args.simulator, f"--port={sim_port}", "--rooms=60", "--churn"])
        wait_for("the simulator to listen",
                 lambda: "listening on" in procs.log_text("simulator"), 20, procs)

        exporter_cfg = os.path.join(workdir, "exporter.yml")
        env = dict(os.environ, TENCENT_LIVE_SECRET_KEY=SECRET)
        exporter_config(exporter_cfg, sim, with_new_keys=True)
        check = subprocess.run([args.exporter, "--config.check", f"--config.file={exporter_cfg}"],
                               capture_output=True, text=True, env=env, timeout=30)
        if check.returncode != 0:
            reason = (check.stdout + check.stderr).strip()
            if not PENDING_FAMILIES:
                raise TestFailure(f"the exporter refuses the config keys of issues 12/13: {reason}")
            log(f"PENDING: the exporter refuses the new config keys ({reason}); running without "
                "top_rooms, category_names, activity_status_names and labels")
            exporter_config(exporter_cfg, sim, with_new_keys=False)
        procs.start("exporter", [args.exporter, f"--config.file={exporter_cfg}",
                                 f"--web.listen-address=127.0.0.1:{exp_port}"], env=env)
        wait_for("the exporter to be ready (/-/ready)",
                 lambda: http_ok(f"http://127.0.0.1:{exp_port}/-/ready"), 30, procs)

        # --- Alertmanager -------------------------------------------------------------------
        am_dir = os.path.join(workdir, "alertmanager")
        os.makedirs(am_dir)
        am_cfg = os.path.join(workdir, "alertmanager.yml")
        with open(am_cfg, "w", encoding="utf-8") as f:
            yaml.safe_dump(test_alertmanager_config(source_dir, webhook.port), f, sort_keys=False)
        procs.start("alertmanager", [alertmanager_bin, f"--config.file={am_cfg}",
                                     f"--storage.path={am_dir}",
                                     f"--web.listen-address=127.0.0.1:{am_port}",
                                     "--cluster.listen-address="])
        wait_for("Alertmanager to be ready",
                 lambda: http_ok(f"http://127.0.0.1:{am_port}/-/ready"), 30, procs)

        # --- Prometheus ---------------------------------------------------------------------
        rules = test_rules(source_dir, workdir)
        prom_cfg = os.path.join(workdir, "prometheus.yml")
        with open(prom_cfg, "w", encoding="utf-8") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": rules,
                "alerting": {"alertmanagers": [
                    {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
                "scrape_configs": [{"job_name": JOB, "scrape_timeout": "1s",
                                    "static_configs": [{"targets": [f"127.0.0.1:{exp_port}"]}]}],
            }, f, sort_keys=False)
        prom_data = os.path.join(workdir, "prometheus-data")
        procs.start("prometheus", [prometheus_bin, f"--config.file={prom_cfg}",
                                   f"--storage.tsdb.path={prom_data}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}"])
        prom = Prometheus(prom_port)
        wait_for("Prometheus to be ready",
                 lambda: http_ok(f"{prom.base}/-/ready"), 60, procs)

        # --- 1. the exporter's target is up and its data arrives ---------------------------
        instance = f"127.0.0.1:{exp_port}"
        wait_for("the exporter's target to be up in Prometheus",
                 lambda: prom.value(f'up{{job="{JOB}", instance="{instance}"}}') == 1, 60, procs)
        log("target up")
        wait_for("a complete walk in Prometheus (tencent_live_up == 1, 60 rooms)",
                 lambda: prom.value(f'tencent_live_up{{sdkappid="{SDKAPPID}"}}') == 1 and
                 prom.value(f'tencent_live_rooms{{sdkappid="{SDKAPPID}"}}') == 60, 60, procs)
        log("room data in Prometheus")
        if webhook.find("TencentLiveWalksFailing"):
            raise TestFailure("TencentLiveWalksFailing fired while the simulator was healthy")

        # --- 2. walks fail: TencentLiveWalksFailing reaches the warning route ----------------
        status, body = http_post(f"{sim}/-/sim/faults?set=internal_error:1")
        log(f"simulator faults set internal_error:1 -> {status} {body.strip()[:200]}")
        path, alert = wait_for("TencentLiveWalksFailing at the webhook",
                               lambda: webhook.find("TencentLiveWalksFailing"), 120, procs)
        log(f"TencentLiveWalksFailing arrived at {path}: {alert['labels']}")
        labels = alert["labels"]
        if path != "/chat" or labels.get("severity") != "warning":
            raise TestFailure(f"TencentLiveWalksFailing went to {path} with {labels}; "
                              "expected the warning route /chat")
        if labels.get("sdkappid") != SDKAPPID or labels.get("instance") != instance:
            raise TestFailure(f"TencentLiveWalksFailing has the wrong labels: {labels}")
        reasons = prom.query(f'increase(tencent_live_walk_failures_total{{reason="api_error"}}[1m]) > 0')
        if not reasons:
            raise TestFailure("walks failed but tencent_live_walk_failures_total{reason=\"api_error\"} "
                              "did not grow")

        # --- 3. credentials rejected: TencentLiveAuthFailing reaches the critical route -------
        http_post(f"{sim}/-/sim/faults?clear=1")
        status, body = http_post(f"{sim}/-/sim/faults?set=bad_signature:1")
        log(f"simulator faults set bad_signature:1 -> {status} {body.strip()[:200]}")
        path, alert = wait_for("TencentLiveAuthFailing at the webhook",
                               lambda: webhook.find("TencentLiveAuthFailing"), 120, procs)
        log(f"TencentLiveAuthFailing arrived at {path}: {alert['labels']}")
        if path != "/pager" or alert["labels"].get("severity") != "critical":
            raise TestFailure(f"TencentLiveAuthFailing went to {path}; expected /pager")
        am = f"http://127.0.0.1:{am_port}"

        def walks_failing_inhibited():
            auth = {a["fingerprint"] for a in alertmanager_alerts(am, "TencentLiveAuthFailing")
                    if a["labels"].get("sdkappid") == SDKAPPID}
            return any(a["labels"].get("sdkappid") == SDKAPPID and
                       a["status"]["state"] == "suppressed" and
                       auth & set(a["status"]["inhibitedBy"] or [])
                       for a in alertmanager_alerts(am, "TencentLiveWalksFailing"))
        wait_for("Alertmanager to inhibit TencentLiveWalksFailing by TencentLiveAuthFailing",
                 walks_failing_inhibited, 60, procs)
        log("TencentLiveWalksFailing is suppressed by TencentLiveAuthFailing in Alertmanager")

        # --- 4. recovery, then every dashboard query returns data ---------------------------
        http_post(f"{sim}/-/sim/faults?clear=1")
        log("simulator faults cleared")
        wait_for("walks to complete again (tencent_live_up == 1)",
                 lambda: prom.value(f'tencent_live_up{{sdkappid="{SDKAPPID}"}}') == 1, 60, procs)
        time.sleep(5)  # a few more scrapes and rule evaluations after the recovery

        # The Room dashboard's room: one of the top rooms (members and engagement exist only for
        # those), else the most-viewed room.
        top = (prom.query(f'topk(1, tencent_live_room_members{{sdkappid="{SDKAPPID}"}})') or
               prom.query(f'topk(1, tencent_live_room_views{{sdkappid="{SDKAPPID}"}})'))
        if not top:
            raise TestFailure("no room_id values in Prometheus")
        room_id = top[0]["metric"]["room_id"]
        values = {"job": JOB, "instance": instance, "sdkappid": SDKAPPID, "room_id": room_id,
                  "__rate_interval": RATE_INTERVAL, "__interval": "5s", "__range": "5m"}
        targets, variables = dashboard_queries(source_dir)
        records = recording_rules(source_dir)
        failures, pending_queries = [], []
        for name in sorted(PENDING_FAMILIES):
            if prom.query(f'count({{__name__=~"{name}(_bucket|_count|_sum)?"}})'):
                failures.append(f"{name} is exported now: remove it from PENDING_FAMILIES in "
                                "tests/ops/e2e_test.py")
        for where, selector, label in variables:
            series = prom.api("series", **{"match[]": substitute(selector, values),
                                           "start": time.time() - 300})
            found = sorted({s[label] for s in series if label in s})
            if not found:
                failures.append(f"{where}: label_values({substitute(selector, values)}, {label}) "
                                "is empty")
        for where, expr, instant in targets:
            query = substitute(expr, values)
            try:
                result = prom.query(query) if instant else prom.query_range(query)
            except (ValueError, urllib.error.HTTPError) as e:
                failures.append(f"{where}: query failed: {query}: {e}")
                continue
            pending = pending_families_of(expr, records)
            if pending:
                pending_queries.append((where, sorted(pending)))
            elif not result:
                failures.append(f"{where}: no data for {query}")
        log(f"checked {len(targets)} panel queries and {len(variables)} variable queries")
        if pending_queries:
            log(f"PENDING: {len(pending_queries)} panel queries read families the exporter does "
                "not export yet; they were checked to evaluate, not to return data:")
            for where, pending in pending_queries:
                log(f"  {where}: {', '.join(pending)}")
        if failures:
            raise TestFailure("dashboard queries without data:\n  " + "\n  ".join(failures))
        ok = True
        log("PASS")
    finally:
        procs.stop_all()
        webhook_summary = webhook.summary()
        webhook.stop()
        if not ok:
            log(f"webhook notifications: {webhook_summary}")
            procs.dump_logs()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--simulator", required=True)
    parser.add_argument("--source-dir",
                        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return testlib.run_main(parser, run, TestFailure)


if __name__ == "__main__":
    sys.exit(main())
