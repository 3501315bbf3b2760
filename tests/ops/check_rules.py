#!/usr/bin/env python3
"""Checks the shipped Prometheus rules and Alertmanager config (ctests rules_check, alertmanager_check).

check_rules.py rules [REPO_ROOT]
    config/prometheus/generate.py --check (rules.yml is what the generator writes); promtool check
    rules on config/prometheus/*rules*.yml, promtool check config on the scrape example, promtool
    test rules on config/prometheus/tests/*.yml; then: every alert has a severity (critical,
    warning or info), a static summary (no template), a templated description, a runbook section
    in docs/operations.md and an absolute runbook_url to that section, all on one base URL (no
    repo-relative `runbook`); every alert is tested at least once firing and at least once not
    firing; every recording rule is evaluated by at least one promtool test.
check_rules.py alertmanager [REPO_ROOT]
    amtool check-config on config/alertmanager/alertmanager.yml, and amtool's route test: each
    severity reaches its receiver.
Needs Python 3, PyYAML, and promtool / amtool on PATH.
"""
import glob
import os
import re
import subprocess
import sys

import yaml

SEVERITIES = {"critical", "warning", "info"}


def run(cmd, errors):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    print(f"$ {' '.join(cmd)}\n{out}\n")
    if proc.returncode != 0:
        errors.append(f"{' '.join(cmd)} exited {proc.returncode}")
    return proc.stdout.strip()


def load_alerts(rule_files):
    alerts = {}
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            for group in (yaml.safe_load(f) or {}).get("groups", []):
                for rule in group.get("rules", []):
                    if "alert" in rule:
                        alerts[rule["alert"]] = rule
    return alerts


def anchor(heading):
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def check_rules(root):
    errors = []
    prom = os.path.join(root, "config", "prometheus")
    rule_files = sorted(glob.glob(os.path.join(prom, "*rules*.yml")))
    tests = sorted(glob.glob(os.path.join(prom, "tests", "*.yml")))
    if not rule_files or not tests:
        return [f"no rule files or no rule tests under {prom}"]
    run([sys.executable, os.path.join(prom, "generate.py"), "--check"], errors)
    run(["promtool", "check", "rules", *rule_files], errors)
    run(["promtool", "check", "config", "--syntax-only", os.path.join(prom, "prometheus.yml")], errors)
    run(["promtool", "test", "rules", *tests], errors)

    alerts = load_alerts(rule_files)
    if not alerts:
        errors.append("no alerts found")
    doc_path = os.path.join(root, "docs", "operations.md")
    anchors = set()
    if os.path.exists(doc_path):
        with open(doc_path, encoding="utf-8") as f:
            anchors = {anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.+)$", f.read(), re.M)}
    else:
        errors.append("docs/operations.md is missing")
    bases = set()
    for name, rule in alerts.items():
        labels, ann = rule.get("labels", {}), rule.get("annotations", {})
        if labels.get("severity") not in SEVERITIES:
            errors.append(f"{name}: severity {labels.get('severity')!r} not in {sorted(SEVERITIES)}")
        summary, description = ann.get("summary", ""), ann.get("description", "")
        if not summary.strip() or "{{" in summary:
            errors.append(f"{name}: summary must be a static sentence")
        if "{{" not in description:
            errors.append(f"{name}: description must be templated")
        if anchor(name) not in anchors:
            errors.append(f"{name}: no runbook section '{name}' in docs/operations.md")
        if "runbook" in ann:
            errors.append(f"{name}: repo-relative `runbook` annotation; use an absolute runbook_url")
        url = ann.get("runbook_url", "")
        base, _, fragment = url.partition("#")
        if not re.match(r"^https?://[^/\s]+/", url):
            errors.append(f"{name}: runbook_url {url!r} is not an absolute http(s) URL")
        elif fragment != anchor(name):
            errors.append(f"{name}: runbook_url {url!r} does not point to its section "
                          f"#{anchor(name)}")
        bases.add(base)

    if len(bases) > 1:
        errors.append(f"runbook_url uses several base URLs {sorted(bases)}: one base, set in "
                      "config/prometheus/generate.py")

    firing, silent, tested_exprs = set(), set(), []
    for path in tests:
        with open(path, encoding="utf-8") as f:
            for case in (yaml.safe_load(f) or {}).get("tests", []):
                for t in case.get("alert_rule_test", []) or []:
                    (firing if t.get("exp_alerts") else silent).add(t["alertname"])
                tested_exprs += [t.get("expr", "") for t in case.get("promql_expr_test") or []]
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            for group in (yaml.safe_load(f) or {}).get("groups", []):
                for rule in group.get("rules", []):
                    record = rule.get("record")
                    if record and not any(re.search(rf"(?<![\w:]){re.escape(record)}(?![\w:])", e)
                                          for e in tested_exprs):
                        errors.append(f"recording rule {record}: no promql_expr_test evaluates it")
    for name in alerts:
        if name not in firing:
            errors.append(f"{name}: no promtool test where it fires")
        if name not in silent:
            errors.append(f"{name}: no promtool test where it must not fire")
    for name in (firing | silent) - set(alerts):
        errors.append(f"tests name an alert that does not exist: {name}")
    return errors


def check_alertmanager(root):
    errors = []
    cfg = os.path.join(root, "config", "alertmanager", "alertmanager.yml")
    run(["amtool", "check-config", cfg], errors)
    expected = {"critical": "pager", "warning": "team-chat", "info": "tickets"}
    for severity, receiver in expected.items():
        out = run(["amtool", "config", "routes", "test", f"--config.file={cfg}",
                   "alertname=TencentLiveWalksFailing", f"severity={severity}"], errors)
        if out.split() != [receiver]:
            errors.append(f"severity={severity} routes to {out!r}, expected {receiver}")
    with open(cfg, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    down = [r for r in config.get("inhibit_rules", [])
            if any("TencentLiveExporterDown" in m for m in r.get("source_matchers", []))]
    if not down:
        errors.append("no inhibit rule with TencentLiveExporterDown as its source")
    elif not {"job", "instance"} <= set(down[0].get("equal", [])):
        errors.append("the TencentLiveExporterDown inhibition must be limited to the same job and "
                      "instance")
    return errors


def main(argv):
    if len(argv) < 2 or argv[1] not in ("rules", "alertmanager"):
        print(__doc__)
        return 2
    root = os.path.abspath(argv[2] if len(argv) > 2 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    errors = check_rules(root) if argv[1] == "rules" else check_alertmanager(root)
    for e in errors:
        print("ERROR " + e)
    if not errors:
        print("OK")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
