#!/usr/bin/env python3
"""Sends SIGTERM to a training run once its log has some steps, then checks
that it stopped cleanly: exit status 128 + SIGTERM (143) or, under mpirun,
non-zero; the line "stopped by a signal after step K of N; the checkpoint
... holds it"; a log whose last step is K.

usage: signal_stop.py LOG.csv MIN_STEPS -- COMMAND...
Prints K (the step the run stopped after) on stdout.
"""
import os
import re
import signal
import subprocess
import sys
import time


def steps_in(log):
    if not os.path.exists(log):
        return []
    return [int(l.split(",")[0]) for l in open(log) if l[:1].isdigit()]


def main():
    sep = sys.argv.index("--")
    log, min_steps = sys.argv[1], int(sys.argv[2])
    cmd = sys.argv[sep + 1:]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(steps_in(log)) < min_steps:
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            sys.exit(f"the run ended or stalled before {min_steps} steps: {p.stderr.read()}")
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    m = re.search(r"stopped by a signal after step (\d+) of \d+; the checkpoint '[^']+' holds it", err)
    if not m:
        sys.exit(f"no stop line; exit {p.returncode}; stderr:\n{err}")
    k = int(m.group(1))
    mpi = any("mpirun" in os.path.basename(c) for c in cmd)
    if (p.returncode == 0) if mpi else (p.returncode != 128 + signal.SIGTERM):
        sys.exit(f"exit status {p.returncode}")
    logged = steps_in(log)
    if not logged or logged[-1] != k:
        sys.exit(f"the log ends at step {logged[-1] if logged else None}, not {k}")
    print(k)


if __name__ == "__main__":
    main()
