#!/usr/bin/env python3
"""Figure 4, render cost: ns per series to turn a snapshot into exposition text
and into gzip (bench_render; every room series on, median of 5 runs)."""
import os
import subprocess

import benchlib as b

ROOMS = b.sizes([1000, 10000, 100000], [100, 1000])


def main():
    args = [os.path.join(b.BUILD, "bench", "bench_render"),
            "--rooms=" + ",".join(str(n) for n in ROOMS), "--repeat=" + ("1" if b.smoke() else "5")]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    print("### Figure 4: render cost (" + b.load_note() + " at the end)\n")
    print("text = render + assemble (what a plain scrape serves); gzip = text + deflate "
          "(level 6). Both happen once per walk, not per scrape.\n")
    print(out, end="")


if __name__ == "__main__":
    main()
