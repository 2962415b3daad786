#!/usr/bin/env python3
"""Compares a `bbc --grad` program's outputs with PyTorch's (make_grad_refs.py).

usage: check_grads.py OUT_DIR REF_DIR [--rtol R] [--atol A]
OUT_DIR holds loss.npy and grad_<initializer>.npy from the program; REF_DIR
holds loss.npy, <torch parameter>.npy and map.json. The gradient of a torch
parameter is the sum of the gradients of the initializers mapped to it
(transposed where the exporter stored it transposed). Prints one line per
parameter and exits 1 on any mismatch.
"""
import argparse
import json
import os
import re
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("ref")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-5)
    a = p.parse_args()
    bad = 0
    loss, want = np.load(os.path.join(a.out, "loss.npy")), np.load(os.path.join(a.ref, "loss.npy"))
    ok = np.allclose(loss, want, rtol=a.rtol, atol=a.atol)
    bad += not ok
    print(f"loss: {float(loss):.6f} vs PyTorch {float(want):.6f}: {'ok' if ok else 'MISMATCH'}")
    mapping = json.load(open(os.path.join(a.ref, "map.json")))
    sums = {}
    for init, (param, transposed) in mapping.items():
        path = os.path.join(a.out, "grad_" + re.sub(r"[/:]", "_", init) + ".npy")
        g = np.load(path)
        g = g.T if transposed else g
        sums[param] = sums.get(param, 0) + g.astype(np.float64)
    for param in sorted(sums):
        want = np.load(os.path.join(a.ref, param + ".npy")).astype(np.float64)
        got = sums[param]
        err = np.max(np.abs(got - want)) if want.size else 0.0
        scale = np.max(np.abs(want)) if want.size else 0.0
        ok = got.shape == want.shape and np.allclose(got, want, rtol=a.rtol, atol=a.atol)
        bad += not ok
        print(f"{param}: max abs error {err:.3g} (max |grad| {scale:.3g}): {'ok' if ok else 'MISMATCH'}")
    print(f"{len(sums) + 1 - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
