#!/usr/bin/env python3
"""Compares .npy outputs with references: np.allclose(actual, expected, rtol, atol).

usage: compare_npy.py ACTUAL.npy EXPECTED.npy [--rtol R] [--atol A]
Prints the worst absolute and relative error; exits 1 on mismatch.
"""
import argparse
import sys

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("actual")
    p.add_argument("expected")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-6)
    a = p.parse_args()
    got, want = np.load(a.actual), np.load(a.expected)
    if got.shape != want.shape or got.dtype != want.dtype:
        print(f"{a.actual}: {got.dtype}{list(got.shape)} but expected "
              f"{want.dtype}{list(want.shape)}")
        return 1
    if got.dtype == np.bool_ or np.issubdtype(got.dtype, np.integer):
        bad = int(np.sum(got != want))
        print(f"{a.actual}: {bad} of {got.size} elements differ")
        return 1 if bad else 0
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    rel = diff / np.maximum(np.abs(want.astype(np.float64)), 1e-30)
    ok = np.allclose(got, want, rtol=a.rtol, atol=a.atol, equal_nan=True)
    print(f"{a.actual}: max abs error {diff.max():.3g}, max rel error "
          f"{rel.max():.3g} (rtol {a.rtol}, atol {a.atol}): "
          f"{'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
