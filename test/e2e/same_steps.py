#!/usr/bin/env python3
"""Checks that two training logs agree bit for bit on a range of steps.

usage: same_steps.py A.csv B.csv --first N --last M
For every step N..M, the loss, lr and grad_norm fields (printed with %.9g,
which round-trips a float exactly) must be the same strings in both logs.
Lines starting with '#', the header and eval rows are skipped; when a step
appears more than once (a killed run that was resumed), its last row counts.
"""
import argparse
import sys


def rows(path):
    out = {}
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if not fields[0].isdigit():
                continue
            out[int(fields[0])] = fields[1:4]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    args = ap.parse_args()
    a, b = rows(args.a), rows(args.b)
    bad = 0
    for step in range(args.first, args.last + 1):
        if a.get(step) != b.get(step):
            print(f"step {step}: {args.a}: {a.get(step)}  {args.b}: {b.get(step)}")
            bad += 1
    if bad:
        print(f"FAIL: {bad} of {args.last - args.first + 1} steps differ")
        return 1
    print(f"OK: steps {args.first}..{args.last} identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
