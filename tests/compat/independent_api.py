#!/usr/bin/env python3
"""An independent get_room_list server, written from the vendor's documentation only.

Why: the project's C++ simulator checks UserSigs with code it shares with the exporter's minting, so
a bug common to both would go unseen. This server is a second, separate reading of the vendor's
pages (the get_room_list page and the TLSSigAPIv2 UserSig algorithm), in Python 3 stdlib only. It
deliberately differs from the simulator wherever the vendor allows: some Owner_Account values are
JSON numbers (one vendor sample shows a number), answers are pretty-printed JSON with spaces and
newlines, Content-Type is "application/json; charset=utf-8", connections are HTTP/1.1 keep-alive,
and the 10 calls/s limit is counted over a sliding one-second window (60007 past 10).

Every request is recorded (query parameters, decoded UserSig, body, answer code) for assertions.

Use from a test:  api = IndependentApi(rooms=57, ...); api.start(); ... api.stop()
Or stand-alone:   independent_api.py --rooms=57 --secret-key=S [--port=N]
                  (prints "listening on http://127.0.0.1:PORT" when ready)
"""
import argparse
import base64
import collections
import hashlib
import hmac
import http.server
import json
import random
import secrets
import sys
import threading
import time
import urllib.parse
import zlib

PATH = "/v4/live_engine_http_srv/get_room_list"
MAX_CALLS_PER_SECOND = 10


# --- UserSig (TLSSigAPIv2), from the vendor's description ---------------------------------------

def tls_sig(secret_key, identifier, sdkappid, sig_time, expire):
    """TLS.sig: standard base64 of HMAC-SHA256(secret key bytes as written, content to sign)."""
    content = ("TLS.identifier:%s\nTLS.sdkappid:%d\nTLS.time:%d\nTLS.expire:%d\n"
               % (identifier, sdkappid, sig_time, expire))
    mac = hmac.new(secret_key.encode("utf-8"), content.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


# Known answers published with the algorithm (computed with two other HMAC implementations).
_KA_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
_KNOWN_ANSWERS = [
    (("xiaojun", 1400000000, 1700000000, 15552000), "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="),
    (("administrator", 1400000000, 1600000000, 86400),
     "los0WU+OsAqKAMeEseEb6GMMPAPQp6knnzQ5XIlQj0U="),
]
for _args, _want in _KNOWN_ANSWERS:  # checked at start-up; a plain assert would vanish under -O
    if tls_sig(_KA_KEY, *_args) != _want:
        raise AssertionError("HMAC known answer for %r: %s != %s"
                             % (_args, tls_sig(_KA_KEY, *_args), _want))


def decode_usersig(usersig):
    """Reverses the vendor's encoding: * - _ back to + / =, base64, zlib inflate, JSON.

    Returns the JSON object, or raises ValueError.
    """
    std = usersig.replace("*", "+").replace("-", "/").replace("_", "=")
    try:
        raw = base64.b64decode(std.encode("ascii"), validate=True)
        doc = json.loads(zlib.decompress(raw).decode("utf-8"))
    except (ValueError, zlib.error, UnicodeError) as e:
        raise ValueError("cannot decode usersig: %s" % e)
    if not isinstance(doc, dict):
        raise ValueError("usersig is not a JSON object")
    return doc


def check_usersig(usersig, secret_key, identifier, sdkappid, now):
    """(code, info, decoded-or-None). code 0 when the UserSig is valid for identifier/sdkappid."""
    if not usersig:
        return 70002, "usersig is empty", None
    try:
        doc = decode_usersig(usersig)
    except ValueError as e:
        return 70003, str(e), None
    want_types = {"TLS.ver": str, "TLS.identifier": str, "TLS.sdkappid": int, "TLS.time": int,
                  "TLS.expire": int, "TLS.sig": str}
    for key, typ in want_types.items():
        if not isinstance(doc.get(key), typ) or isinstance(doc.get(key), bool):
            return 70003, "usersig field %s missing or of the wrong type" % key, doc
    if doc["TLS.ver"] != "2.0":
        return 70003, "usersig version is not 2.0", doc
    if doc["TLS.identifier"] != identifier:
        return 70013, "identifier in the request does not match the usersig", doc
    if doc["TLS.sdkappid"] != sdkappid:
        return 70014, "sdkappid in the request does not match the usersig", doc
    if now > doc["TLS.time"] + doc["TLS.expire"]:
        return 70001, "usersig expired", doc
    want = tls_sig(secret_key, doc["TLS.identifier"], doc["TLS.sdkappid"], doc["TLS.time"],
                   doc["TLS.expire"])
    if not hmac.compare_digest(want, doc["TLS.sig"]):
        return 70003, "usersig signature check failed", doc
    return 0, "", doc


# --- Rooms -------------------------------------------------------------------------------------

def make_rooms(count, seed):
    """count rooms with distinct ViewCounts; every 4th Owner_Account is a JSON number."""
    rng = random.Random(seed)
    views = rng.sample(range(1, 5_000_000), count)
    names = ["Morning show", "夜间直播", "Cooking with Ana", "Chess blitz", "Música en vivo"]
    rooms = []
    for i in range(count):
        owner = 100000 + rng.randrange(900000) if i % 4 == 1 else "owner_%d" % rng.randrange(10**6)
        rooms.append({
            "RoomName": "%s %d" % (names[i % len(names)], i),
            "RoomId": "room-%04d-%s" % (i, secrets.token_hex(3)),
            "Owner_Account": owner,
            "CoverURL": "https://cdn.example.invalid/cover/%d.jpg" % i,
            "Category": rng.sample([1, 2, 3, 7, 12, 40], rng.randrange(0, 4)),
            "CreateTime": 1693271354 - rng.randrange(10**7),
            "ActivityStatus": rng.choice([0, 1, 2]),
            "ViewCount": views[i],
        })
    rooms.sort(key=lambda r: r["ViewCount"], reverse=True)
    return rooms


# --- Server ------------------------------------------------------------------------------------

class IndependentApi:
    """One fake app. Thread-safe: the HTTP server runs handlers on its own threads; `records`
    and `rooms` may be read by the caller at any time (take `lock` for a consistent view)."""

    def __init__(self, rooms=57, secret_key="", sdkappid=1400000000,
                 admins=("administrator",), seed=1, host="127.0.0.1", port=0):
        self.secret_key = secret_key
        self.sdkappid = sdkappid
        self.admins = set(admins)
        self.rooms = make_rooms(rooms, seed)
        self.records = []
        self.lock = threading.Lock()
        self._cursors = {}               # cursor text -> index of the next room
        self._window = collections.deque()  # arrival times within the last second
        self._seq = 0
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                url = urllib.parse.urlsplit(self.path)
                if url.path != PATH:
                    self._plain(404, b"not found\n")
                    return
                status, answer = api.handle(url.query, body, self.client_address)
                payload = json.dumps(answer, indent=4, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._plain(405, b"method not allowed\n")

            do_PUT = do_DELETE = do_HEAD = do_GET

            def _plain(self, status, text):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(text)

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(5)

    def total_views(self):
        return sum(r["ViewCount"] for r in self.rooms)

    def _envelope(self, code, info):
        self._seq += 1
        return {"ActionStatus": "OK" if code == 0 else "FAIL", "ErrorInfo": info, "ErrorCode": code,
                "RequestId": "Id-%s-O-Seq-%d" % (secrets.token_hex(16), self._seq)}

    def handle(self, query_text, body, peer):
        """Answers one POST to PATH: (http status, answer object). Records the request."""
        now = time.time()
        query = urllib.parse.parse_qs(query_text, keep_blank_values=True)
        params = {k: v[0] for k, v in query.items()}
        rec = {"time": now, "peer": peer, "query": params, "dup_params": [k for k, v in
               query.items() if len(v) > 1], "body": body, "usersig": None, "code": None}
        with self.lock:
            self.records.append(rec)
            code, info, response = self._answer(now, params, body, rec)
            rec["code"] = code
            answer = self._envelope(code, info)
            if response is not None:
                answer["Response"] = response
        return 200, answer

    def _answer(self, now, params, body, rec):
        # Sliding one-second window over every call, counted before anything else.
        self._window.append(now)
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) > MAX_CALLS_PER_SECOND:
            return 60007, "request frequency exceeded the limit", None
        if rec["dup_params"]:
            return 60002, "repeated query parameter", None
        sdk = params.get("sdkappid", "")
        if not sdk.isdigit():
            return 60012, "sdkappid missing or invalid", None
        if int(sdk) != self.sdkappid:
            return 60020, "sdkappid not found", None
        rnd = params.get("random", "")
        if not rnd.isdigit() or int(rnd) > 0xFFFFFFFF:
            return 60002, "random must be an unsigned 32-bit integer", None
        if params.get("contenttype") != "json":
            return 60002, "contenttype must be json", None
        identifier = params.get("identifier", "")
        code, info, doc = check_usersig(params.get("usersig", ""), self.secret_key, identifier,
                                        self.sdkappid, int(now))
        rec["usersig"] = doc
        if code:
            return code, info, None
        if identifier not in self.admins:
            return 60010, "identifier is not an App Administrator", None
        try:
            req = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeError):
            return 60003, "request body is not valid JSON", None
        if (not isinstance(req, dict) or not isinstance(req.get("Next"), str)
                or not isinstance(req.get("Count"), int) or isinstance(req.get("Count"), bool)
                or not 1 <= req["Count"] <= 20):
            return 100002, "invalid parameter: Next must be a string, Count 1..20", None
        if req["Next"] == "":
            start = 0
        elif req["Next"] in self._cursors:
            start = self._cursors[req["Next"]]
        else:
            return 100002, "invalid parameter: unknown Next", None
        page = self.rooms[start:start + req["Count"]]
        end = start + len(page)
        nxt = ""
        if end < len(self.rooms):
            nxt = "%d-%012d" % (int(now), secrets.randbelow(10**12))
            self._cursors[nxt] = end
        return 0, "", {"Next": nxt, "RoomList": page}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rooms", type=int, default=57)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sdkappid", type=int, default=1400000000)
    ap.add_argument("--identifier", default="administrator")
    ap.add_argument("--secret-key", required=True)
    args = ap.parse_args()
    api = IndependentApi(rooms=args.rooms, secret_key=args.secret_key, sdkappid=args.sdkappid,
                         admins=(args.identifier,), seed=args.seed, port=args.port)
    print("listening on %s" % api.url, flush=True)
    try:
        api.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
