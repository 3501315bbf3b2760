#!/usr/bin/env python3
"""Figure 3, memory of the exporter process (VmHWM / VmRSS from /proc/PID/status).

  peak     100,000 rooms with every room series (max_room_series: 0), three walks
           back to back (interval 1s, shorter than a walk), so the peak includes a walk and a render
           while the previous walk's body is still being served; one gzip scrape
           per poll.
  steady   10,000 rooms (max_room_series: 0), a walk every second (each takes a
           fraction of it); VmRSS right after walk 1 and right after walk 100
           completed (polled every 50 ms, so the walker is idle when sampled).
           Measured twice: cold (the first walk right after start) and warm (walks
           counted after 100 scrapes on fresh connections). The first scrapes each
           wake another web worker thread, whose stack pages then stay resident:
           about 1 MiB once, bounded by the pool size and unrelated to walks. The
           warm run separates that from anything walks would leave behind.
At 10 calls/s a walk of 100,000 rooms (5,000 pages) takes 500 s, so both the
simulator (--max-qps) and the exporter (max_qps with allow_qps_above_limit) run at
a raised ceiling of 1000 calls/s; the ceiling changes how fast walks come, not
what they hold.
"""
import gzip
import time

import benchlib as b

PEAK_ROOMS = b.sizes([100000], [1000])[0]
STEADY_ROOMS = 200 if b.smoke() else 10000
STEADY_WALKS = 5 if b.smoke() else 100
QPS = 1000


def health(url):
    """(last success timestamp, walk failures) from a gzip scrape's health tail."""
    _, body = b.http_get(url + "/metrics", headers={"Accept-Encoding": "gzip"}, timeout=120)
    text = gzip.decompress(body).decode()
    tail = text[-200000:]  # the per-scrape health text comes last
    samples = b.parse_exposition(tail, partial_first_line=len(tail) < len(text))
    failures = b.total(samples, "tencent_live_walk_failures_total")
    # Absent until a walk completes.
    success = b.value_or_none(samples, "tencent_live_last_success_timestamp_seconds") or 0.0
    return success, failures


def run(rooms, interval, checkpoints, poll, warm_scrapes=0):
    """VmRSS/VmHWM right after walk k completed, for each k in `checkpoints`
    (walks counted after `warm_scrapes` scrapes, when there are any)."""
    sim, endpoint = b.start_simulator(rooms, max_qps=QPS)
    config = b.write_config(endpoint, interval=interval, max_qps=QPS,
                            allow_qps_above_limit=True, max_room_series=0, stale_after="2h")
    exporter, url = b.start_exporter(config)
    samples = {}
    completed, last = 0, 0.0
    for _ in range(warm_scrapes):
        last, _ = health(url)
    deadline = time.time() + 900
    while completed < max(checkpoints):
        if time.time() > deadline:
            raise RuntimeError(f"only {completed} walks completed")
        success, failures = health(url)
        if failures:
            raise RuntimeError(f"{failures} walks failed")
        if success != last:  # a walk completed since the last poll
            completed, last = completed + 1, success
            if completed in checkpoints:
                samples[completed] = b.proc_status(exporter.pid)
        time.sleep(poll)
    b.stop(exporter)
    b.stop(sim)
    return samples


def main():
    b.log(f"memory: {PEAK_ROOMS} rooms, 3 walks")
    peak = run(PEAK_ROOMS, "1s", [1, 3], poll=0.2)
    b.log(f"memory: {STEADY_ROOMS} rooms, {STEADY_WALKS} walks")
    checkpoints = sorted({1, 2, 5, 10, 25, 50, STEADY_WALKS} if not b.smoke() else {1, 2, STEADY_WALKS})
    steady = run(STEADY_ROOMS, "1s", checkpoints, poll=0.05)
    first, last = steady[1]["VmRSS"], steady[STEADY_WALKS]["VmRSS"]
    b.log(f"memory: {STEADY_ROOMS} rooms, {STEADY_WALKS} walks after 100 warm-up scrapes")
    warm = run(STEADY_ROOMS, "1s", checkpoints, poll=0.05, warm_scrapes=100)
    warm_first, warm_last = warm[1]["VmRSS"], warm[STEADY_WALKS]["VmRSS"]
    print("### Figure 3: memory (" + b.load_note() + " at the end)\n")
    print("VmRSS MiB of the 10,000-room run after each number of walks: " +
          ", ".join(f"{k}: {steady[k]['VmRSS']:.1f}" for k in checkpoints) + "\n")
    b.table(["rooms", "walks", "VmRSS MiB", "VmHWM (peak) MiB", "note"], [
        [PEAK_ROOMS, 1, f"{peak[1]['VmRSS']:.1f}", f"{peak[1]['VmHWM']:.1f}", "all room series"],
        [PEAK_ROOMS, 3, f"{peak[3]['VmRSS']:.1f}", f"{peak[3]['VmHWM']:.1f}", "all room series"],
        [STEADY_ROOMS, 1, f"{first:.1f}", f"{steady[1]['VmHWM']:.1f}", ""],
        [STEADY_ROOMS, STEADY_WALKS, f"{last:.1f}", f"{steady[STEADY_WALKS]['VmHWM']:.1f}",
         f"cold: RSS after {STEADY_WALKS} walks / after 1: {last / first:.3f}"],
        [STEADY_ROOMS, 1, f"{warm_first:.1f}", f"{warm[1]['VmHWM']:.1f}", "warm (after 100 scrapes)"],
        [STEADY_ROOMS, STEADY_WALKS, f"{warm_last:.1f}", f"{warm[STEADY_WALKS]['VmHWM']:.1f}",
         f"warm: RSS after {STEADY_WALKS} walks / after 1: {warm_last / warm_first:.3f}"],
    ])


if __name__ == "__main__":
    main()
