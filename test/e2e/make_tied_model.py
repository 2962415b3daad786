#!/usr/bin/env python3
"""Writes a tiny classifier whose first and last blocks share a weight.

usage: make_tied_model.py OUTDIR
OUTDIR/tied.onnx: x[batch, 16] -> /embed/MatMul (x W, W 16x32) -> /embed/Relu
-> /mid/MatMul (V, 32x32) -> /mid/Tanh -> /head/Gemm (h W^T + b) -> logits
[batch, 16]; the batch dimension is symbolic. OUTDIR/x.npy [64, 16] float32
and OUTDIR/labels.npy [64] int64 (classes 0..15) are its training data. The
weights are seeded random values, so the files are the same on every run.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((16, 32)) * 0.3).astype(np.float32)
    v = (rng.standard_normal((32, 32)) * 0.2).astype(np.float32)
    b = (rng.standard_normal(16) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="/embed/MatMul"),
        helper.make_node("Relu", ["h"], ["r"], name="/embed/Relu"),
        helper.make_node("MatMul", ["r", "V"], ["m"], name="/mid/MatMul"),
        helper.make_node("Tanh", ["m"], ["t"], name="/mid/Tanh"),
        helper.make_node("Gemm", ["t", "W", "b"], ["logits"], transB=1,
                         name="/head/Gemm"),
    ]
    graph = helper.make_graph(
        nodes, "tied",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["batch", 16])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(v, "V"),
         numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "tied.onnx"))
    np.save(os.path.join(out, "x.npy"),
            rng.standard_normal((64, 16)).astype(np.float32))
    np.save(os.path.join(out, "labels.npy"),
            rng.integers(0, 16, 64).astype(np.int64))


if __name__ == "__main__":
    main()
