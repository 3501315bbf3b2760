#!/usr/bin/env python3
"""Figure 1, walk efficiency: how close one background walk comes to the ideal
(pages - 1) / max_qps, and how many calls the API rejected for frequency.

The simulator serves N rooms with no added latency and the given calls/s limit;
the exporter walks it once (interval 1h) with max_qps set to the same ceiling
(above 10 with allow_qps_above_limit: true). Walk time and pages come from the
exporter's own tencent_live_walk_duration_seconds / tencent_live_walk_pages,
rejections from the simulator's /-/sim/stats.
"""
import benchlib as b

SIZES = b.sizes([2000, 20000], [200])
CEILINGS = [10, 100]


def run(rooms, qps):
    sim, endpoint = b.start_simulator(rooms, max_qps=qps)
    config = b.write_config(endpoint, interval="1h", max_qps=qps,
                            allow_qps_above_limit=qps > 10, stale_after="2h")
    exporter, url = b.start_exporter(config)
    ideal_guess = rooms / 20 / qps
    b.wait_ready(url, timeout=ideal_guess * 2 + 60)
    text = b.scrape_text(url)
    stats = b.sim_stats(endpoint)
    b.stop(exporter)
    b.stop(sim)
    samples = b.parse_exposition(text)
    pages = b.one(samples, "tencent_live_walk_pages")
    seconds = b.one(samples, "tencent_live_walk_duration_seconds")
    # The walk's own calls: get_room_list (the histogram has a series per API).
    req_sum = b.one(samples, "tencent_live_api_request_duration_seconds_sum", api="get_room_list")
    req_count = b.one(samples, "tencent_live_api_request_duration_seconds_count",
                      api="get_room_list")
    ideal = (pages - 1) / qps
    return [rooms, qps, int(pages), f"{seconds:.2f}", f"{ideal:.2f}",
            f"{seconds / ideal:.3f}" if ideal > 0 else "n/a",
            f"{1000 * req_sum / req_count:.2f}", stats["requests"], stats["rate_limited"]]


def main():
    rows = []
    for rooms in SIZES:
        for qps in CEILINGS:
            b.log(f"walk efficiency: {rooms} rooms at {qps} calls/s")
            rows.append(run(rooms, qps))
    print("### Figure 1: walk efficiency (" + b.load_note() + " at the end)\n")
    b.table(["rooms", "max_qps", "pages", "walk s", "ideal s", "walk / ideal",
             "mean request ms", "API calls", "rate-limit rejections"], rows)


if __name__ == "__main__":
    main()
