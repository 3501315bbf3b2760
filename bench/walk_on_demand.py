#!/usr/bin/env python3
"""Figure 5, the alternative a user might write: a /metrics that walks every
page of get_room_list inside the scrape, next to ours, at 2,000 rooms and the
API's 10 calls/s (bench_walk_on_demand; one in-process simulator for both)."""
import os
import subprocess

import benchlib as b

ROOMS = b.sizes([2000], [100])[0]


def main():
    args = [os.path.join(b.BUILD, "bench", "bench_walk_on_demand"), f"--rooms={ROOMS}",
            "--scrapes=" + ("5" if b.smoke() else "100"),
            "--naive-scrapes=" + ("1" if b.smoke() else "3")]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    print("### Figure 5: walk on demand vs background walk (" + b.load_note() + " at the end)\n")
    print("Plain-text scrapes, one after the other (the on-demand ones 1.1 s apart so the "
          "API's window empties), then two on-demand scrapes at once, as two Prometheus "
          "replicas would send them. Every room series on.\n")
    print(out, end="")


if __name__ == "__main__":
    main()
