#!/usr/bin/env python3
"""Checks a training binary's --export: an ONNX model with the trained
weights that loads, compiles and predicts better than the original.

usage: check_export.py TRAINED.onnx CHECKPOINT.safetensors ORIGINAL.onnx
                       TOKENS.bin --shape BxT --workdir DIR
- The ONNX checker accepts TRAINED; its nodes, inputs and outputs are the
  original's.
- Every initializer that was trained equals the checkpoint's tensor of the
  same name; every other initializer is the original's, unchanged.
- Compiled by bbc (from PATH) for inference, TRAINED's cross-entropy on the
  first BxT window of TOKENS is lower than ORIGINAL's by at least 1 nat; with
  onnxruntime installed, ONNX Runtime's logits of TRAINED agree with bbc's.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "BOOL": np.bool_, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + end],
                                  dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return out


def cross_entropy(logits, labels):
    logits = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    labels = labels.reshape(-1)
    m = logits.max(axis=1, keepdims=True)
    logz = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(logz - logits[np.arange(len(labels)), labels]))


def run_bbc(model, shape, idx, workdir, name):
    exe = os.path.join(workdir, name)
    subprocess.run(["bbc", model, "--input-shape", f"idx={shape}", "-o", exe],
                   check=True)
    np.save(os.path.join(workdir, "idx.npy"), idx)
    out = os.path.join(workdir, name + "-out")
    subprocess.run([exe, "--input", "idx=" + os.path.join(workdir, "idx.npy"),
                    "--output-dir", out, "--threads", "2"], check=True)
    return np.load(os.path.join(out, "logits.npy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trained")
    ap.add_argument("checkpoint")
    ap.add_argument("original")
    ap.add_argument("tokens")
    ap.add_argument("--shape", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    trained = onnx.load(args.trained)
    onnx.checker.check_model(trained)
    original = onnx.load(args.original)
    same = lambda a, b: [x.SerializeToString() for x in a] == [x.SerializeToString() for x in b]
    assert same(trained.graph.node, original.graph.node), "nodes differ"
    assert same(trained.graph.input, original.graph.input), "inputs differ"
    assert same(trained.graph.output, original.graph.output), "outputs differ"

    ckpt = read_safetensors(args.checkpoint)
    new = {t.name: numpy_helper.to_array(t) for t in trained.graph.initializer}
    old = {t.name: numpy_helper.to_array(t) for t in original.graph.initializer}
    assert set(new) == set(old), f"initializers differ: {set(new) ^ set(old)}"
    n_trained = 0
    for name, value in old.items():
        if name in ckpt:
            assert np.array_equal(new[name], ckpt[name]), f"{name} != checkpoint"
            n_trained += 1
        else:
            assert np.array_equal(new[name], value), f"{name} changed"
    assert n_trained > 0, "no initializer was trained"

    b, t = (int(x) for x in args.shape.split("x"))
    tokens = np.fromfile(args.tokens, dtype=np.uint16).astype(np.int64)
    window = tokens[:b * t + 1]
    idx, labels = window[:-1].reshape(b, t), window[1:].reshape(b, t)
    logits_new = run_bbc(args.trained, args.shape, idx, args.workdir, "trained")
    logits_old = run_bbc(args.original, args.shape, idx, args.workdir, "original")
    ce_new, ce_old = cross_entropy(logits_new, labels), cross_entropy(logits_old, labels)
    print(f"{n_trained} initializers trained; cross-entropy on the first window: "
          f"original {ce_old:.4f}, trained {ce_new:.4f}")
    assert ce_new < ce_old - 1.0, "the exported model is not better"
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: skipped ONNX Runtime check")
    else:
        sess = ort.InferenceSession(args.trained, providers=["CPUExecutionProvider"])
        ref = sess.run(None, {"idx": idx})[0]
        err = np.max(np.abs(ref - logits_new))
        print(f"ONNX Runtime vs bbc logits: max abs diff {err:.2e}")
        assert err < 1e-3, "ONNX Runtime disagrees"
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
