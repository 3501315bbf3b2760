"""Shared helpers of the benchmark scripts (issue 5): start the simulator, the
exporter and nginx as child processes on free loopback ports, scrape, read
/proc, print markdown tables. Standard library only.

Every process a script starts is registered and terminated (by its pid) when
the script exits, also on errors and Ctrl-C.
"""

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
# Re-exported: the bench scripts call b.free_port, and read scrapes with b.parse_exposition and
# the picking helpers (one, total, value_or_none), the tests' own exposition parser.
from tle_testlib import free_port, one, parse_exposition, total, value_or_none  # noqa: E402,F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TLE_BENCH_BUILD", os.path.join(ROOT, "build", "release"))
EXPORTER = os.path.join(BUILD, "tencent_live_exporter")
SIMULATOR = os.path.join(BUILD, "tencent_live_simulator")
SECRET = "demo-secret-key-not-for-production"  # the simulator's default
SDKAPPID = 1400000000

_children = []
_workdir = tempfile.mkdtemp(prefix="tle-bench-")
os.chmod(_workdir, 0o755)  # nginx workers may run as another user (when started as root)


def _cleanup():
    for proc in reversed(_children):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    subprocess.run(["rm", "-rf", _workdir], check=False)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def workdir():
    return _workdir


def smoke():
    return os.environ.get("TLE_BENCH_SMOKE") == "1"


def sizes(full, small):
    """Room counts: --rooms=N,N,... on the command line, else `small` in smoke mode, else `full`."""
    for arg in sys.argv[1:]:
        if arg.startswith("--rooms="):
            return [int(x) for x in arg[len("--rooms="):].split(",")]
    return small if smoke() else full


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def spawn(args, name, **kwargs):
    logfile = open(os.path.join(_workdir, name + ".log"), "ab")
    proc = subprocess.Popen(args, stdout=kwargs.pop("stdout", logfile), stderr=logfile, **kwargs)
    _children.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=15)


def start_simulator(rooms, max_qps=10, latency_ms=0):
    """Returns (process, endpoint)."""
    proc = spawn([SIMULATOR, f"--rooms={rooms}", f"--max-qps={max_qps}",
                  f"--latency={latency_ms}"], "simulator", stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc, m.group(1)


def http_get(url, headers=None, timeout=60):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return res.status, res.read()


def sim_stats(endpoint):
    return json.loads(http_get(endpoint + "/-/sim/stats")[1])


def write_config(endpoint, **walk):
    """An exporter config for the simulator at `endpoint`; `walk` overrides defaults."""
    lines = ["defaults:"]
    for key, value in walk.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        lines.append(f"  {key}: {value}")
    if len(lines) == 1:
        lines = []
    lines += ["apps:",
              f"  - sdkappid: {SDKAPPID}",
              f"    endpoint: {endpoint}",
              "    identifier: administrator",
              "    secret_key_env: TLE_BENCH_SECRET"]
    fd, path = tempfile.mkstemp(suffix=".yml", dir=_workdir)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start_exporter(config):
    """Returns (process, base URL)."""
    port = free_port()
    env = dict(os.environ, TLE_BENCH_SECRET=SECRET)
    proc = spawn([EXPORTER, f"--config.file={config}",
                  f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                 "exporter", env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            http_get(url + "/-/healthy", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("exporter exited at start-up; see its log")
            time.sleep(0.05)
    raise RuntimeError("exporter did not start")


def wait_ready(url, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if http_get(url + "/-/ready", timeout=5)[0] == 200:
                return
        except urllib.error.HTTPError:
            pass
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"exporter not ready after {timeout} s")


def scrape_text(url):
    return http_get(url + "/metrics", timeout=120)[1].decode()


def proc_status(pid):
    """VmRSS and VmHWM of `pid`, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    load = open("/proc/loadavg").read().split()[:3]
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": mem_kb / 1048576.0,
            "load": " ".join(load)}


def load_note():
    return "load average " + " ".join(open("/proc/loadavg").read().split()[:3])


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    sys.stdout.flush()
