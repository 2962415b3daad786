#!/usr/bin/env python3
"""Asserts that a training run learned: the mean training loss of its last
steps lies well below the unigram entropy of the corpus.

usage: check_learning.py LOG.csv CORPUS.json [--last N] [--margin M]
CORPUS.json is written by test/data/make_corpus.py (unigram_entropy_nats).
Passes when mean(loss of the last N steps) < unigram entropy - M, and the
last eval row, if any, is below the uniform entropy log(256).
"""
import argparse
import json
import math
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("corpus")
    ap.add_argument("--last", type=int, default=50)
    ap.add_argument("--margin", type=float, default=0.3)
    args = ap.parse_args()
    losses, evals = {}, []
    with open(args.log) as f:
        for line in f:
            fields = line.strip().split(",")
            if fields[0].isdigit():
                losses[int(fields[0])] = float(fields[1])
            elif fields[0] == "eval":
                evals.append((int(fields[1]), float(fields[2])))
    with open(args.corpus) as f:
        unigram = json.load(f)["unigram_entropy_nats"]
    steps = sorted(losses)[-args.last:]
    mean = sum(losses[s] for s in steps) / len(steps)
    first = losses[min(losses)]
    print(f"first loss {first:.4f}, mean of last {len(steps)} steps {mean:.4f}, "
          f"unigram entropy {unigram:.4f}, evals {evals}")
    ok = mean < unigram - args.margin
    if evals and not evals[-1][1] < math.log(256):
        ok = False
    print("OK" if ok else "FAIL: the model did not learn enough")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
