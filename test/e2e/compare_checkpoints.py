#!/usr/bin/env python3
"""Compares the tensors of two checkpoints (safetensors files).

usage: compare_checkpoints.py A.safetensors B.safetensors [--rtol R] [--atol A]
Both files must hold the same tensor names, dtypes and shapes; every float
tensor must satisfy |a - b| <= atol + rtol * |b| elementwise, every other
tensor must be equal. The metadata (step, data position) is not compared.
Prints the worst relative difference; exits 1 on a mismatch.
"""
import argparse
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
          "U8": np.uint8, "BOOL": np.bool_}


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]]).reshape(
            info["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--atol", type=float, default=1e-6)
    args = ap.parse_args()
    a, b = load(args.a), load(args.b)
    if sorted(a) != sorted(b):
        print(f"different tensors: only in A {sorted(set(a) - set(b))}, "
              f"only in B {sorted(set(b) - set(a))}")
        return 1
    worst, bad = (0.0, ""), []
    for name in sorted(a):
        x, y = a[name], b[name]
        if x.dtype != y.dtype or x.shape != y.shape:
            bad.append(f"{name}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
            continue
        if not np.issubdtype(x.dtype, np.floating):
            if not np.array_equal(x, y):
                bad.append(f"{name}: differs")
            continue
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        diff = np.abs(x64 - y64)
        if np.any(diff > args.atol + args.rtol * np.abs(y64)):
            bad.append(f"{name}: max abs diff {diff.max():.3g}")
        rel = float(np.max(diff / np.maximum(np.abs(y64), 1e-12))) if diff.size else 0.0
        if rel > worst[0]:
            worst = (rel, name)
    for line in bad:
        print(line)
    print(f"{len(a)} tensors; worst relative difference {worst[0]:.3g} ({worst[1]})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
