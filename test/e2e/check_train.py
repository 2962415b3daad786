#!/usr/bin/env python3
"""Compares a training binary's log with PyTorch's trajectory (make_train_refs.py).

usage: check_train.py LOG.csv RUN.json [--rtol R] [--atol A] [--steps N]
LOG.csv has rows `step,loss,lr,grad_norm,ms[,loss_scale]` (step 1-based); lines starting
with '#', a header row and `eval` rows are skipped; when a step appears more
than once (a resumed run), its last row counts. RUN.json (test/models/NAME/
train/) holds the reference losses, lrs and grad_norms. For steps 1..N
(default: all in RUN.json) each of loss, lr and grad_norm must satisfy
|got - ref| <= atol + rtol * |ref|, where a non-finite value (the gradient
norm of a step whose loss-scaled gradients overflowed) matches only a
non-finite one; and, when RUN.json has `loss_scales` (--precision=fp16), the
log's loss_scale column must equal them. Prints a per-step table on failure
and exits 1.
"""
import argparse
import json
import math
import sys

COLUMNS = (("loss", "losses"), ("lr", "lrs"), ("grad_norm", "grad_norms"))


def read_log(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [x.strip() for x in line.split(",")]
            if fields[0].lower().startswith("eval"):
                continue
            try:
                step = int(fields[0])
            except ValueError:
                continue  # header row
            if len(fields) < 4:
                raise SystemExit(f"{path}: short row: {line!r}")
            rows[step] = dict(loss=float(fields[1]), lr=float(fields[2]),
                              grad_norm=float(fields[3]))
            if len(fields) > 5:
                rows[step]["loss_scale"] = float(fields[5])
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("log")
    p.add_argument("ref")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--atol", type=float, default=1e-6)
    p.add_argument("--steps", type=int, default=None)
    a = p.parse_args()
    rows = read_log(a.log)
    ref = json.load(open(a.ref))
    steps = a.steps or len(ref["losses"])
    bad = []
    table = []
    columns = COLUMNS + ((("loss_scale", "loss_scales"),) if "loss_scales" in ref else ())
    worst = {c: 0.0 for c, _ in columns}
    for s in range(1, steps + 1):
        got = rows.get(s)
        line = f"{s:5d}"
        ok = got is not None
        for col, key in columns:
            want = ref[key][s - 1]
            if got is None or col not in got:
                line += f" | {'missing':>12s} {want:12.7g}   "
                ok = False
                continue
            if not (math.isfinite(got[col]) and math.isfinite(want)):
                good = not math.isfinite(got[col]) and not math.isfinite(want)
            elif col == "loss_scale":
                good = got[col] == want
            else:
                err = abs(got[col] - want)
                good = err <= a.atol + a.rtol * abs(want)
                worst[col] = max(worst[col], err / max(abs(want), 1e-30))
            ok &= good
            line += f" | {got[col]:12.7g} {want:12.7g} {'  ' if good else '!!'}"
        table.append(line)
        if not ok:
            bad.append(s)
    summary = ", ".join(f"{c} max rel err {worst[c]:.2e}" for c, _ in columns)
    if bad:
        print(f"{'step':>5s}" + "".join(f" | {c:>12.12s} {'torch':>12s}   "
                                        for c, _ in columns))
        print("\n".join(table))
        print(f"MISMATCH at steps {bad} (rtol {a.rtol}, atol {a.atol}); {summary}")
        return 1
    print(f"{steps} steps match PyTorch (rtol {a.rtol}, atol {a.atol}); {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
