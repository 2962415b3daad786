#!/usr/bin/env python3
"""Runs the ONNX backend node tests through bbc and the generated programs.

For every test directory (model.onnx + test_data_set_*/input_*.pb, output_*.pb):
  1. bbc compiles the model into an executable (inputs whose values the model
     needs at compile time, such as Reshape's shape or Reduce's axes, are frozen
     with --freeze-input from the test's own data);
  2. the program runs on test_data_set_0's inputs;
  3. every output is compared with the expected one (rtol 1e-3, atol 1e-5, the
     ONNX backend's defaults for float, exact for integers and bools).
A test whose model bbc rejects as unsupported (op type, dtype, opset, dynamic
shapes) is "unsupported" and not attempted. Every attempted test must pass,
unless it is listed in expected_failures.txt (with a reason); an expected
failure that passes is reported too, so the list stays honest.

usage: run_node_tests.py --bbc BBC --node-dir DIR [--jobs N] [--filter REGEX]
                         [--expected-failures FILE] [--summary FILE]
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

UNSUPPORTED_PATTERNS = [
    "not supported",
    "unsupported element type",
    "imports no version of the default ONNX opset",
    "is not a tensor",
    "must be statically shaped tensor",
    "opset",
]


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def graph_inputs(model):
    inits = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def sanitize(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def run_one(test_dir, bbc, work, timeout):
    """Returns (status, detail): status in pass/fail/unsupported."""
    name = os.path.basename(test_dir)
    model_path = os.path.join(test_dir, "model.onnx")
    data_dir = os.path.join(test_dir, "test_data_set_0")
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:  # onnx 1.12 may not parse newer protos
        return "unsupported", f"onnx cannot load the model: {e}"
    inputs = graph_inputs(model)
    input_files = sorted(
        f for f in os.listdir(data_dir) if f.startswith("input_")) if os.path.isdir(data_dir) else []
    output_files = sorted(f for f in os.listdir(data_dir) if f.startswith("output_")) if os.path.isdir(data_dir) else []
    if len(input_files) != len(inputs):
        return "unsupported", "optional inputs omitted in the test data"
    exe = os.path.join(work, sanitize(name))
    shapes = []
    for inp, f in zip(inputs, input_files):
        dims = list(load_pb(os.path.join(data_dir, f)).dims)
        if not dims or 0 in dims:
            shapes.append(None)
        else:
            shapes.append(f"{inp}={'x'.join(map(str, dims))}")

    def compile_with(freeze):
        cmd = [bbc, model_path, "-o", exe, "--cxx-flags=-O0"]
        for inp, s in zip(inputs, shapes):
            if s and inp not in freeze:
                cmd.append(f"--input-shape={s}")
        for inp, f in zip(inputs, input_files):
            if inp in freeze:
                cmd.append(f"--freeze-input={inp}={os.path.join(data_dir, f)}")
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    # First try with every input live; if the model needs some input's value
    # at compile time, freeze the ones bbc names.
    frozen = set()
    r = compile_with(frozen)
    for _ in range(len(inputs)):
        if r.returncode == 0:
            break
        m = re.search(r"\(input '([^']+)'\) must be a compile-time constant", r.stderr)
        if not m or m.group(1) not in inputs or m.group(1) in frozen:
            break
        frozen.add(m.group(1))
        r = compile_with(frozen)
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "bbc failed"
        if any(p in err for p in UNSUPPORTED_PATTERNS):
            return "unsupported", err
        return "fail", err
    out_dir = os.path.join(work, sanitize(name) + ".out")
    cmd = [exe, "--output-dir", out_dir, "--threads", "1"]
    for inp, f in zip(inputs, input_files):
        if inp not in frozen:
            cmd += ["--input", f"{inp}={os.path.join(data_dir, f)}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return "fail", (r.stderr.strip().splitlines() or ["program failed"])[-1]
    outputs = [o.name for o in model.graph.output]
    for out, f in zip(outputs, output_files):
        want = numpy_helper.to_array(load_pb(os.path.join(data_dir, f)))
        got_path = os.path.join(out_dir, sanitize(out) + ".npy")
        if not os.path.exists(got_path):
            return "fail", f"no output {got_path}"
        got = np.load(got_path)
        if got.shape != want.shape:
            return "fail", f"output '{out}': shape {got.shape} vs expected {want.shape}"
        if want.dtype.kind in "fc":
            if not np.allclose(got.astype(np.float64), want.astype(np.float64),
                               rtol=1e-3, atol=1e-5, equal_nan=True):
                err = np.nanmax(np.abs(got.astype(np.float64) - want))
                return "fail", f"output '{out}': max abs error {err:.3g}"
        elif not np.array_equal(got, want.astype(got.dtype)) or got.dtype != want.dtype:
            return "fail", f"output '{out}': values or dtype ({got.dtype} vs {want.dtype}) differ"
    os.remove(exe)
    os.remove(exe + ".safetensors")
    shutil.rmtree(out_dir, ignore_errors=True)
    return "pass", ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bbc", required=True)
    p.add_argument("--node-dir", required=True)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--filter", default="")
    p.add_argument("--expected-failures",
                   default=os.path.join(os.path.dirname(__file__), "expected_failures.txt"))
    p.add_argument("--summary", help="write the summary table here too")
    p.add_argument("--timeout", type=int, default=120)
    a = p.parse_args()

    xfail = {}
    with open(a.expected_failures) as f:
        for line in f:
            line = line.split("#", 1)
            name = line[0].strip()
            if name:
                xfail[name] = line[1].strip() if len(line) > 1 else ""
    tests = sorted(d for d in os.listdir(a.node_dir)
                   if os.path.isdir(os.path.join(a.node_dir, d)) and re.search(a.filter, d))
    work = tempfile.mkdtemp(prefix="bb-node-tests-")
    results = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = {pool.submit(run_one, os.path.join(a.node_dir, t), a.bbc, work, a.timeout): t
                   for t in tests}
        for fut in concurrent.futures.as_completed(futures):
            t = futures[fut]
            try:
                results[t] = fut.result()
            except subprocess.TimeoutExpired:
                results[t] = ("fail", "timed out")
    shutil.rmtree(work, ignore_errors=True)

    attempted = [t for t in tests if results[t][0] != "unsupported"]
    passed = [t for t in attempted if results[t][0] == "pass"]
    unexpected_fail = [t for t in attempted if results[t][0] == "fail" and t not in xfail]
    expected_fail = [t for t in attempted if results[t][0] == "fail" and t in xfail]
    unexpected_pass = [t for t in passed if t in xfail]
    for t in unexpected_fail:
        print(f"FAIL {t}: {results[t][1]}")
    for t in unexpected_pass:
        print(f"UNEXPECTED PASS {t}: remove it from expected_failures.txt")
    summary = (f"ONNX node tests: {len(tests)} in total, {len(attempted)} attempted "
               f"(ops and types bb supports), {len(passed)} passed, "
               f"{len(expected_fail)} expected failures, {len(unexpected_fail)} "
               f"unexpected failures, {len(tests) - len(attempted)} unsupported")
    print(summary)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(summary + "\n")
            for t in tests:
                f.write(f"{t}\t{results[t][0]}\t{results[t][1]}\n")
    print(f"{len(passed) + len(expected_fail)} passed, {len(unexpected_fail) + len(unexpected_pass)} failed")
    return 1 if unexpected_fail or unexpected_pass else 0


if __name__ == "__main__":
    sys.exit(main())
