#!/usr/bin/env python3
"""Where the threads recorded with `perf sched record` spent their time off the CPU.

Usage: scripts/off-cpu.py DATA [THREADS]

DATA is what `side_by_side --off-cpu DIR` leaves in DIR (`perf sched record -g` while our
process runs: every thread of the machine, the broker's included). For each of the THREADS (default 4) threads that ran longest, prints its run time,
the time it waited runnable for a CPU, and the time it slept, with its sleeps by length; then,
second by second, how the busiest thread split its time between running and sleeping. A
stream thread that sleeps in its 10 ms poll waits is waiting for the broker's data.
"""

import collections
import re
import subprocess
import sys

LINE = re.compile(r"^\s*(\d+\.\d+)\s+\[\d+\]\s+(.+?)\[(\d+)/\d+\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")
BUCKETS = [(0.1, "< 0.1 ms"), (1.0, "0.1-1 ms"), (5.0, "1-5 ms"), (20.0, "5-20 ms"), (float("inf"), ">= 20 ms")]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4
    out = subprocess.run(
        ["perf", "sched", "timehist", "-i", data], capture_output=True, text=True, check=True
    ).stdout
    # Per switch-in: the time the thread was off the CPU before it (`wait time`), of which
    # `sch delay` was spent runnable, and the time it then ran.
    threads = collections.defaultdict(lambda: {"name": "", "run": 0.0, "delay": 0.0, "slept": 0.0,
                                               "sleeps": collections.Counter(),
                                               "per_second": collections.defaultdict(lambda: [0.0, 0.0])})
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        at, name, tid, wait, delay, run = m.groups()
        t = threads[int(tid)]
        t["name"] = name.strip()
        wait, delay, run = float(wait), float(delay), float(run)
        slept = max(wait - delay, 0.0)
        t["run"] += run
        t["delay"] += delay
        t["slept"] += slept
        if slept > 0:
            label = next(label for limit, label in BUCKETS if slept < limit)
            t["sleeps"][label] += slept
        second = t["per_second"][int(float(at))]
        second[0] += run
        second[1] += slept
    busiest = sorted(threads.items(), key=lambda kv: -kv[1]["run"])[:top]
    for tid, t in busiest:
        print(f"{t['name']} [{tid}]: ran {t['run'] / 1e3:.2f} s, waited for a CPU {t['delay'] / 1e3:.2f} s, "
              f"slept {t['slept'] / 1e3:.2f} s")
        for _, label in BUCKETS:
            if t["sleeps"][label]:
                print(f"    sleeps {label:>9}: {t['sleeps'][label] / 1e3:7.2f} s")
    if busiest:
        tid, t = busiest[0]
        print(f"\n{t['name']} [{tid}] second by second (ms running / ms asleep):")
        for second in sorted(t["per_second"]):
            run, slept = t["per_second"][second]
            print(f"    {second}: {run:6.0f} / {slept:6.0f}")


if __name__ == "__main__":
    main()
