#!/usr/bin/env python3
"""Checks the Grafana dashboards in dashboards/*.json (ctest dashboards_check).

Rules (issue 4): valid JSON; a fixed, unique `uid`; `editable: false` (they are provisioned);
`datasource`, `job`, `instance` and `sdkappid` variables; every panel on ${datasource}, with a title,
a description and a unit that is one of Grafana's unit ids (no custom `suffix:`); every variable used
is defined; `$__rate_interval` as the range of every rate/irate/increase; counters (*_total and
histogram *_bucket/_count/_sum series) only inside rate/irate/increase; every metric name is one the
exporter exports (the list below is copied from the contract) or one the recording rules record; no
overlapping panels inside the 24-column grid; every PromQL expression parses; the JSON is what
dashboards/generate.py writes; the Grafana provisioning files have the expected shape.

Parsing: Debian's promtool 2.42 has no command that parses a bare PromQL expression, so every panel
query and every label_values() selector of a variable is put, with the Grafana variables replaced by
sample values ($__rate_interval -> 1m, $job -> tencent_live, ...), into a temporary rules file as a
recording rule, and `promtool check rules` parses that file.

Usage: check_dashboards.py [--self-test] [REPO_ROOT]
--self-test also breaks a copy of a dashboard in several ways and fails unless each break is found.
Needs Python 3, PyYAML and promtool on PATH.
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

# Metric names of the exporter (contract.md, section Metrics, with the lifecycle and top-rooms
# tables), plus the walk interval and config reload gauges it also exports.
EXPORTED = {
    "tencent_live_room_views", "tencent_live_room_info", "tencent_live_room_activity_status",
    "tencent_live_room_created_timestamp_seconds", "tencent_live_rooms", "tencent_live_views",
    "tencent_live_category_rooms", "tencent_live_activity_status_rooms",
    "tencent_live_room_series_omitted", "tencent_live_up", "tencent_live_walk_duration_seconds",
    "tencent_live_walk_pages", "tencent_live_last_success_timestamp_seconds",
    "tencent_live_walks_total", "tencent_live_walk_failures_total",
    "tencent_live_api_requests_total", "tencent_live_api_errors_total",
    "tencent_live_api_retries_total", "tencent_live_api_request_duration_seconds_bucket",
    "tencent_live_api_request_duration_seconds_count",
    "tencent_live_api_request_duration_seconds_sum", "tencent_live_rooms_rejected_total",
    "tencent_live_api_failed_requests_total", "tencent_live_exporter_build_info",
    # room lifecycle
    "tencent_live_rooms_opened_total", "tencent_live_rooms_closed_total",
    "tencent_live_room_lifetime_seconds_bucket", "tencent_live_room_lifetime_seconds_count",
    "tencent_live_room_lifetime_seconds_sum", "tencent_live_room_entries_total",
    # top rooms
    "tencent_live_room_members", "tencent_live_room_viewers_total", "tencent_live_room_gifts_total",
    "tencent_live_room_gift_coins_total", "tencent_live_room_gift_senders_total",
    "tencent_live_room_likes_total", "tencent_live_room_messages_total",
    "tencent_live_top_rooms_round_duration_seconds",
    "tencent_live_top_rooms_last_success_timestamp_seconds",
    # exporter health beyond the contract's table
    "tencent_live_walk_interval_seconds", "tencent_live_config_last_reload_successful",
    "tencent_live_config_last_reload_success_timestamp_seconds", "up",
}
# Grafana's own unit ids (no custom "suffix:..." units): per-minute values are 60 * rate() shown
# as cpm/opm/reqpm. Only ids every Grafana since 7 knows.
GRAFANA_UNITS = {"none", "short", "s", "ms", "percentunit", "reqps", "ops", "cps", "cpm", "opm",
                 "reqpm", "dateTimeAsIso", "dateTimeFromNow", "dtdurations"}
COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")
RATE_FUNCS = {"rate", "irate", "increase"}
REQUIRED_VARS = ("datasource", "job", "instance", "sdkappid")
BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                "__range_ms", "__from", "__to"}
# Sample values for the parse check.
SAMPLE_VALUES = {"__rate_interval": "1m", "__interval": "30s", "__range": "6h", "__range_s": "21600",
                 "__interval_ms": "30000", "__range_ms": "21600000",
                 "job": "tencent_live", "instance": "127.0.0.1:9877", "sdkappid": "1400000000",
                 "room_id": "room-1", "datasource": "prometheus"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                   "unless", "bool", "offset", "inf", "nan", "atan2",
                   # aggregation operators, which may be followed by by/without instead of "("
                   "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                   "bottomk", "topk", "quantile"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def var_names(text):
    return {a or b for a, b in VAR_RE.findall(text)}


def substitute(text, values=SAMPLE_VALUES):
    return VAR_RE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)


def strip_strings_and_matchers(expr):
    """Blanks string literals and {...} label matchers, keeping every other character's offset."""
    out, i = list(expr), 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < len(expr) and expr[j] != c:
                j += 2 if expr[j] == "\\" else 1
            for k in range(i, min(j + 1, len(expr))):
                out[k] = " "
            i = j + 1
        elif c == "{":
            j = i
            depth = 0
            while j < len(expr):
                if expr[j] in "\"'":
                    q = expr[j]
                    j += 1
                    while j < len(expr) and expr[j] != q:
                        j += 2 if expr[j] == "\\" else 1
                elif expr[j] == "{":
                    depth += 1
                elif expr[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            for k in range(i, min(j + 1, len(expr))):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def enclosing_functions(bare, pos):
    """Names of the calls whose parentheses enclose offset `pos`, innermost first."""
    stack = []
    for i, c in enumerate(bare[:pos]):
        if c == "(":
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", bare[:i])
            stack.append(m.group(1) if m else "")
        elif c == ")" and stack:
            stack.pop()
    return list(reversed(stack))


def metric_names(bare):
    """(offset, name) of each metric name in an expression blanked by strip_strings_and_matchers."""
    names = []
    for m in re.finditer(r"(?<![\w$.\[])([A-Za-z_:][A-Za-z0-9_:]*)", bare):
        name, end = m.group(1), m.end()
        rest = bare[end:].lstrip()
        if rest.startswith("(") or name.lower() in PROMQL_KEYWORDS:
            continue  # a function call or a keyword
        before = bare[:m.start()].rstrip()
        # label lists of by/without/on/ignoring/group_left/group_right
        fn = enclosing_functions(bare, m.start())
        if fn and fn[0] in ("by", "without", "on", "ignoring", "group_left", "group_right"):
            continue
        if before.endswith("[") or re.search(r"\d$", name):
            continue
        names.append((m.start(), name))
    return names


def check_expr(expr, where, known_metrics, defined_vars):
    errors = []
    for v in var_names(expr) - defined_vars - BUILTIN_VARS:
        errors.append(f"{where}: uses undefined variable ${v}")
    bare = strip_strings_and_matchers(expr)
    for m in re.finditer(r"\b(rate|irate|increase)\s*\(", bare):
        depth, j = 0, m.end() - 1
        while j < len(bare):
            depth += {"(": 1, ")": -1}.get(bare[j], 0)
            if depth == 0:
                break
            j += 1
        ranges = re.findall(r"\[([^\]]*)\]", bare[m.end():j])
        if not ranges:
            errors.append(f"{where}: {m.group(1)}() without a range")
        for r in ranges:
            if r.strip() != "$__rate_interval":
                errors.append(f"{where}: {m.group(1)}() over [{r}] instead of [$__rate_interval]")
    for pos, name in metric_names(bare):
        if name not in known_metrics:
            errors.append(f"{where}: unknown metric {name}")
        if name.endswith(COUNTER_SUFFIXES) and name in EXPORTED:
            fns = enclosing_functions(bare, pos)
            if not fns or fns[0] not in RATE_FUNCS:
                errors.append(f"{where}: counter {name} outside rate()/increase()")
    return errors


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def is_own_datasource(ds):
    return isinstance(ds, dict) and ds.get("uid") == "${datasource}" or ds == "${datasource}"


def check_dashboard(dash, name, known_metrics):
    """Returns (errors, [(where, expr)]) for one parsed dashboard."""
    errors, exprs = [], []
    if not isinstance(dash.get("uid"), str) or not dash["uid"]:
        errors.append(f"{name}: no fixed uid")
    if not dash.get("title"):
        errors.append(f"{name}: no title")
    if dash.get("editable") is not False:
        errors.append(f"{name}: provisioned dashboards must be editable: false")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    for req in REQUIRED_VARS:
        if req not in variables:
            errors.append(f"{name}: missing variable {req}")
    ds = variables.get("datasource")
    if ds and (ds.get("type") != "datasource" or ds.get("query") != "prometheus"):
        errors.append(f"{name}: variable datasource is not a Prometheus data source variable")
    defined = set(variables)
    for vname, v in variables.items():
        if v.get("type") != "query":
            continue
        where = f"{name}: variable {vname}"
        if not is_own_datasource(v.get("datasource")):
            errors.append(f"{where}: not on ${{datasource}}")
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "", re.S)
        if not m:
            errors.append(f"{where}: query is not label_values(selector, label): {q!r}")
            continue
        errors += check_expr(m.group(1), where, known_metrics, defined)
        exprs.append((where, m.group(1)))
    boxes = []
    ids = set()
    for p in all_panels(dash):
        title = p.get("title") or f"panel id {p.get('id')}"
        where = f"{name}: panel {title!r}"
        if p.get("id") in ids:
            errors.append(f"{where}: duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in "xywh"):
            errors.append(f"{where}: no gridPos")
        else:
            if g["x"] < 0 or g["y"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > 24:
                errors.append(f"{where}: gridPos {g} outside the 24-column grid")
            for other_title, og in boxes:
                if overlaps(g, og):
                    errors.append(f"{where}: overlaps panel {other_title!r}")
            boxes.append((title, g))
        if p.get("type") == "row":
            continue
        if not p.get("title"):
            errors.append(f"{where}: no title")
        if not str(p.get("description") or "").strip():
            errors.append(f"{where}: no description")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not isinstance(unit, str) or not unit.strip():
            errors.append(f"{where}: no unit")
        units = [unit] + [prop.get("value") for o in p.get("fieldConfig", {}).get("overrides", [])
                          for prop in o.get("properties", []) if prop.get("id") == "unit"]
        units += [(p.get("options") or {}).get("yAxis", {}).get("unit")] if p.get(
            "type") == "heatmap" else []
        for u in units:
            if isinstance(u, str) and u.strip() and u not in GRAFANA_UNITS:
                errors.append(f"{where}: unit {u!r} is not a Grafana unit id of {sorted(GRAFANA_UNITS)}")
        if not is_own_datasource(p.get("datasource")):
            errors.append(f"{where}: not on ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{where}: no queries")
        for t in targets:
            twhere = f"{where} query {t.get('refId')}"
            if "datasource" in t and not is_own_datasource(t["datasource"]):
                errors.append(f"{twhere}: not on ${{datasource}}")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{twhere}: no expr")
                continue
            errors += check_expr(expr, twhere, known_metrics, defined)
            exprs.append((twhere, expr))
    return errors, exprs


def parse_with_promtool(exprs):
    """Errors of `promtool check rules` on the expressions, variables replaced by sample values."""
    if not exprs:
        return []
    groups = [{"name": f"expr{i}", "rules": [{"record": f"dashboard_check:expr{i}",
                                              "expr": substitute(expr)}]}
              for i, (_, expr) in enumerate(exprs)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_exprs.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": groups}, f, sort_keys=False)
        proc = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    out = proc.stdout + proc.stderr
    errors = []
    for i, (where, expr) in enumerate(exprs):
        if re.search(rf"\bgroup \"?expr{i}\"?|\bexpr{i}\b|rule {i}\b", out):
            errors.append(f"{where}: PromQL does not parse: {substitute(expr)}")
    return errors or [f"promtool check rules failed:\n{out}"]


def recorded_names(root):
    names = set()
    for path in glob.glob(os.path.join(root, "config", "prometheus", "*rules*.yml")):
        with open(path, encoding="utf-8") as f:
            for group in (yaml.safe_load(f) or {}).get("groups", []):
                names.update(r["record"] for r in group.get("rules", []) if "record" in r)
    return names


def check_provisioning(root):
    """The Grafana provisioning files have the shape a stock Grafana expects."""
    errors = []
    base = os.path.join(root, "dashboards", "provisioning")
    sources = glob.glob(os.path.join(base, "datasources", "*.yml"))
    providers = glob.glob(os.path.join(base, "dashboards", "*.yml"))
    if not sources or not providers:
        return [f"{base}: needs datasources/*.yml and dashboards/*.yml"]
    for path in sources + providers:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        name = os.path.relpath(path, root)
        if doc.get("apiVersion") != 1:
            errors.append(f"{name}: apiVersion must be 1")
        if path in sources:
            if not any(d.get("type") == "prometheus" and d.get("url") and d.get("name")
                       for d in doc.get("datasources", [])):
                errors.append(f"{name}: no Prometheus data source with name and url")
        elif not any(p.get("type") == "file" and p.get("name") and
                     (p.get("options") or {}).get("path") for p in doc.get("providers", [])):
            errors.append(f"{name}: no file provider with a name and options.path")
        elif any(p.get("allowUiUpdates") is not False for p in doc.get("providers", [])):
            errors.append(f"{name}: allowUiUpdates must be false (UI changes would be overwritten)")
    return errors


def check_all(root):
    errors = []
    known = EXPORTED | recorded_names(root)
    files = sorted(glob.glob(os.path.join(root, "dashboards", "*.json")))
    if len(files) < 2:
        errors.append(f"expected overview.json and room.json in {root}/dashboards")
    uids, exprs = {}, []
    for path in files:
        name = os.path.relpath(path, root)
        try:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
        except (OSError, ValueError) as e:
            errors.append(f"{name}: not valid JSON: {e}")
            continue
        uid = dash.get("uid")
        if uid in uids:
            errors.append(f"{name}: uid {uid!r} also used by {uids[uid]}")
        uids[uid] = name
        e, x = check_dashboard(dash, name, known)
        errors += e
        exprs += x
    errors += parse_with_promtool(exprs)
    errors += check_provisioning(root)
    gen = subprocess.run([sys.executable, os.path.join(root, "dashboards", "generate.py"), "--check"],
                         capture_output=True, text=True)
    if gen.returncode != 0:
        errors.append("dashboards/generate.py --check: " + gen.stdout + gen.stderr)
    return errors, len(files), len(exprs)


def self_test(root):
    """Breaks copies of the overview dashboard; each break must be reported."""
    with open(os.path.join(root, "dashboards", "overview.json"), encoding="utf-8") as f:
        good = json.load(f)
    known = EXPORTED | recorded_names(root)
    if check_dashboard(good, "overview", known)[0]:
        return ["self-test: the unmodified overview dashboard has errors"]

    def first(d, kind):
        return next(p for p in d["panels"] if p["type"] == kind)

    def target_of(d, needle):
        return next(t for p in d["panels"] for t in p.get("targets", []) if needle in t["expr"])

    breaks = {
        "no unit": lambda d: first(d, "timeseries")["fieldConfig"]["defaults"].pop("unit"),
        "no description": lambda d: first(d, "stat").update(description=""),
        "not on ${datasource}": lambda d: first(d, "stat").update(datasource={"uid": "abc"}),
        "overlap": lambda d: d["panels"][2]["gridPos"].update(x=0),
        "outside the 24-column grid": lambda d: d["panels"][2]["gridPos"].update(x=22),
        "missing variable sdkappid": lambda d: d["templating"]["list"].pop(3),
        "instead of [$__rate_interval]": lambda d: target_of(d, "rate(").update(
            expr=target_of(d, "rate(")["expr"].replace("$__rate_interval", "5m")),
        "outside rate()": lambda d: first(d, "stat")["targets"][0].update(
            expr="tencent_live_walks_total"),
        "unknown metric": lambda d: first(d, "stat")["targets"][0].update(
            expr="tencent_live_room_veiws"),
        "undefined variable": lambda d: first(d, "stat")["targets"][0].update(
            expr='tencent_live_up{room_id="$room"}'),
        "no fixed uid": lambda d: d.pop("uid"),
        "is not a Grafana unit id": lambda d: first(d, "timeseries")["fieldConfig"][
            "defaults"].update(unit="suffix: views/min"),
        "editable: false": lambda d: d.update(editable=True),
    }
    errors = []
    for expected, breaker in breaks.items():
        d = copy.deepcopy(good)
        breaker(d)
        found = check_dashboard(d, "broken", known)[0]
        if not any(expected in e for e in found):
            errors.append(f"self-test: breaking '{expected}' was not reported (got {found})")
    if not parse_with_promtool([("broken query", "sum by (sdkappid (tencent_live_up)")]):
        errors.append("self-test: a query that does not parse was accepted")
    if parse_with_promtool([("good query", 'rate(tencent_live_walks_total{job=~"$job"}'
                                           '[$__rate_interval])')]):
        errors.append("self-test: a query that parses was rejected")
    return errors


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), "..", ".."))
    if not shutil.which("promtool"):
        print("promtool not found on PATH (Debian package prometheus)")
        return 1
    errors, nfiles, nexprs = check_all(root)
    if "--self-test" in argv:
        errors += self_test(root)
    for e in errors:
        print("ERROR " + e)
    if errors:
        return 1
    print(f"OK: {nfiles} dashboards, {nexprs} PromQL expressions checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
