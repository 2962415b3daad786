#!/usr/bin/env python3
"""Checks `bbc --grad` gradients against central finite differences.

usage: gradcheck.py BBC MODEL_DIR [CASE ...] [--rtol R] [--atol A] [--h H]
                    [--entries N] [--loss LOSS] [--keep DIR]

For each MODEL_DIR/<case>.onnxtext (written by gradcheck/make_models.py): the
model is compiled once into a gradient program; the program is run once for
the loss and the analytic gradients, then, for up to N entries of each
parameter (half the largest analytic ones, half random), twice more with that
entry of the weights file perturbed by +h and -h (h = H * max(1, |w|));
(L(w+h) - L(w-h)) / (2h) must match the analytic entry: |fd - grad| <= atol + rtol * max(|fd|, |grad|).

The model's first line, `# gradcheck: KEY=VALUE ...`, sets:
  NAME=u:LO:HI | pm:LO:HI | int:LO:HI | vals:V,V,... | bool   an input's values
      (default u:-1:1; pm = random sign times uniform(LO, HI))
  labels=ce:C     cross-entropy class labels in [0, C), two set to -100
  loss=mse|cross_entropy   (default mse: labels u:-1:1 of the output's shape)
  expect=bb.OP    the gradient program's bb IR must contain this op
  entries=N       check up to N entries per parameter (default: --entries), for
                  ops whose gradient has regions a few random entries can miss
--loss overrides the loss of every case (a diagnostic: cross_entropy over the
output's last axis). Prints one line per case and `N passed, M failed`.
"""
import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

DTYPES = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "i32": np.int32,
          "bool": np.bool_}


class CaseError(Exception):
    pass


def run(cmd, what):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        lines = [l for l in p.stdout.strip().splitlines() if l.strip()]
        raise CaseError(f"{what} failed: " + (lines[-1] if lines else f"exit {p.returncode}"))
    return p.stdout


def parse_spec(text):
    m = re.search(r"^# gradcheck:(.*)$", text, re.M)
    spec = {}
    for tok in (m.group(1).split() if m else []):
        k, _, v = tok.partition("=")
        spec[k] = v
    return spec


def program_io(prog):
    """(inputs, grads): [(name, dtype, shape)] from the program's --help."""
    text = run([prog, "--help"], "--help")
    sections, cur = {}, None
    for line in text.splitlines():
        if re.match(r"^(inputs|outputs):$", line):
            cur = sections.setdefault(line[:-1], [])
        elif cur is not None and line.startswith("  "):
            name, _, rest = line.strip().rpartition(": ")
            dtype, _, dims = rest.partition(" ")
            shape = () if dims == "scalar" else tuple(int(d) for d in dims.split("x"))
            cur.append((name, dtype, shape))
        else:
            cur = None
    grads = [(n[len("grad:"):], d, s) for n, d, s in sections.get("outputs", [])
             if n.startswith("grad:")]
    return sections.get("inputs", []), grads


def make_input(rng, name, dtype, shape, how):
    kind, _, args = (how or "u:-1:1").partition(":")
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "vals":
        return np.array([int(v) for v in args.split(",")], DTYPES[dtype]).reshape(shape)
    if kind == "ce":  # class labels, two positions ignored
        v = rng.integers(0, int(args), shape).astype(DTYPES[dtype])
        flat = v.reshape(-1)
        flat[rng.choice(flat.size, min(2, flat.size - 1), replace=False)] = -100
        return v
    lo, hi = (float(v) for v in args.split(":"))
    if kind == "int":
        return rng.integers(int(lo), int(hi), shape).astype(DTYPES[dtype])
    v = rng.uniform(lo, hi, shape)
    if kind == "pm":
        v *= rng.choice([-1.0, 1.0], shape)
    elif kind != "u":
        raise CaseError(f"input {name}: unknown distribution '{how}'")
    return v.astype(DTYPES[dtype])


class Weights:
    """A safetensors file: the header as read and the data bytes."""

    def __init__(self, path):
        raw = open(path, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        self.head, self.header, self.data = raw[:8 + n], json.loads(raw[8:8 + n]), raw[8 + n:]

    def tensor(self, name):
        t = self.header[name]
        b, e = t["data_offsets"]
        if t["dtype"] != "F32":
            raise CaseError(f"weight {name}: dtype {t['dtype']}, expected F32")
        return np.frombuffer(self.data[b:e], np.float32).reshape(t["shape"])

    def write_with(self, path, name, flat_index, value):
        b = self.header[name]["data_offsets"][0] + 4 * flat_index
        data = bytearray(self.data)
        data[b:b + 4] = np.float32(value).tobytes()
        with open(path, "wb") as f:
            f.write(self.head + bytes(data))


def output_shape(model_text):
    m = re.search(r"=>\s*\(\s*\w+\[([\d,\s]*)\]", model_text)
    return tuple(int(d) for d in m.group(1).split(",")) if m else ()


def check_case(a, bbc, path, work):
    name = os.path.basename(path)[:-len(".onnxtext")]
    text = open(path).read()
    spec = parse_spec(text)
    loss = a.loss or spec.get("loss", "mse")
    if a.loss == "cross_entropy" and spec.get("loss") != "cross_entropy":
        spec["labels"] = f"ce:{output_shape(text)[-1]}"
    prog = os.path.join(work, name)
    flags = [path, "--grad", f"--loss={loss}"]
    if "expect" in spec:
        ir = run([bbc, *flags, "--emit=bb"], "bbc --emit=bb")
        if not re.search(r"= " + re.escape(spec["expect"]) + r"\b", ir):
            raise CaseError(f"the gradient program has no {spec['expect']} "
                            "(folded away or imported differently)")
    run([bbc, *flags, "-o", prog], "bbc")

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs, grads = program_io(prog)
    args = [prog, "--threads", "1"]
    for iname, dtype, shape in inputs:
        how = spec.get(iname)
        f = os.path.join(work, f"{name}.in.{iname}.npy")
        np.save(f, make_input(rng, iname, dtype, shape, how))
        args += ["--input", f"{iname}={f}"]
    # Every float initializer of the model is a trainable parameter.
    declared = re.findall(r"\bfloat\[[\d,\s]*\]\s+([\w.]+)\s*=\s*\{", text)
    missing = [n for n in declared if n not in {g[0] for g in grads}]
    if not grads:
        raise CaseError("the program has no gradient outputs")

    def loss_with(weights_file):
        out = os.path.join(work, name + ".out")
        run(args + ["--weights", weights_file, "--output-dir", out], "the program")
        return out, float(np.load(os.path.join(out, "loss.npy")))

    wfile = prog + ".safetensors"
    out, l0 = loss_with(wfile)
    if not np.isfinite(l0):
        raise CaseError(f"loss is {l0}")
    analytic = {pname: np.load(os.path.join(out, "grad_" + re.sub(r"[/:]", "_", pname) + ".npy"))
                for pname, _, _ in grads}  # before the perturbed runs overwrite them
    weights = Weights(wfile)
    pert = os.path.join(work, name + ".perturbed.safetensors")
    worst, scale, checked, failures = 0.0, 0.0, 0, []
    for pname, _, pshape in grads:
        g = analytic[pname]
        w = weights.tensor(pname)
        if g.shape != w.shape or tuple(pshape) != w.shape:
            raise CaseError(f"grad {pname}: shape {g.shape}, parameter {w.shape}")
        if not np.all(np.isfinite(g)):
            raise CaseError(f"grad {pname}: not finite")
        g = g.astype(np.float64).reshape(-1)
        flat = w.reshape(-1)
        # The largest analytic entries (a gradient sent to the wrong place
        # shows there) and random others (a gradient missing from its place).
        entries = int(spec.get("entries", a.entries))
        top = list(np.argsort(-np.abs(g), kind="stable")[:entries // 2])
        rest = [i for i in range(flat.size) if i not in top]
        picks = top + list(rng.choice(rest, min(entries - len(top), len(rest)), replace=False))
        for i in sorted(picks):
            h = a.h * max(1.0, abs(float(flat[i])))
            wp, wm = np.float32(flat[i] + h), np.float32(flat[i] - h)
            weights.write_with(pert, pname, i, wp)
            lp = loss_with(pert)[1]
            weights.write_with(pert, pname, i, wm)
            lm = loss_with(pert)[1]
            fd = (lp - lm) / (float(wp) - float(wm))
            err = abs(fd - g[i])
            worst, scale, checked = max(worst, err), max(scale, abs(fd)), checked + 1
            if err > a.atol + a.rtol * max(abs(fd), abs(g[i])):
                idx = np.unravel_index(i, w.shape)
                failures.append(f"{pname}{list(map(int, idx))}: analytic {g[i]:.6g}, "
                                f"finite difference {fd:.6g}")
    failures += [f"{n}: a float initializer with no gradient output (folded away?)"
                 for n in missing]
    if scale < 10 * a.atol and not failures:
        failures.append(f"vacuous: largest finite difference {scale:.3g}")
    summary = (f"{len(grads)} params, {checked} entries, loss {l0:.5g}, "
               f"max err {worst:.2g} (max |fd| {scale:.2g})")
    return summary, failures


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bbc")
    p.add_argument("models")
    p.add_argument("cases", nargs="*")
    p.add_argument("--rtol", type=float, default=1e-2)
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--h", type=float, default=1e-2)
    p.add_argument("--entries", type=int, default=6)
    p.add_argument("--loss", choices=["mse", "cross_entropy"])
    p.add_argument("--keep", help="work in this directory and keep it")
    a = p.parse_intermixed_args()
    bbc = os.path.abspath(a.bbc)
    paths = sorted(glob.glob(os.path.join(a.models, "*.onnxtext")))
    if a.cases:
        paths = [q for q in paths if os.path.basename(q)[:-len(".onnxtext")] in a.cases]
    work = a.keep or tempfile.mkdtemp(prefix="gradcheck.")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    try:
        for path in paths:
            name = os.path.basename(path)[:-len(".onnxtext")]
            try:
                summary, failures = check_case(a, bbc, path, work)
            except CaseError as e:
                summary, failures = "", [str(e)]
            except Exception as e:  # a harness or model-file problem
                summary, failures = "", [f"{type(e).__name__}: {e}"]
            if failures:
                failed += 1
                print(f"FAIL {name}: {summary}" if summary else f"FAIL {name}")
                for f in failures:
                    print(f"    {f}")
            else:
                passed += 1
                print(f"ok   {name}: {summary}")
            sys.stdout.flush()
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
