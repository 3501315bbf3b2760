#!/usr/bin/env python3
"""The real exporter against an independent implementation of the upstream API.

Usage: compat_test.py PATH_TO_tencent_live_exporter

Starts independent_api.py (written from the vendor's documentation, not from our C++ code) on a free
loopback port with 57 rooms, runs the exporter against it and checks what /metrics shows against
what the server served and recorded. Then restarts the exporter with a wrong secret key: the server
answers 70003 and the exporter must show it as such.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from independent_api import IndependentApi  # noqa: E402
import tle_testlib as testlib  # noqa: E402

SDKAPPID = 1400123457
IDENTIFIER = "administrator"
SECRET = "compat-secret-1f3a9c0e7b2d4e6f8a1c3e5b7d9f0a2c"
ROOMS = 57
KEY_ENV = "TLE_COMPAT_SECRET_KEY"

values = testlib.values


def fail(msg):
    raise AssertionError(msg)


def one(samples, name, **want):
    try:
        return testlib.one(samples, name, **want)
    except ValueError as e:
        fail(str(e))


class Exporter(testlib.Exporter):
    """The exporter as a child process on 127.0.0.1:0; its log goes to a temp file."""

    def __init__(self, binary, workdir, endpoint, secret, tag):
        self.config = os.path.join(workdir, "config-%s.yml" % tag)
        with open(self.config, "w") as f:
            f.write("defaults:\n  interval: 2s\n  page_size: 20\n  request_timeout: 5s\n"
                    "apps:\n  - sdkappid: %d\n    endpoint: %s\n    identifier: %s\n"
                    "    secret_key_env: %s\n" % (SDKAPPID, endpoint, IDENTIFIER, KEY_ENV))
        env = dict(os.environ)
        env[KEY_ENV] = secret
        super().__init__(binary, ["--config.file=" + self.config, "--log.level=debug"],
                         os.path.join(workdir, "exporter-%s.log" % tag), env=env)

    def metrics(self):
        return self.scrape()

    def wait_for(self, what, predicate, timeout=30):
        last = []

        def poll():
            last[:] = self.metrics()
            return last if predicate(last) else None
        try:
            return testlib.wait_until(what, poll, timeout, alive=self.check_alive)
        except (TimeoutError, RuntimeError) as e:
            fail("%s; last metrics:\n%s\nlog:\n%s"
                 % (e, "\n".join(map(str, last)), self.log_text()[-4000:]))


def up_is(samples, value):
    return any(v == value for _, v in values(samples, "tencent_live_up", sdkappid=str(SDKAPPID)))


def check_good_run(api, exporter):
    sdk = str(SDKAPPID)
    exporter.wait_for("tencent_live_up 1", lambda s: up_is(s, 1))
    # At least two more complete walks, so the `random` check covers several requests.
    exporter.wait_for("three walks", lambda s: any(
        v >= 3 for _, v in values(s, "tencent_live_walks_total", sdkappid=sdk)) and up_is(s, 1))
    time.sleep(2.5)  # the third walk's pages
    s = exporter.wait_for("tencent_live_up 1 again", lambda s: up_is(s, 1))

    if one(s, "tencent_live_rooms", sdkappid=sdk) != ROOMS:
        fail("tencent_live_rooms != %d" % ROOMS)
    if one(s, "tencent_live_walk_pages", sdkappid=sdk) != 3:
        fail("tencent_live_walk_pages != 3")
    if one(s, "tencent_live_views", sdkappid=sdk) != api.total_views():
        fail("tencent_live_views %r != %d" % (one(s, "tencent_live_views", sdkappid=sdk),
                                             api.total_views()))
    shown = {lab["room_id"]: v for lab, v in values(s, "tencent_live_room_views", sdkappid=sdk)}
    served = {r["RoomId"]: r["ViewCount"] for r in api.rooms}
    if shown != served:
        fail("room views differ:\nshown  %r\nserved %r" % (shown, served))
    info = {lab["room_id"]: lab for lab, _ in values(s, "tencent_live_room_info", sdkappid=sdk)}
    numeric = 0
    for room in api.rooms:
        lab = info.get(room["RoomId"])
        if lab is None:
            fail("no room_info for %s" % room["RoomId"])
        if isinstance(room["Owner_Account"], int):
            numeric += 1
        if lab["owner_account"] != str(room["Owner_Account"]):
            fail("owner_account of %s: %r, served %r"
                 % (room["RoomId"], lab["owner_account"], room["Owner_Account"]))
        if lab["room_name"] != room["RoomName"]:
            fail("room_name of %s: %r, served %r" % (room["RoomId"], lab["room_name"],
                                                     room["RoomName"]))
        if lab["categories"] != ",".join(str(c) for c in room["Category"]):
            fail("categories of %s: %r, served %r" % (room["RoomId"], lab["categories"],
                                                      room["Category"]))
    if numeric < 10:
        fail("the fake served only %d numeric Owner_Account values" % numeric)
    errors = [(lab, v) for lab, v in values(s, "tencent_live_api_errors_total") if v != 0]
    if errors:
        fail("api errors: %r" % errors)
    rejected = [(lab, v) for lab, v in values(s, "tencent_live_rooms_rejected_total") if v != 0]
    if rejected:
        fail("rooms rejected: %r" % rejected)

    with api.lock:
        records = list(api.records)
    if len(records) < 6:
        fail("only %d requests recorded" % len(records))
    randoms = [r["query"].get("random") for r in records]
    if len(set(randoms)) != len(randoms):
        fail("random repeated: %r" % randoms)
    for r in records:
        q = r["query"]
        if q.get("contenttype") != "json":
            fail("contenttype: %r" % q)
        if q.get("sdkappid") != sdk or q.get("identifier") != IDENTIFIER:
            fail("sdkappid/identifier: %r" % q)
        if not q.get("random", "").isdigit() or int(q["random"]) > 0xFFFFFFFF:
            fail("random is not a uint32: %r" % q.get("random"))
        if r["dup_params"]:
            fail("repeated query parameters: %r" % r["dup_params"])
    codes = [r["code"] for r in records]
    if codes.count(60007):
        fail("the exporter went past 10 calls/s: %d answers 60007" % codes.count(60007))
    if any(c != 0 for c in codes):
        fail("non-zero answers: %r" % codes)
    connections = len({r["peer"] for r in records})
    print("good run: %d requests over %d connections, %d numeric owners, views %d"
          % (len(records), connections, numeric, api.total_views()))


def check_wrong_secret(api, exporter):
    sdk = str(SDKAPPID)
    s = exporter.wait_for('api_errors_total{code="70003"} and up 0', lambda s: any(
        v >= 1 for _, v in values(s, "tencent_live_api_errors_total", sdkappid=sdk,
                                  code="70003")) and up_is(s, 0))
    other = [(lab, v) for lab, v in values(s, "tencent_live_api_errors_total", sdkappid=sdk)
             if lab.get("code") != "70003" and v != 0]
    if other:
        fail("errors other than 70003: %r" % other)
    with api.lock:
        codes = [r["code"] for r in api.records]
    if 70003 not in codes or any(c not in (70003,) for c in codes):
        fail("server answers with the wrong secret: %r" % codes)
    print("wrong secret: %d requests answered 70003, exporter shows up 0" % len(codes))


def main():
    binary = os.path.abspath(sys.argv[1])
    api = IndependentApi(rooms=ROOMS, secret_key=SECRET, sdkappid=SDKAPPID,
                         admins=(IDENTIFIER,), seed=20240901).start()
    try:
        with tempfile.TemporaryDirectory(prefix="tle-compat-") as workdir:
            exporter = Exporter(binary, workdir, api.url, SECRET, "good")
            try:
                exporter.wait_listening()
                check_good_run(api, exporter)
            finally:
                exporter.stop()
            with api.lock:
                api.records.clear()
            exporter = Exporter(binary, workdir, api.url, SECRET + "-wrong", "bad")
            try:
                exporter.wait_listening()
                check_wrong_secret(api, exporter)
            finally:
                exporter.stop()
    finally:
        api.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
