#!/usr/bin/env python3
"""Checks that two training logs agree bit for bit on a range of steps.

usage: same_steps.py A.csv B.csv --first N --last M [--rtol R] [--eval]
For every step N..M, the loss, lr and grad_norm fields (printed with %.9g,
which round-trips a float exactly) must be the same strings in both logs;
with --rtol, they must instead agree within that relative tolerance.
Lines starting with '#' and the header are skipped, and so are eval rows
unless --eval is given: then the eval losses of the steps N..M that either
log evaluated must agree too (and both logs must have them). When a step
appears more than once (a killed run that was resumed), its last row counts.
"""
import argparse
import sys


def rows(path, evals=False):
    out = {}
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if evals:
                if fields[0] == "eval" and len(fields) >= 3:
                    out[int(fields[1])] = fields[2:3]
            elif fields[0].isdigit():
                out[int(fields[0])] = fields[1:4]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    ap.add_argument("--rtol", type=float)
    ap.add_argument("--eval", action="store_true")
    args = ap.parse_args()

    def same(x, y):
        if x is None or y is None:
            return False
        if args.rtol is None:
            return x == y
        return all(abs(float(p) - float(q)) <= args.rtol * abs(float(q))
                   for p, q in zip(x, y))
    a, b = rows(args.a), rows(args.b)
    bad = 0
    for step in range(args.first, args.last + 1):
        if not same(a.get(step), b.get(step)):
            print(f"step {step}: {args.a}: {a.get(step)}  {args.b}: {b.get(step)}")
            bad += 1
    if args.eval:
        ea, eb = rows(args.a, True), rows(args.b, True)
        steps = sorted(s for s in set(ea) | set(eb)
                       if args.first <= s <= args.last)
        if not steps:
            print("FAIL: --eval: neither log has eval rows in that range")
            return 1
        for step in steps:
            if not same(ea.get(step), eb.get(step)):
                print(f"eval at step {step}: {args.a}: {ea.get(step)}  "
                      f"{args.b}: {eb.get(step)}")
                bad += 1
    if bad:
        print(f"FAIL: {bad} rows differ")
        return 1
    how = "identical" if args.rtol is None else f"within rtol {args.rtol}"
    print(f"OK: steps {args.first}..{args.last} {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
