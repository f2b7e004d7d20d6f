#!/usr/bin/env python3
"""Server instructions per echoed message, counted by callgrind.

Wall-clock CPU time on a shared 2-core machine moves by tens of percent
between runs; instruction counts do not. Each echo server
(target/release/echo-NAME) runs under `valgrind --tool=callgrind`; its
counters are zeroed once it listens, `sockeye load` drives it for a few
seconds, the counters are dumped, and the user-space instructions are
divided by the messages echoed. Kernel work (system calls, TCP) is not
counted: the end-to-end harness (e2e) measures all of it, less steadily.

    cargo build --release -p sockeye-cli -p sockeye-benches --bins
    python3 benches/instructions.py --servers sockeye-tokio,old-tokio --cells small,many

An older build is compared by copying its echo server into
target/release as echo-NAME. Needs valgrind (Debian's package).
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

CELLS = {
    "small": (["-c", "1", "-w", "64", "-s", "16"], "1 conn × 64 in flight, 16 B"),
    "many": (["-c", "20", "-w", "16", "-s", "1k"], "20 conns × 16 in flight, 1 KiB"),
    "text64k": (["-c", "1", "-w", "8", "-s", "64k"], "1 conn × 8 in flight, 64 KiB text"),
}


def measure(bin_dir, server, cell, seconds, scratch):
    out = os.path.join(scratch, f"{server}-{cell}.out")
    server_process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         os.path.join(bin_dir, f"echo-{server}"), "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server_process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"echo-{server} did not report its address: {line!r}")
        addr = line[len("listening on "):]
        subprocess.run(["callgrind_control", "--zero", str(server_process.pid)],
                       capture_output=True, check=True)
        load = subprocess.run(
            [os.path.join(bin_dir, "sockeye"), "load", f"ws://{addr}/", *CELLS[cell][0],
             "-d", f"{seconds}s", "--json",
             # The raw TCP floor answers no handshake; its bytes are counted.
             *(["--raw-echo"] if server == "floor" else [])],
            capture_output=True, text=True, timeout=seconds * 10 + 60)
        messages = json.loads(load.stdout.strip().splitlines()[-1])["messages"]
        subprocess.run(["callgrind_control", "--dump", str(server_process.pid)],
                       capture_output=True, check=True)
        time.sleep(0.5)
    finally:
        server_process.terminate()
        server_process.wait(timeout=30)
    dumps = sorted(glob.glob(out + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
    text = open(dumps[0]).read()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(match.group(1)) / messages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="sockeye-tokio,sockeye-smol,sockeye-std")
    parser.add_argument("--cells", default="small,many,text64k")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--bin-dir", default="target/release")
    args = parser.parse_args()
    servers = args.servers.split(",")
    cells = args.cells.split(",")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):
            for cell in cells:
                for server in servers:
                    per = measure(args.bin_dir, server, cell, args.seconds, scratch)
                    results.setdefault((cell, server), []).append(per)
                    print(f"{cell} / {server}: {per:.0f} instructions per message",
                          file=sys.stderr, flush=True)
    print("| cell | server | instructions per message | ÷ first server |")
    print("|---|---|--:|--:|")
    for cell in cells:
        first = None
        for server in servers:
            values = sorted(results[(cell, server)])
            median = values[len(values) // 2]
            first = first or median
            print(f"| {CELLS[cell][1]} | {server} | {median:.0f} | {median / first:.2f}× |")


if __name__ == "__main__":
    main()
