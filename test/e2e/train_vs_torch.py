#!/usr/bin/env python3
"""Trains a committed model with a bbc training binary and compares the
trajectory with PyTorch's (test/models/make_train_refs.py).

usage: train_vs_torch.py MODEL.onnx RUN.json OUT_DIR [--rtol R] [--atol A]
                         [--bbc-flag FLAG ...] [--ranks N]

Compiles MODEL with RUN.json's bbc_flags (plus any --bbc-flag, e.g.
--cluster=cpu:2 or --strategy=dp=2,tp=2) into OUT_DIR/train, runs it with its
binary_flags (data paths relative to RUN.json's folder) and --log, under
`mpirun -np N` when --ranks is given, then checks loss, learning rate and
gradient norm of every step with check_train.py. bbc comes from PATH.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--rtol", default="1e-4")
    ap.add_argument("--atol", default="1e-6")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--bbc-flag", action="append", default=[])
    ap.add_argument("--ranks", type=int, default=0)
    args = ap.parse_args()

    with open(args.run) as f:
        run = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    exe = os.path.join(os.path.abspath(args.out), "train")
    log = os.path.join(os.path.abspath(args.out), "log.csv")
    if os.path.exists(log):
        os.remove(log)
    subprocess.run(["bbc", args.model, *run["bbc_flags"], *args.bbc_flag, "-o",
                    exe], check=True)
    launcher = []
    if args.ranks:
        launcher = [*shlex.split(os.environ["BB_MPIRUN"]), "-np", str(args.ranks)]
    subprocess.run([*launcher, exe, *run["binary_flags"], "--log", log,
                    "--threads", args.threads, "--print-every", "5"],
                   cwd=os.path.dirname(os.path.abspath(args.run)), check=True)
    return subprocess.run([sys.executable, os.path.join(HERE, "check_train.py"),
                           log, args.run, "--rtol", args.rtol, "--atol",
                           args.atol]).returncode


if __name__ == "__main__":
    sys.exit(main())
