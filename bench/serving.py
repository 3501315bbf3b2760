#!/usr/bin/env python3
"""Figure 2, serving: /metrics of the exporter next to nginx serving the same
bytes as a static file, under wrk, plain and gzip.

For each room count the simulator (and the exporter's max_qps, with
allow_qps_above_limit) runs at a raised ceiling of 1000 calls/s so the first
walk of 100,000 rooms (5,000 pages) takes seconds, not 500 s; the ceiling does
not change what is served. With max_room_series: 0 every room has its series.
After the first walk one /metrics body is saved as a file (and `gzip -k`'d for
gzip_static); nginx serves that directory from an unprivileged foreground
process on a free 127.0.0.1 port. Then, alternating exporter and nginx:
  wrk -t2 -c16 -d15s --timeout 30s --latency URL   (+ -H 'Accept-Encoding: gzip')

After the largest size, the same exporter's VmRSS with 1000 client
connections open: first idle (connected, nothing sent), then each with a
request half sent (request line and one header field, so each has its parser
and buffer). The exporter runs with --web.max-connections=1100 so all 1000 are
held; both figures are taken within the 5 s a connection may wait for its
request.
"""
import os
import re
import resource
import shutil
import socket
import subprocess
import time

import benchlib as b

SIZES = b.sizes([1000, 10000, 100000], [100])
DURATION = "2s" if b.smoke() else "15s"
WRK = ["wrk", "-t2", "-c16", "-d" + DURATION, "--timeout", "30s", "--latency"]

NGINX_CONF = """
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100;
  default_type "text/plain; version=0.0.4; charset=utf-8";
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location = /metrics {{ gzip_static on; }}
  }}
}}
"""


def start_nginx(body):
    d = os.path.join(b.workdir(), "nginx")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    path = os.path.join(d, "www", "metrics")
    with open(path, "wb") as f:
        f.write(body)
    if os.path.exists(path + ".gz"):
        os.remove(path + ".gz")
    subprocess.run(["gzip", "-k", path], check=True)
    for f in (path, path + ".gz"):
        os.chmod(f, 0o644)
    port = b.free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port))
    proc = b.spawn(["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "nginx-error.log"),
                    "-g", "daemon off;"], "nginx")
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            b.http_get(url + "/metrics", timeout=30)
            return proc, url, os.path.getsize(path), os.path.getsize(path + ".gz")
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("nginx exited; see " + os.path.join(d, "nginx-error.log"))
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url, gzip):
    args = WRK + (["-H", "Accept-Encoding: gzip"] if gzip else []) + [url + "/metrics"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    return rps, p50, p99, errors


def start_exporter(config):
    """benchlib.start_exporter, with room for 1000 idle connections."""
    port = b.free_port()
    env = dict(os.environ, TLE_BENCH_SECRET=b.SECRET)
    proc = b.spawn([b.EXPORTER, f"--config.file={config}",
                    f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                    "--web.max-connections=1100"], "exporter", env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            b.http_get(url + "/-/healthy", timeout=2)
            return proc, url, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("exporter exited at start-up; see its log")
            time.sleep(0.05)
    raise RuntimeError("exporter did not start")


def idle_connections_rss(proc, port, count):
    """VmRSS before, with `count` idle connections, and with `count` half-sent
    requests (MiB), and how many of the connections were still open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
    time.sleep(6)  # wrk's keep-alive connections are gone
    before = b.proc_status(proc.pid)["VmRSS"]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    time.sleep(1)
    idle = b.proc_status(proc.pid)["VmRSS"]
    for s in socks:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n")
    time.sleep(1)
    partial = b.proc_status(proc.pid)["VmRSS"]
    still_open = 0
    for s in socks:
        s.setblocking(False)
        try:
            still_open += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
        s.close()
    return before, idle, partial, still_open


def main():
    if not shutil.which("wrk") or not shutil.which("nginx"):
        raise SystemExit("serving: wrk and nginx are needed (scripts/install-deps.sh bench)")
    rows = []
    for rooms in SIZES:
        b.log(f"serving: {rooms} rooms")
        sim, endpoint = b.start_simulator(rooms, max_qps=1000)
        config = b.write_config(endpoint, interval="1h", max_qps=1000,
                                allow_qps_above_limit=True, max_room_series=0,
                                stale_after="2h")
        exporter, url, port = start_exporter(config)
        b.wait_ready(url, timeout=300)
        _, body = b.http_get(url + "/metrics", timeout=120)
        _, gz = b.http_get(url + "/metrics", headers={"Accept-Encoding": "gzip"}, timeout=120)
        nginx, nginx_url, plain_size, gz_size = start_nginx(body)
        for gzip in (False, True):
            ours = wrk(url, gzip)
            theirs = wrk(nginx_url, gzip)
            rows.append([
                rooms, "gzip" if gzip else "plain",
                f"{(len(gz) if gzip else len(body)) / 1048576:.2f} / "
                f"{(gz_size if gzip else plain_size) / 1048576:.2f}",
                f"{ours[0]:.1f}", f"{theirs[0]:.1f}",
                f"{ours[1]:.2f}", f"{theirs[1]:.2f}", f"{ours[1] / theirs[1]:.2f}",
                f"{ours[2]:.2f}", f"{theirs[2]:.2f}", f"{ours[2] / theirs[2]:.2f}",
                f"{ours[3]} / {theirs[3]}"])
        b.stop(nginx)
        if rooms == SIZES[-1]:
            count = 100 if b.smoke() else 1000
            before, idle, partial, still_open = idle_connections_rss(exporter, port, count)
            idle_rows = [[rooms, count, f"{before:.1f}", f"{idle:.1f}", f"{partial:.1f}",
                          f"{idle - before:+.1f}", f"{partial - before:+.1f}",
                          f"{still_open} / {count}"]]
        b.stop(exporter)
        b.stop(sim)
    print("### Figure 2: serving /metrics vs nginx, same bytes (" + b.load_note() + " at the end)\n")
    print("`" + " ".join(WRK) + " URL` (gzip rows add `-H 'Accept-Encoding: gzip'`); "
          "exporter / nginx side by side.\n")
    b.table(["rooms", "encoding", "MiB ours / nginx", "req/s ours", "req/s nginx",
             "p50 ms ours", "p50 ms nginx", "p50 ratio", "p99 ms ours", "p99 ms nginx",
             "p99 ratio", "errors ours / nginx"], rows)
    print("\nVmRSS of the exporter (MiB) with client connections open "
          "(`--web.max-connections=1100`):\n")
    b.table(["rooms", "connections", "before", "idle", "half-sent requests", "idle delta",
             "half-sent delta", "still open after"], idle_rows)


if __name__ == "__main__":
    main()
