#!/usr/bin/env python3
"""Figure 7, basic auth: what a scrape with basic credentials costs the exporter.

The exporter runs --demo with a web config of USERS users, each a bcrypt hash of cost 10 (what
`htpasswd -B` writes). Over fresh connections, one request per row at a time, interleaved so that
every row sees the same load:
  first    the first right password of each user: one bcrypt, then cached
  cached   a right password verified before: an HMAC, no bcrypt
  wrong    a wrong password of a known user: one bcrypt, never cached
  unknown  a user not in the file: one bcrypt against a dummy hash of the file's highest cost
The unit tests count the bcrypt runs (web_server_test.cc); this figure shows what they cost, and
that an unknown user is as slow as a wrong password, so timing does not tell which users exist.
"""
import base64
import os
import statistics
import time
import urllib.error
import urllib.request

import benchlib as b
from tle_testlib import bcrypt_hash

COST = 4 if b.smoke() else 10
USERS = 3 if b.smoke() else 20
ROUNDS = 3 if b.smoke() else 20


def timed_get(url, user, password):
    """(HTTP status, milliseconds) of one GET /metrics with these credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(url + "/metrics", headers={"Authorization": "Basic " + token})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            res.read()
            status = res.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, (time.perf_counter() - start) * 1000.0


def main():
    web = os.path.join(b.workdir(), "web-auth.yml")
    with open(web, "w") as f:
        f.write("basic_auth_users:\n")
        for i in range(USERS):
            f.write(f"  user{i}: '{bcrypt_hash(f'pass{i}', rounds=2 ** COST)}'\n")
    port = b.free_port()
    exporter = b.spawn([b.EXPORTER, "--demo", f"--web.config.file={web}",
                        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], "exporter-auth")
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:  # up, with auth on
        try:
            if timed_get(url, "user0", "nope")[0] == 401:
                break
        except OSError:
            pass
        if exporter.poll() is not None or time.time() > deadline:
            raise RuntimeError("exporter with basic auth did not start; see its log")
        time.sleep(0.05)

    times = {"first": [], "cached": [], "wrong": [], "unknown": []}
    expected = {"first": 200, "cached": 200, "wrong": 401, "unknown": 401}
    for i in range(max(USERS, ROUNDS)):
        rows = [("wrong", f"user{i % USERS}", "not-the-password"),
                ("unknown", f"mallory{i}", f"pass{i % USERS}")]
        if i < USERS:
            rows.insert(0, ("first", f"user{i}", f"pass{i}"))
        if i > 0:
            rows.append(("cached", f"user{(i - 1) % USERS}", f"pass{(i - 1) % USERS}"))
        for row, user, password in rows:
            status, ms = timed_get(url, user, password)
            if status != expected[row]:
                raise RuntimeError(f"{row}: {user} got HTTP {status}, expected {expected[row]}")
            times[row].append(ms)
    b.stop(exporter)

    print(f"### Figure 7: basic auth ({b.load_note()} at the end)\n")
    print(f"{USERS} users, bcrypt cost {COST}; one GET /metrics of the demo at a time over a fresh "
          "connection, rows interleaved; milliseconds.\n")
    rows = []
    for row in ("first", "cached", "wrong", "unknown"):
        t = times[row]
        rows.append([row, len(t), f"{min(t):.2f}", f"{statistics.median(t):.2f}", f"{max(t):.2f}"])
    b.table(["request", "n", "min ms", "median ms", "max ms"], rows)
    wrong, unknown = statistics.median(times["wrong"]), statistics.median(times["unknown"])
    print(f"\nunknown / wrong (medians): **{unknown / wrong:.2f}**; "
          f"cached / first: **{statistics.median(times['cached']) / statistics.median(times['first']):.3f}**")


if __name__ == "__main__":
    main()
