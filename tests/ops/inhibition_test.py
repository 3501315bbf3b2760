#!/usr/bin/env python3
"""The shipped Alertmanager inhibitions, tested on a real Alertmanager (ctest alertmanager_inhibition).

Starts Debian's `prometheus-alertmanager` on a free loopback port with config/alertmanager/alertmanager.yml
(webhooks pointed at an HTTP server inside this test, group_wait/group_interval shortened to 1 s, as
in e2e_test.py), posts alerts to its API the way Prometheus does, and checks which ones Alertmanager
itself marks suppressed (GET /api/v2/alerts: status.state, status.inhibitedBy) and which ones reach
the webhooks.

Every alert of config/prometheus/rules.yml is posted, each with the labels its firing promtool test
expects (config/prometheus/tests/alerts_test.yml), on three exporter instances:
  x  TencentLiveAuthFailing fires for app 1: the symptoms of app 1 (TencentLiveWalksFailing,
     TencentLiveSnapshotStale, TencentLiveApiErrorRatioHigh, TencentLiveTopRoomsFailing) are
     suppressed by it and never notified; the same alerts of app 2 on the same instance are not;
  y  TencentLiveExporterDown fires: every other TencentLive* alert of that job and instance is
     suppressed;
  z  every alert but the two sources: nothing is suppressed.
Python 3 standard library plus PyYAML; reuses e2e_test.py's process and webhook helpers.

Usage: inhibition_test.py [--source-dir REPO_ROOT]
"""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_test  # noqa: E402  (same directory)
import tle_testlib as testlib  # noqa: E402  (e2e_test put tests/support on the path)
from e2e_test import Processes, TestFailure, Webhook, free_port, http_ok, log, wait_for  # noqa: E402

AUTH_SYMPTOMS = {"TencentLiveWalksFailing", "TencentLiveSnapshotStale",
                 "TencentLiveApiErrorRatioHigh", "TencentLiveTopRoomsFailing"}


def shipped_alerts(source_dir):
    """{alertname: labels of its first firing promtool test}, for every alert of rules.yml."""
    prom = os.path.join(source_dir, "config", "prometheus")
    with open(os.path.join(prom, "rules.yml"), encoding="utf-8") as f:
        names = [r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]
    with open(os.path.join(prom, "tests", "alerts_test.yml"), encoding="utf-8") as f:
        tests = yaml.safe_load(f)["tests"]
    labels = {}
    for case in tests:
        for t in case.get("alert_rule_test") or []:
            if t.get("exp_alerts") and t["alertname"] not in labels:
                labels[t["alertname"]] = dict(t["exp_alerts"][0]["exp_labels"])
    missing = [n for n in names if n not in labels]
    if missing:
        raise TestFailure(f"no firing promtool test gives the labels of {missing}")
    return {n: labels[n] for n in names}


def alert_labels(name, labels, instance, sdkappid):
    out = {k: str(v) for k, v in labels.items()}
    out["alertname"] = name
    if "instance" in out:
        out["instance"] = instance
    if "sdkappid" in out:
        out["sdkappid"] = sdkappid
    return out


def post_alerts(am, alerts):
    now = datetime.datetime.now(datetime.timezone.utc)
    body = json.dumps([{"labels": a, "annotations": {"summary": "inhibition test"},
                        "startsAt": now.isoformat(),
                        "endsAt": (now + datetime.timedelta(minutes=10)).isoformat(),
                        "generatorURL": "http://127.0.0.1/inhibition_test"} for a in alerts])
    req = urllib.request.Request(f"{am}/api/v2/alerts", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status != 200:
            raise TestFailure(f"POST /api/v2/alerts answered {resp.status}")


def alert_states(am):
    """{(alertname, instance, sdkappid): (state, [names of the alerts inhibiting it])}."""
    with urllib.request.urlopen(f"{am}/api/v2/alerts", timeout=10) as resp:
        alerts = json.loads(resp.read())
    by_fingerprint = {a["fingerprint"]: a["labels"]["alertname"] for a in alerts}
    states = {}
    for a in alerts:
        l = a["labels"]
        key = (l["alertname"], l.get("instance", ""), l.get("sdkappid", ""))
        states[key] = (a["status"]["state"],
                       sorted(by_fingerprint.get(f, f) for f in a["status"]["inhibitedBy"] or []))
    return states


def run(args):
    source_dir = os.path.abspath(args.source_dir)
    alertmanager_bin = e2e_test.find_tool("alertmanager", "prometheus-alertmanager")
    shipped = shipped_alerts(source_dir)
    for name in AUTH_SYMPTOMS | {"TencentLiveAuthFailing", "TencentLiveExporterDown"}:
        if name not in shipped:
            raise TestFailure(f"{name} is not in config/prometheus/rules.yml")

    # The alerts to post and, for each, whom it must be inhibited by (empty: must stay active).
    posted, expected = [], {}

    def add(name, instance, sdkappid, inhibited_by):
        labels = alert_labels(name, shipped[name], instance, sdkappid)
        key = (name, labels.get("instance", ""), labels.get("sdkappid", ""))
        if key in expected:
            return
        posted.append(labels)
        expected[key] = inhibited_by

    sources = ("TencentLiveExporterDown", "TencentLiveAuthFailing")
    add("TencentLiveAuthFailing", "x:9877", "1", [])
    for name in shipped:
        if name in sources + ("TencentLiveExporterAbsent",):
            continue
        add(name, "x:9877", "1", ["TencentLiveAuthFailing"] if name in AUTH_SYMPTOMS else [])
        add(name, "x:9877", "2", [])
    # (Alertmanager names only the first inhibit rule that matches: AuthFailing stays off y.)
    add("TencentLiveExporterDown", "y:9877", "1", [])
    for name in shipped:
        if name not in sources + ("TencentLiveExporterAbsent",):
            add(name, "y:9877", "1", ["TencentLiveExporterDown"])
    for name in shipped:
        if name not in sources:
            add(name, "z:9877", "1", [])

    workdir = tempfile.mkdtemp(prefix="tle-inhibition-")
    procs = Processes(workdir)
    webhook = Webhook()
    ok = False
    try:
        am_port = free_port()
        am = f"http://127.0.0.1:{am_port}"
        cfg = os.path.join(workdir, "alertmanager.yml")
        with open(cfg, "w", encoding="utf-8") as f:
            yaml.safe_dump(e2e_test.test_alertmanager_config(source_dir, webhook.port), f,
                           sort_keys=False)
        procs.start("alertmanager", [alertmanager_bin, f"--config.file={cfg}",
                                     f"--storage.path={os.path.join(workdir, 'data')}",
                                     f"--web.listen-address=127.0.0.1:{am_port}",
                                     "--cluster.listen-address="])
        wait_for("Alertmanager to be ready", lambda: http_ok(f"{am}/-/ready"), 30, procs)

        post_alerts(am, posted)
        log(f"posted {len(posted)} alerts")
        states = wait_for("Alertmanager to hold every posted alert",
                          lambda: (lambda s: s if set(expected) <= set(s) and all(
                              st != "unprocessed" for st, _ in s.values()) else None)(
                              alert_states(am)), 20, procs)
        failures = []
        for key, inhibited_by in sorted(expected.items()):
            state, by = states[key]
            want = "suppressed" if inhibited_by else "active"
            if state != want or by != inhibited_by:
                failures.append(f"{key}: {state} inhibited by {by}; expected {want}"
                                + (f" by {inhibited_by}" if inhibited_by else ""))
        log(f"checked the state of {len(expected)} alerts")

        # Notifications: the unsuppressed alerts of app 2 arrive; the suppressed ones of app 1 never.
        def arrived(name, instance, sdkappid):
            with webhook.lock:
                return any(a["labels"].get("alertname") == name and
                           a["labels"].get("instance") == instance and
                           a["labels"].get("sdkappid", "") == sdkappid
                           for _, n in webhook.notifications for a in n.get("alerts", []))

        controls = [("TencentLiveAuthFailing", "x:9877", "1")] + [
            (n, "x:9877", "2") for n in sorted(AUTH_SYMPTOMS)]
        wait_for("the active alerts at the webhooks",
                 lambda: all(arrived(*c) for c in controls), 30, procs, interval=0.2)
        # The suppressed groups were due at the same group_wait as the controls; give them two
        # more group intervals (1 s each) to show up if inhibition did not hold.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for key, inhibited_by in expected.items():
                if inhibited_by and arrived(*key):
                    failures.append(f"{key} was notified although it is inhibited")
                    expected[key] = []
            time.sleep(0.2)
        if failures:
            raise TestFailure("inhibition:\n  " + "\n  ".join(failures))
        suppressed = sum(1 for v in expected.values() if v)
        log(f"PASS: {suppressed} alerts suppressed, {len(expected) - suppressed} active")
        ok = True
    finally:
        procs.stop_all()
        webhook.stop()
        if not ok:
            procs.dump_logs()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir",
                        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    return testlib.run_main(parser, run, TestFailure)


if __name__ == "__main__":
    sys.exit(main())
