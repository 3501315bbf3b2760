#!/usr/bin/env python3
"""The landing page as a real browser renders it.

usage: landing_browser_test.py EXPORTER CHROMIUM [SCREENSHOT.png]

Headless Chromium loads "/" from the real exporter binary on a loopback port and
prints the DOM it built (--dump-dom, after parsing and any script would have
run); the checks read that DOM, not the HTML we sent:

1. --demo --web.telemetry-path=/custom: one row per app, state "up", rooms
   shown; the Metrics link resolves to /custom and answers 200 with the
   exposition; no link to "metrics" or /metrics; Health and Readiness answer 200.
2. A config with two apps against a fake upstream that answers errors carrying
   HTML and script: one app had a complete walk and is now past stale_after
   (state "stale", its rooms not shown as current), the other never had one
   (state "down", last success "never"); the hostile error text is shown as
   text, and no script ran (the title is intact, no script/img element made it
   into the page). A walk slower than its interval is marked and logged as a
   warning. That exporter logs JSON: every line must be strict UTF-8 JSON, one
   whole event, with numbers and durations typed.

With SCREENSHOT.png it also saves a screenshot of page 2 (for a look by eye).
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import tle_testlib as testlib  # noqa: E402

EXPORTER, CHROMIUM = sys.argv[1], sys.argv[2]
SCREENSHOT = sys.argv[3] if len(sys.argv) > 3 else None
TMP = tempfile.mkdtemp(prefix="tle_landing_browser_")
TITLE = "Tencent Live Exporter"
HOSTILE = ("<script>document.title='pwned'</script>"
           "<img src=x onerror=\"document.title='pwned'\">&amp; done"
           "\u001b[31m\n{\"level\":\"error\"}\u0000")  # terminal codes, a forged log line
STALE_APP, DOWN_APP = 1400000101, 1400000102
FAILURES = []
PROCS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def get(url, timeout=10):
    return testlib.fetch(url, timeout)[:2]


def wait_until(pred, timeout, what):
    return testlib.wait_until(what, pred, timeout, interval=0.1)


class Exporter(testlib.Exporter):
    def __init__(self, name, args):
        super().__init__(EXPORTER, args, os.path.join(TMP, name + ".log"))
        PROCS.append(self)
        self.base = self.wait_listening() + "/"

    def text(self):
        return self.log_text()


def chromium(*args, timeout=90):
    profile = tempfile.mkdtemp(dir=TMP, prefix="profile_")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
           "--disable-background-networking", "--disable-component-update",
           "--disable-extensions", "--user-data-dir=" + profile, *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("chromium failed (%d): %s" % (r.returncode, r.stderr.decode()[-2000:]))
    return r.stdout.decode("utf-8")


class Dom(html.parser.HTMLParser):
    """What the checks need from a serialized DOM: title, links, rows, tags."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.links = []      # (href, text)
        self.rows = []       # {"attrs": {...}, "cells": {class: text}}
        self.tags = {}       # tag name -> count
        self.headers = []
        self._stack = []
        self._cell = None
        self._link = None
        self._in_title = False
        self._in_th = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "title":
            self._in_title = True
        elif tag == "a":
            self._link = [attrs.get("href"), ""]
        elif tag == "tr" and "app" in (attrs.get("class") or "").split():
            self.rows.append({"attrs": attrs, "cells": {}})
        elif tag == "td" and self.rows and self._cell is None:
            self._cell = [(attrs.get("class") or "").split(), "", set()]
        if self._cell is not None and tag != "td":
            self._cell[2].update((attrs.get("class") or "").split())
        elif tag == "th":
            self._in_th = True
            self.headers.append("")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "a" and self._link:
            self.links.append(tuple(self._link))
            self._link = None
        elif tag == "td" and self._cell is not None:
            classes, text, inner = self._cell
            for c in classes:
                self.rows[-1]["cells"][c] = text.strip()
                self.rows[-1].setdefault("inner", {})[c] = inner
            self._cell = None
        elif tag == "th":
            self._in_th = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._link is not None:
            self._link[1] += data
        if self._cell is not None:
            self._cell[1] += data
        if self._in_th:
            self.headers[-1] += data


def load(url):
    dom = Dom(chromium("--dump-dom", url))
    check(dom.title == TITLE, "the browser's title is %r (%r)" % (TITLE, dom.title))
    return dom


def test_demo():
    exp = Exporter("demo", ["--demo", "--web.telemetry-path=/custom"])
    wait_until(lambda: get(exp.base + "-/ready")[0] == 200, 30, "/-/ready")
    started = re.search(r"msg=\"walker started\" sdkappid=(\d+) \S+ interval=(\S+)",
                        exp.text())
    sdkappid = int(started.group(1))
    dom = load(exp.base)

    check(len(dom.rows) == 1, "demo: one app row (%d)" % len(dom.rows))
    row = dom.rows[0] if dom.rows else {"attrs": {}, "cells": {}}
    cells = row["cells"]
    check(row["attrs"].get("data-sdkappid") == str(sdkappid),
          "demo: the row is app %d (%s)" % (sdkappid, row["attrs"]))
    check(cells.get("sdkappid") == str(sdkappid), "demo: the SDKAppID cell")
    check(row["attrs"].get("data-state") == "up" and cells.get("state") == "up",
          "demo: state up (%s, %r)" % (row["attrs"].get("data-state"), cells.get("state")))
    rooms = cells.get("rooms", "").replace(",", "")
    check(rooms.isdigit() and int(rooms) > 0, "demo: rooms shown (%r)" % cells.get("rooms"))
    views = cells.get("views", "").replace(",", "")
    check(views.isdigit() and int(views) > 0, "demo: views shown as an integer (%r)"
          % cells.get("views"))
    check(re.fullmatch(r"just now|\d+s ago", cells.get("last-success", "")) is not None,
          "demo: last success as an age (%r)" % cells.get("last-success"))
    check(re.fullmatch(r"[\d.]+s / 10s", cells.get("last-walk", "")) is not None,
          "demo: last walk against the interval (%r)" % cells.get("last-walk"))
    check(cells.get("error") == "", "demo: no error (%r)" % cells.get("error"))
    check("Members" not in dom.headers, "demo: no Members column without top_rooms (%s)"
          % dom.headers)

    targets = {urllib.parse.urljoin(exp.base, href): text for href, text in dom.links}
    custom = exp.base + "custom"
    check(custom in targets, "demo: a link resolves to /custom (%s)" % sorted(targets))
    status, body = get(custom)
    check(status == 200 and "tencent_live_up" in body,
          "demo: following it answers 200 with the exposition (%d)" % status)
    check(not any(href in ("metrics", "/metrics") for href, _ in dom.links)
          and exp.base + "metrics" not in targets,
          "demo: no link to metrics or /metrics")
    for path in ("-/healthy", "-/ready"):
        check(exp.base + path in targets and get(exp.base + path)[0] == 200,
              "demo: the link to /%s answers 200" % path)
    check(started.group(2) == "10s", "demo: the interval is logged as the config writes it "
          "(%s)" % started.group(2))
    check(re.search(r"level=info msg=\"walk completed\" sdkappid=%d rooms=\d+ pages=\d+ "
                    r"seconds=[\d.]+\n" % sdkappid, exp.text()) is not None,
          "demo: one info line per completed walk")
    exp.stop()


class FakeUpstream(BaseHTTPRequestHandler):
    """STALE_APP: one good walk, then errors. DOWN_APP: only errors, each after
    1.2 s, so its walks outlast their 1 s interval."""
    calls = {}

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        app = int(query.get("sdkappid", ["0"])[0])
        n = FakeUpstream.calls.get(app, 0)
        FakeUpstream.calls[app] = n + 1
        if app == DOWN_APP:
            time.sleep(1.2)
        if app == STALE_APP and n == 0:
            answer = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RequestId": "r0",
                      "Response": {"Next": "", "RoomList": [{
                          "RoomId": "room-1", "RoomName": "one", "Owner_Account": "owner",
                          "CoverURL": "", "Category": [1], "CreateTime": 1700000000,
                          "ActivityStatus": 1, "ViewCount": 42}]}}
        else:
            answer = {"ActionStatus": "FAIL", "ErrorCode": 90001, "ErrorInfo": HOSTILE,
                      "RequestId": "r%d" % n}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the exporter stopped mid-request

    def log_message(self, *args):
        pass


def json_lines(log_path):
    """Every line of a JSON log, each checked to be strict UTF-8 JSON."""
    with open(log_path, "rb") as f:
        raw = f.read().split(b"\n")
    out = []
    for n, line in enumerate(raw[:-1] if raw and raw[-1] == b"" else raw):
        try:
            json.loads(line.decode("utf-8", "strict"))
            out.append(line.decode("utf-8"))
        except ValueError as e:
            check(False, "JSON log line %d is valid UTF-8 JSON (%s: %r)" % (n + 1, e, line[:200]))
    check(bool(out), "JSON log lines parse (%d lines)" % len(out))
    return out


def app_state(base, sdkappid):
    _, page = get(base)
    m = re.search(r'data-sdkappid="%d" data-state="(\w+)"' % sdkappid, page)
    return m.group(1) if m else None


def test_stale_and_down():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), FakeUpstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % upstream.server_address[1]
    key = os.path.join(TMP, "secret.key")
    with open(key, "w") as f:
        f.write("landing-test-secret\n")
    config = os.path.join(TMP, "apps.yml")
    with open(config, "w") as f:
        f.write("defaults:\n  interval: 1s\n  request_timeout: 2s\n  max_retries: 0\n"
                "  stale_after: 2s\napps:\n")
        for app in (STALE_APP, DOWN_APP):
            f.write("  - sdkappid: %d\n    endpoint: %s\n    identifier: administrator\n"
                    "    secret_key_file: %s\n" % (app, endpoint, key))
    exp = Exporter("apps", ["--config.file=" + config, "--log.format=json"])
    wait_until(lambda: app_state(exp.base, STALE_APP) == "stale"
               and app_state(exp.base, DOWN_APP) == "down", 30, "stale and down states")
    dom = load(exp.base)
    rows = {int(r["attrs"].get("data-sdkappid", 0)): r for r in dom.rows}
    check(sorted(rows) == [STALE_APP, DOWN_APP], "apps: a row per app (%s)" % sorted(rows))

    stale = rows.get(STALE_APP, {"attrs": {}, "cells": {}})
    cells = stale["cells"]
    check("stale" in stale["attrs"].get("class", "").split() and cells.get("state") == "stale",
          "stale app: highlighted as stale (%s, %r)" % (stale["attrs"], cells.get("state")))
    check(cells.get("rooms") == "\u2013" and cells.get("views") == "\u2013",
          "stale app: its old rooms/views are not shown as current (%r, %r)"
          % (cells.get("rooms"), cells.get("views")))
    check(re.fullmatch(r"\d+s ago", cells.get("last-success", "")) is not None,
          "stale app: last success as an age (%r)" % cells.get("last-success"))

    down = rows.get(DOWN_APP, {"attrs": {}, "cells": {}})
    cells = down["cells"]
    check("down" in down["attrs"].get("class", "").split() and cells.get("state") == "down",
          "down app: highlighted as down (%s, %r)" % (down["attrs"], cells.get("state")))
    check(cells.get("last-success") == "never", "down app: last success never (%r)"
          % cells.get("last-success"))
    check(cells.get("rooms") == "\u2013", "down app: no rooms (%r)" % cells.get("rooms"))
    check("over" in down.get("inner", {}).get("last-walk", set())
          and re.fullmatch(r"1\.\d\ds / 1s", cells.get("last-walk", "")) is not None,
          "down app: a walk longer than the interval is marked (%r)" % cells.get("last-walk"))
    error = cells.get("error", "")
    check("90001" in error and "<script>document.title='pwned'</script>" in error
          and "&amp; done" in error,
          "down app: the upstream's error shown as text (%r)" % error)
    check("script" not in dom.tags and "img" not in dom.tags,
          "no element from the upstream's text made it into the page (%s)"
          % sorted(dom.tags))
    if SCREENSHOT:
        chromium("--screenshot=" + os.path.abspath(SCREENSHOT), "--window-size=1400,700",
                 "--hide-scrollbars", exp.base)
        print("screenshot: " + SCREENSHOT)
    exp.stop()
    upstream.shutdown()
    upstream.server_close()

    # The same run logged JSON: every line parses, whatever the upstream sent.
    lines = [json.loads(line) for line in json_lines(exp.log_path)]
    overruns = [l for l in lines if l.get("msg") == "walk took longer than its interval"]
    check(bool(overruns) and overruns[0].get("level") == "warn"
          and overruns[0].get("sdkappid") == DOWN_APP
          and isinstance(overruns[0].get("seconds"), float) and overruns[0]["seconds"] > 1
          and overruns[0].get("interval") == "1s",
          "down app: the overrun is logged as a warning, typed (%s)" % overruns[:1])
    check(all("ts" in l and "msg" in l and "level" in l for l in lines),
          "JSON logs: every line is a whole event (none forged by the upstream's text)")
    failed = [l for l in lines if l.get("msg") == "walk failed"]
    visible = HOSTILE[:HOSTILE.index("\u001b")]  # the client may blank control characters
    check(bool(failed) and all(visible in l.get("error", "") for l in failed)
          and all(isinstance(l.get("pages"), int) for l in failed),
          "JSON logs: the upstream's error text kept, numbers as numbers (%s)" % failed[:1])



def main():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        print("FAIL chromium not found at %r (Debian package chromium)" % CHROMIUM)
        return 1
    try:
        test_demo()
        test_stale_and_down()
    except Exception as e:  # a broken step fails the test, with the logs
        FAILURES.append(repr(e))
        print("FAIL %r" % e)
        for p in PROCS:
            print("--- %s\n%s" % (p.log_path, p.text()[-3000:]))
    finally:
        for p in PROCS:
            p.stop()
        if FAILURES and os.environ.get("TLE_KEEP_TMP"):
            print("logs kept in " + TMP)
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    print("%d failures" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
