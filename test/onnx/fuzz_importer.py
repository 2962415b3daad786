#!/usr/bin/env python3
"""Structural fuzzing of the importer: mutated versions of the committed models
(inputs dropped or added, op types swapped, attributes and initializer dims
changed) must each import or fail with one `bbc: error:` line and exit code 1,
never crash or assert.

usage: fuzz_importer.py BBC MODELS_DIR [--seed S] [--count N]
"""
import argparse
import copy
import os
import random
import subprocess
import sys
import tempfile

import onnx

OPS = ["Add", "Mul", "MatMul", "Gemm", "Conv", "Relu", "Reshape", "Transpose",
       "Concat", "Gather", "Softmax", "LayerNormalization", "Slice", "Split",
       "ReduceMean", "MaxPool", "Unsqueeze", "Where", "Expand", "Cast"]


def mutate(model, rng):
    nodes = model.graph.node
    for _ in range(rng.randint(1, 3)):
        n = rng.choice(nodes)
        kind = rng.randrange(5)
        if kind == 0 and len(n.input):
            del n.input[rng.randrange(len(n.input))]
        elif kind == 1:
            n.op_type = rng.choice(OPS)
        elif kind == 2 and len(n.attribute):
            a = rng.choice(n.attribute)
            if a.type == onnx.AttributeProto.INT:
                a.i = rng.choice([-5, -1, 0, 1, 2, 3, 100])
            elif a.type == onnx.AttributeProto.INTS and len(a.ints):
                a.ints[rng.randrange(len(a.ints))] = rng.choice([-3, -1, 0, 1, 2, 7])
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([0.0, -1.0, 1e30])
        elif kind == 3:
            n.input.append(rng.choice(list(nodes[0].output) + ["nope"]))
        elif len(model.graph.initializer):
            t = rng.choice(model.graph.initializer)
            if len(t.dims):
                t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, 1000])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bbc")
    p.add_argument("models")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=60)
    a = p.parse_args()
    rng = random.Random(a.seed)
    names = sorted(os.listdir(a.models))
    models = [onnx.load(os.path.join(a.models, m, m + ".onnx"))
              for m in names if os.path.exists(os.path.join(a.models, m, m + ".onnx"))]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mutant.onnx")
        for i in range(a.count):
            m = copy.deepcopy(rng.choice(models))
            mutate(m, rng)
            with open(path, "wb") as f:
                f.write(m.SerializeToString())
            r = subprocess.run([a.bbc, path, "--emit=bb", "-o", os.devnull],
                               capture_output=True, timeout=120)
            err = r.stderr.decode("utf-8", "replace")
            ok = r.returncode == 0 or (
                r.returncode == 1 and err.startswith("bbc: error: ") and err.count("\n") == 1)
            if not ok:
                bad += 1
                keep = os.path.join(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmp), f"mutant{i}.onnx")
                os.replace(path, keep)
                print(f"mutant {i}: exit {r.returncode}: {err[:300]!r} (kept as {keep})")
    print(f"{a.count - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
