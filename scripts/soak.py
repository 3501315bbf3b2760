#!/usr/bin/env python3
"""Soak test: the exporter against the simulator with faults switched on at random.

Starts build/<preset>/tencent_live_simulator and build/<preset>/tencent_live_exporter on free
loopback ports, then for --duration seconds switches random faults on the simulator over
POST /-/sim/faults (a few at a time, random probabilities, changed every --switch-every seconds),
scrapes /metrics, and samples the exporter's resident memory from /proc/PID/status.

Reports walks, failures by reason, API errors by code, crashes (the exporter or the simulator
exiting on its own; the exporter is restarted so the soak goes on) and RSS after the warm-up and at
the end. Exits 1 when there was a crash, an unclean shutdown or RSS grew by more than
--max-rss-growth-mib. Not part of CI: it is meant to run for minutes to hours.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from tle_testlib import by_label, free_port, parse_exposition, total  # noqa: E402

FAULTS = [
    "internal_error", "http_502", "slow", "close_mid_body", "malformed_json",
    "ok_without_response", "wrong_types", "missing_fields", "invalid_utf8", "duplicate_room",
    "cursor_loop", "huge_answer", "rate_limit", "expired", "bad_signature", "not_admin",
]
SECRET = "demo-secret-key-not-for-production"


def http(url, method="GET", timeout=10):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return res.read().decode("utf-8")


def rss_bytes(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix="tle-soak-")
        self.sim = None
        self.exporter = None
        self.crashes = []
        self.sim_port = free_port()
        self.exporter_port = free_port()
        self.log_path = os.path.join(self.tmp, "exporter.log")

    def start_simulator(self):
        cmd = [os.path.join(self.args.build_dir, "tencent_live_simulator"),
               "--rooms=%d" % self.args.rooms, "--seed=%d" % self.args.seed,
               "--port=%d" % self.sim_port, "--host=127.0.0.1", "--churn"]
        self.sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.sim.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError("simulator did not start: %r" % line)

    def start_exporter(self):
        config = os.path.join(self.tmp, "config.yml")
        with open(config, "w") as f:
            f.write(
                "defaults:\n"
                "  interval: %ds\n"
                "  request_timeout: 2s\n"
                "  max_retries: 2\n"
                "  stale_after: 60s\n"
                "apps:\n"
                "  - sdkappid: 1400000000\n"
                "    endpoint: http://127.0.0.1:%d\n"
                "    identifier: administrator\n"
                "    secret_key_env: TLE_SOAK_SECRET\n" % (self.args.interval, self.sim_port))
        env = dict(os.environ, TLE_SOAK_SECRET=SECRET)
        cmd = [os.path.join(self.args.build_dir, "tencent_live_exporter"),
               "--config.file=" + config,
               "--web.listen-address=127.0.0.1:%d" % self.exporter_port,
               "--log.level=warn"]
        log = open(self.log_path, "a")
        self.exporter = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                http("http://127.0.0.1:%d/-/healthy" % self.exporter_port, timeout=1)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError("exporter did not become healthy; see " + self.log_path)

    def switch_faults(self):
        base = "http://127.0.0.1:%d/-/sim/faults" % self.sim_port
        http(base + "?clear=1", method="POST")
        chosen = self.rng.sample(FAULTS, self.rng.randint(0, self.args.max_faults))
        for name in chosen:
            prob = round(self.rng.uniform(0.02, self.args.max_probability), 3)
            http("%s?set=%s:%s" % (base, name, prob), method="POST")
        return chosen

    def check_alive(self):
        for name, proc, restart in (("exporter", self.exporter, self.start_exporter),
                                    ("simulator", self.sim, self.start_simulator)):
            code = proc.poll()
            if code is not None:
                self.crashes.append("%s exited with %d at %.0fs" % (name, code, time.time() - self.t0))
                restart()

    def scrape(self):
        text = http("http://127.0.0.1:%d/metrics" % self.exporter_port)
        return parse_exposition(text)

    def run(self):
        args = self.args
        self.start_simulator()
        self.start_exporter()
        self.t0 = time.time()
        end = self.t0 + args.duration
        warmup_end = self.t0 + min(args.warmup, args.duration / 2)
        rss_start = None
        rss_max = 0
        next_switch = 0
        next_scrape = 0
        scrapes = scrape_errors = 0
        switches = 0
        samples = []
        while time.time() < end:
            now = time.time()
            self.check_alive()
            if now >= next_switch:
                self.switch_faults()
                switches += 1
                next_switch = now + args.switch_every
            if now >= next_scrape:
                try:
                    samples = self.scrape()
                    scrapes += 1
                except Exception as e:  # a bad exposition or no answer is a finding
                    scrape_errors += 1
                    print("scrape failed: %s" % e, file=sys.stderr)
                next_scrape = now + args.scrape_every
            rss = rss_bytes(self.exporter.pid)
            if rss is not None:
                rss_max = max(rss_max, rss)
                if rss_start is None and now >= warmup_end:
                    rss_start = rss
            time.sleep(1)
        # The last minute without faults: the exporter must recover by itself.
        http("http://127.0.0.1:%d/-/sim/faults?clear=1" % self.sim_port, method="POST")
        self.check_alive()
        rss_end = rss_bytes(self.exporter.pid)
        try:
            samples = self.scrape()
            scrapes += 1
        except Exception as e:
            scrape_errors += 1
            print("final scrape failed: %s" % e, file=sys.stderr)
        sim_stats = http("http://127.0.0.1:%d/-/sim/stats" % self.sim_port)

        # SIGTERM: the exporter must exit 0 within 5 seconds.
        self.exporter.send_signal(signal.SIGTERM)
        try:
            shutdown = self.exporter.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.exporter.kill()
            shutdown = "timeout"
        self.sim.send_signal(signal.SIGTERM)
        try:
            self.sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.sim.kill()

        mib = 1024.0 * 1024.0
        failures = by_label(samples, "tencent_live_walk_failures_total", "reason")
        errors = by_label(samples, "tencent_live_api_errors_total", "code")
        rejected = by_label(samples, "tencent_live_rooms_rejected_total", "reason")
        print("soak: %ds against the simulator (%d rooms), faults switched %d times"
              % (args.duration, args.rooms, switches))
        print("walks:            %d" % total(samples, "tencent_live_walks_total"))
        print("failures:         %d  %s" % (sum(failures.values()),
              " ".join("%s=%d" % kv for kv in sorted(failures.items()))))
        print("api requests:     %d" % total(samples, "tencent_live_api_requests_total"))
        print("api errors:       %s" % " ".join("%s=%d" % kv for kv in sorted(errors.items())))
        print("retries:          %d" % total(samples, "tencent_live_api_retries_total"))
        print("rooms rejected:   %s" % " ".join("%s=%d" % kv for kv in sorted(rejected.items())))
        print("scrapes:          %d ok, %d failed" % (scrapes, scrape_errors))
        print("crashes:          %d %s" % (len(self.crashes), "; ".join(self.crashes)))
        print("shutdown:         %s" % ("exit 0" if shutdown == 0 else "BAD (%s)" % shutdown))
        if rss_start is None:
            rss_start = rss_end
        print("rss start:        %.1f MiB (after %ds warm-up)" % (rss_start / mib, args.warmup))
        print("rss end:          %.1f MiB (max %.1f MiB)" % (rss_end / mib, rss_max / mib))
        print("simulator stats:  %s" % sim_stats.strip())
        growth = (rss_end - rss_start) / mib
        ok = not self.crashes and shutdown == 0 and growth <= args.max_rss_growth_mib \
            and scrape_errors == 0
        print("result:           %s" % ("PASS" if ok else "FAIL"))
        if not ok:
            print("exporter log (kept): " + self.log_path, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=600, help="seconds (default 600)")
    p.add_argument("--build-dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "release"))
    p.add_argument("--rooms", type=int, default=500)
    p.add_argument("--interval", type=int, default=2, help="walk interval in seconds")
    p.add_argument("--switch-every", type=float, default=10)
    p.add_argument("--scrape-every", type=float, default=5)
    p.add_argument("--max-faults", type=int, default=4, help="faults on at once, at most")
    p.add_argument("--max-probability", type=float, default=0.4)
    p.add_argument("--warmup", type=int, default=60, help="seconds before the start RSS sample")
    p.add_argument("--max-rss-growth-mib", type=float, default=16)
    p.add_argument("--seed", type=int, default=int(time.time()))
    args = p.parse_args()
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
