#!/usr/bin/env python3
"""Writes the gradient-check models test/e2e/gradcheck/<case>.onnxtext.

usage: make_models.py [OUT_DIR]   (default: this script's directory)

Each model is a tiny ONNX graph in ONNX's text syntax (onnx 1.12 parser) in
which every trainable parameter (a float initializer with random values, seeded
by the case name) flows through the op under test. Its first line,
`# gradcheck: ...`, tells gradcheck.py how to draw the inputs and labels, which
loss to use, which bb op the compiled gradient program must contain and, for
ops whose gradient is zero or special in places (kinks, windows, borders),
how many entries per parameter to check (all of them, for small ones).

Initializers written in the text syntax (float_data) are imported as dense
constants, which the importer and the canonicalizer fold through
parameter-only ops (Reshape(W), Transpose(W), ...). So a parameter goes
straight into such an op only in `transpose_param`, the case about exactly
that; elsewhere it first meets an input (Mul(X, W)) and then the op under test.
"""
import os
import sys
import zlib

import numpy as np

HEADER = '<\n  ir_version: 8,\n  opset_import: ["" : {opset}]\n>\n'


def U(lo, hi):  # uniform
    return ("u", lo, hi)


def PM(lo, hi):  # random sign times uniform(lo, hi): away from zero
    return ("pm", lo, hi)


def PERM(lo, hi):  # a permutation of evenly spaced values: no ties, clear maxima
    return ("perm", lo, hi)


def F(name, shape, dist):
    return ("float", name, shape, dist)


def I64(name, values):
    return ("int64", name, [len(values)], values)


# name, doc, spec (# gradcheck: line), graph signature, initializers, body, opset
CASES = []


def case(name, doc, spec, sig, params, body, opset=17):
    CASES.append(dict(name=name, doc=doc, spec=spec, sig=sig, params=params,
                      body=body.strip("\n"), opset=opset))


P = "X=u:0.5:1.5"  # a positive input: Mul(X, W) keeps W's sign and scale

# --- broadcasting binary ops -------------------------------------------------
case("add", "Add both ways round, broadcasting each parameter", "expect=bb.add",
     "(float[2,3,4] X) => (float[2,3,4] Y)",
     [F("W", [3, 1], U(-1, 1)), F("V", [4], U(-1, 1))],
     "A = Add(X, W)\n  Y = Add(V, A)")
case("sub", "Sub with a parameter on either side, broadcast", "expect=bb.sub",
     "(float[3,4] X) => (float[3,4] Y)",
     [F("W", [4], U(-1, 1)), F("V", [3, 1], U(-1, 1))],
     "A = Sub(W, X)\n  Y = Sub(A, V)")
case("mul", "Mul with a parameter on either side, broadcast", "expect=bb.mul",
     "(float[3,4] X) => (float[3,4] Y)",
     [F("W", [4], U(-1, 1)), F("V", [3, 1], U(-1, 1))],
     "A = Mul(X, W)\n  Y = Mul(V, A)")
case("div", "Div with a parameter as divisor (broadcast) and as dividend",
     "X=pm:0.5:1.5 expect=bb.div",
     "(float[3,4] X) => (float[3,4] Y)",
     [F("W", [4], PM(0.5, 1.5)), F("V", [3, 4], U(-1, 1))],
     "A = Div(X, W)\n  Y = Div(V, A)")
case("pow", "Pow: parameter exponent (broadcast), parameter base, constant exponent",
     "X=u:0.5:1.5 expect=bb.pow",
     "(float[3,4] X) => (float[3,4] Y)",
     [F("W", [4], U(0.5, 2)), F("V", [3, 4], U(0.5, 1.5)), F("K", [3, 4], U(0.5, 1.5))],
     "A = Pow(X, W)\n  B = Pow(V, A)\n  Three = Constant <value = float {3.0}> ()\n"
     "  C = Mul(X, K)\n  D = Pow(C, Three)\n  Y = Add(B, D)")

# --- unary ops: Y = Op(X * W) --------------------------------------------------
for op, dist, doc in [
    ("Neg", U(-1, 1), "Neg"),
    ("Exp", U(-1, 1), "Exp"),
    ("Log", U(0.5, 1.5), "Log of a positive argument"),
    ("Sqrt", U(0.5, 1.5), "Sqrt of a positive argument"),
    ("Tanh", U(-1.5, 1.5), "Tanh"),
    ("Sigmoid", U(-2, 2), "Sigmoid"),
    ("Erf", U(-1.5, 1.5), "Erf"),
    ("Relu", PM(0.3, 1), "Relu away from its kink at 0 (|X*W| >= 0.15)"),
    ("Abs", PM(0.3, 1), "Abs away from its kink at 0 (|X*W| >= 0.15)"),
]:
    case(op.lower(), doc, f"{P} expect=bb.{op.lower()}",
         "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], dist)],
         f"A = Mul(X, W)\n  Y = {op}(A)")
case("gelu", "Gelu (opset 20, exact)", f"{P} expect=bb.gelu",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  Y = Gelu(A)", opset=20)
case("gelu_erf", "the exported exact-GELU subgraph that bb-fuse-gelu turns into bb.gelu",
     f"{P} expect=bb.gelu",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  R2 = Constant <value = float {1.4142135}> ()\n"
     "  One = Constant <value = float {1.0}> ()\n  Half = Constant <value = float {0.5}> ()\n"
     "  B = Div(A, R2)\n  E = Erf(B)\n  C = Add(E, One)\n  D = Mul(A, C)\n  Y = Mul(D, Half)")

# --- matmul and gemm -----------------------------------------------------------
case("matmul", "MatMul 2-D, parameter on the right", "expect=bb.matmul",
     "(float[2,3] X) => (float[2,4] Y)", [F("W", [3, 4], U(-1, 1))],
     "Y = MatMul(X, W)")
case("matmul_batched", "batched MatMul, both operands broadcast over batch dims",
     "expect=bb.matmul",
     "(float[2,1,3,4] X) => (float[2,3,3,5] Y)", [F("W", [3, 4, 5], U(-1, 1))],
     "Y = MatMul(X, W)")
case("matmul_lhs", "batched MatMul, 2-D parameter on the left broadcast over the batch",
     "expect=bb.matmul",
     "(float[2,4,5] X) => (float[2,3,5] Y)", [F("W", [3, 4], U(-1, 1))],
     "Y = MatMul(W, X)")
case("matmul_1d", "MatMul with 1-D operands on each side", f"{P} Z=u:0.5:1.5 Q=u:0.5:1.5 expect=bb.matmul",
     "(float[2,3,4] X, float[4] Z, float[2] Q) => (float[3] Y)",
     [F("W", [4], U(-1, 1)), F("V", [2], U(-1, 1))],
     "B = Mul(Z, W)\n  A = MatMul(X, B)\n  C = Mul(Q, V)\n  Y = MatMul(C, A)")
case("gemm", "Gemm transB=1 with alpha, beta and a bias", "expect=bb.matmul",
     "(float[2,3] X) => (float[2,4] Y)",
     [F("W", [4, 3], U(-1, 1)), F("C", [4], U(-1, 1))],
     "Y = Gemm <transB = 1, alpha = 0.5, beta = 2.0> (X, W, C)")
case("gemm_transa", "Gemm transA=1 with the parameter as A", "expect=bb.matmul",
     "(float[3,4] X) => (float[2,4] Y)",
     [F("W", [3, 2], U(-1, 1)), F("C", [1, 4], U(-1, 1))],
     "Y = Gemm <transA = 1> (W, X, C)")
case("gemm_tt", "Gemm transA=1 transB=1, parameters as A and as B", "expect=bb.matmul",
     "(float[2,4] X) => (float[3,5] Y)",
     [F("W", [4, 3], U(-1, 1)), F("V", [5, 2], U(-1, 1))],
     "A = Gemm <transA = 1, transB = 1> (W, X)\n  Y = Gemm <transB = 1> (A, V)")

# --- data movement -------------------------------------------------------------
case("reshape", "Reshape", f"{P} expect=bb.reshape",
     "(float[2,6] X) => (float[3,4] Y)", [F("W", [2, 6], U(-1, 1)), I64("S", [3, 4])],
     "A = Mul(X, W)\n  Y = Reshape(A, S)")
case("transpose", "Transpose of a 3-D tensor", f"{P} expect=bb.transpose",
     "(float[2,3,4] X) => (float[4,2,3] Y)", [F("W", [2, 3, 4], U(-1, 1))],
     "A = Mul(X, W)\n  Y = Transpose <perm = [2, 0, 1]> (A)")
case("transpose_param",
     "Transpose applied to a parameter itself (as some exporters write Linear)",
     "expect=bb.transpose",
     "(float[2,3] X) => (float[2,4] Y)", [F("W", [4, 3], U(-1, 1))],
     "T = Transpose <perm = [1, 0]> (W)\n  Y = MatMul(X, T)")
case("expand", "Expand (bb.broadcast_to) adding and stretching dims",
     f"{P} expect=bb.broadcast_to",
     "(float[3,1] X) => (float[2,3,4] Y)", [F("W", [3, 1], U(-1, 1)), I64("S", [2, 3, 4])],
     "A = Mul(X, W)\n  Y = Expand(A, S)")
case("cast", "Cast float -> double -> float (bb.convert)", f"{P} expect=bb.convert",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], U(-1, 1))],
     "A = Mul(X, W)\n  D = Cast <to = 11> (A)\n  E = Exp(D)\n  Y = Cast <to = 1> (E)")
case("concat", "Concat of an input-derived tensor, a parameter and an input",
     f"{P} expect=bb.concat",
     "(float[2,3] X, float[2,1] Z) => (float[2,6] Y)",
     [F("W", [2, 3], U(-1, 1)), F("V", [2, 2], U(-1, 1))],
     "A = Mul(X, W)\n  Y = Concat <axis = 1> (A, V, Z)")
case("slice", "Slice with unit steps (negative start, clamped end)",
     f"{P} expect=bb.slice",
     "(float[4,6] X) => (float[2,5] Y)",
     [F("W", [4, 6], U(-1, 1)), I64("St", [1, -5]), I64("En", [3, 100]),
      I64("Ax", [0, 1]), I64("Sp", [1, 1])],
     "A = Mul(X, W)\n  Y = Slice(A, St, En, Ax, Sp)")
case("split", "Split into unequal parts, recombined", f"{P} expect=bb.slice",
     "(float[3,6] X) => (float[3,2] Y)",
     [F("W", [3, 6], U(-1, 1)), I64("S", [2, 2, 2])],
     "A = Mul(X, W)\n  B, C, D = Split <axis = 1> (A, S)\n  E = Mul(B, C)\n  Y = Sub(E, D)")

# --- reductions ----------------------------------------------------------------
case("reduce_sum", "ReduceSum over the middle axis", f"{P} expect=bb.reduce_sum",
     "(float[2,3,4] X) => (float[2,4] Y)", [F("W", [3, 4], U(-1, 1)), I64("Ax", [1])],
     "A = Mul(X, W)\n  Y = ReduceSum <keepdims = 0> (A, Ax)")
case("reduce_sum_keepdims", "ReduceSum over two axes, keepdims",
     f"{P} expect=bb.reduce_sum",
     "(float[2,3,4] X) => (float[1,3,1] Y)", [F("W", [2, 3, 4], U(-1, 1)), I64("Ax", [0, 2])],
     "A = Mul(X, W)\n  Y = ReduceSum <keepdims = 1> (A, Ax)")
case("reduce_mean", "ReduceMean over the last axis", f"{P} expect=bb.reduce_mean",
     "(float[2,3,4] X) => (float[2,3] Y)", [F("W", [2, 3, 4], U(-1, 1))],
     "A = Mul(X, W)\n  Y = ReduceMean <axes = [-1], keepdims = 0> (A)")
case("reduce_mean_keepdims", "ReduceMean over two axes, keepdims",
     f"{P} expect=bb.reduce_mean",
     "(float[2,3,4] X) => (float[2,1,1] Y)", [F("W", [3, 4], U(-1, 1))],
     "A = Mul(X, W)\n  Y = ReduceMean <axes = [1, 2], keepdims = 1> (A)")
case("reduce_max", "ReduceMax over the last axis (distinct values, no ties)",
     "X=u:-0.02:0.02 expect=bb.reduce_max",
     "(float[2,3,4] X) => (float[2,3] Y)", [F("W", [2, 3, 4], PERM(-1.5, 1.5))],
     "A = Add(X, W)\n  Y = ReduceMax <axes = [2], keepdims = 0> (A)")
case("reduce_max_keepdims", "ReduceMax over two axes, keepdims (distinct values)",
     "X=u:-0.02:0.02 expect=bb.reduce_max",
     "(float[2,3,4] X) => (float[1,3,1] Y)", [F("W", [2, 3, 4], PERM(-1.5, 1.5))],
     "A = Add(X, W)\n  Y = ReduceMax <axes = [0, 2], keepdims = 1> (A)")

# --- normalization -------------------------------------------------------------
case("softmax", "Softmax over the last axis", f"{P} expect=bb.softmax",
     "(float[2,3,4] X) => (float[2,3,4] Y)", [F("W", [2, 3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  Y = Softmax <axis = -1> (A)")
case("softmax_axis1", "Softmax over a middle axis", f"{P} expect=bb.softmax",
     "(float[2,3,4] X) => (float[2,3,4] Y)", [F("W", [2, 3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  Y = Softmax <axis = 1> (A)")
case("log_softmax", "LogSoftmax over the last axis", f"{P} expect=bb.log_softmax",
     "(float[2,3,4] X) => (float[2,3,4] Y)", [F("W", [2, 3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  Y = LogSoftmax <axis = -1> (A)")
case("log_softmax_axis0", "LogSoftmax over the first axis", f"{P} expect=bb.log_softmax",
     "(float[2,3,4] X) => (float[2,3,4] Y)", [F("W", [2, 3, 4], U(-2, 2))],
     "A = Mul(X, W)\n  Y = LogSoftmax <axis = 0> (A)")
case("layer_norm", "LayerNormalization over the last axis: input, scale and bias grads",
     f"{P} expect=bb.layer_norm",
     "(float[2,3,4] X) => (float[2,3,4] Y)",
     [F("W", [2, 3, 4], U(-2, 2)), F("S", [4], U(0.5, 1.5)), F("B", [4], U(-1, 1))],
     "A = Mul(X, W)\n  Y = LayerNormalization <axis = -1> (A, S, B)")
case("layer_norm_axis1", "LayerNormalization over the last two axes, no bias",
     f"{P} expect=bb.layer_norm",
     "(float[2,3,4] X) => (float[2,3,4] Y)",
     [F("W", [2, 3, 4], U(-2, 2)), F("S", [3, 4], U(0.5, 1.5))],
     "A = Mul(X, W)\n  Y = LayerNormalization <axis = 1> (A, S)")

# --- indexing and selection ----------------------------------------------------
case("gather", "Gather rows of an embedding table (repeated indices accumulate)",
     "I=vals:0,2,2,4,0,3 expect=bb.gather",
     "(int64[2,3] I) => (float[2,3,3] Y)", [F("W", [5, 3], U(-1, 1))],
     "Y = Gather(W, I)")
case("gather_axis1", "Gather along axis 1 (repeated indices)",
     "I=vals:4,1,1,0 expect=bb.gather",
     "(int64[4] I) => (float[3,4] Y)", [F("W", [3, 5], U(-1, 1))],
     "Y = Gather <axis = 1> (W, I)")
case("where", "Where with a broadcast parameter on the true side and one on the false side",
     f"{P} C=bool expect=bb.select",
     "(bool[3,4] C, float[3,4] X) => (float[3,4] Y)",
     [F("W", [4], U(-1, 1)), F("V", [3, 4], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Where(C, W, A)")

# --- activations with kinks and approximations --------------------------------
case("hard_sigmoid", "HardSigmoid (alpha 0.25, beta 0.5): both saturated sides and the slope",
     f"{P} entries=12 expect=bb.hard_sigmoid",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], PM(0.5, 3.5))],
     "A = Mul(X, W)\n  Y = HardSigmoid <alpha = 0.25, beta = 0.5> (A)")
case("hard_swish", "HardSwish: below -3 (0), the quadratic part, above 3 (identity)",
     f"{P} entries=12 expect=bb.hard_swish",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], PM(0.5, 5))],
     "A = Mul(X, W)\n  Y = HardSwish(A)")
case("gelu_tanh", "Gelu with the tanh approximation (opset 20)", f"{P} expect=bb.gelu",
     "(float[3,4] X) => (float[3,4] Y)", [F("W", [3, 4], U(-3, 3))],
     "A = Mul(X, W)\n  Y = Gelu <approximate = \"tanh\"> (A)", opset=20)
case("trilu", "Trilu (upper, k = 1) of a batch of matrices", f"{P} entries=24 expect=bb.trilu",
     "(float[2,3,4] X) => (float[2,3,4] Y)", [F("W", [2, 3, 4], U(-1, 1)), I64("K", [1])],
     "A = Mul(X, W)\n  Y = Trilu <upper = 1> (A, K)")

# --- strided slices -------------------------------------------------------------
case("slice_strided", "Slice with steps 2 and 3 (rows and columns skipped)",
     f"{P} entries=35 expect=bb.slice",
     "(float[5,7] X) => (float[3,2] Y)",
     [F("W", [5, 7], U(-1, 1)), I64("St", [0, 1]), I64("En", [5, 7]),
      I64("Ax", [0, 1]), I64("Sp", [2, 3])],
     "A = Mul(X, W)\n  Y = Slice(A, St, En, Ax, Sp)")
case("slice_negative", "Slice with negative steps: reversed rows, every other column backwards",
     f"{P} entries=84 expect=bb.slice",
     "(float[3,4,7] X) => (float[3,2,4] Y)",
     [F("W", [3, 4, 7], U(-1, 1)), I64("St", [-2, -1]), I64("En", [0, -100]),
      I64("Ax", [1, 2]), I64("Sp", [-1, -2])],
     "A = Mul(X, W)\n  Y = Slice(A, St, En, Ax, Sp)")

# --- convolution -----------------------------------------------------------------
# Conv(Mul(X, V), W, B): gradients for the input (through V), weight and bias.
case("conv", "Conv 2-D, stride 2, asymmetric pads, bias",
     f"{P} entries=24 expect=bb.conv",
     "(float[2,3,7,6] X) => (float[2,4,4,3] Y)",
     [F("V", [3, 7, 6], U(-1, 1)), F("W", [4, 3, 3, 3], U(-1, 1)), F("B", [4], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <strides = [2, 2], pads = [1, 1, 1, 0]> (A, W, B)")
case("conv_dilated", "Conv 2-D, dilation 2, pads 2, no bias",
     f"{P} entries=24 expect=bb.conv",
     "(float[1,2,7,7] X) => (float[1,3,7,7] Y)",
     [F("V", [2, 7, 7], U(-1, 1)), F("W", [3, 2, 3, 3], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <dilations = [2, 2], pads = [2, 2, 2, 2]> (A, W)")
case("conv_group2", "Conv 2-D with 2 groups, pads 1, bias",
     f"{P} entries=24 expect=bb.conv",
     "(float[2,4,5,5] X) => (float[2,6,5,5] Y)",
     [F("V", [4, 5, 5], U(-1, 1)), F("W", [6, 2, 3, 3], U(-1, 1)), F("B", [6], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <group = 2, pads = [1, 1, 1, 1]> (A, W, B)")
case("conv_depthwise", "depthwise Conv (group = channels, 2 filters each), stride 2, pads 1, bias",
     f"{P} entries=24 expect=bb.conv",
     "(float[2,3,6,6] X) => (float[2,6,3,3] Y)",
     [F("V", [3, 6, 6], U(-1, 1)), F("W", [6, 1, 3, 3], U(-1, 1)), F("B", [6], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <group = 3, strides = [2, 2], pads = [1, 1, 1, 1]> (A, W, B)")
case("conv_depthwise_5x5", "depthwise Conv 5x5 (one filter per channel), pads 2, no bias",
     f"{P} entries=24 expect=bb.conv",
     "(float[1,4,6,5] X) => (float[1,4,6,5] Y)",
     [F("V", [4, 6, 5], U(-1, 1)), F("W", [4, 1, 5, 5], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <group = 4, pads = [2, 2, 2, 2]> (A, W)")
case("conv_1x1", "1x1 Conv (the pointwise path: no im2col) with bias, and a 1x1 Conv with stride 2",
     f"{P} entries=24 expect=bb.conv",
     "(float[2,4,5,5] X) => (float[2,3,3,3] Y)",
     [F("V", [4, 5, 5], U(-1, 1)), F("W", [5, 4, 1, 1], U(-1, 1)), F("B", [5], U(-1, 1)),
      F("U", [3, 5, 1, 1], U(-1, 1))],
     "A = Mul(X, V)\n  C = Conv(A, W, B)\n  Y = Conv <strides = [2, 2]> (C, U)")
case("conv_1d", "Conv 1-D, stride 2, dilation 2, pads 1, bias",
     f"{P} entries=27 expect=bb.conv",
     "(float[2,3,9] X) => (float[2,4,4] Y)",
     [F("V", [3, 9], U(-1, 1)), F("W", [4, 3, 3], U(-1, 1)), F("B", [4], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <strides = [2], dilations = [2], pads = [1, 1]> (A, W, B)")
case("conv_3d", "Conv 3-D, strides (1, 2, 1), pads 1",
     f"{P} entries=24 expect=bb.conv",
     "(float[1,2,3,4,4] X) => (float[1,2,2,2,3] Y)",
     [F("V", [2, 3, 4, 4], U(-1, 1)), F("W", [2, 2, 2, 2, 2], U(-1, 1))],
     "A = Mul(X, V)\n  Y = Conv <strides = [1, 2, 1], pads = [0, 1, 0, 0, 0, 0]> (A, W)")

# --- pooling ------------------------------------------------------------------------
# Max pools add a small input to distinct parameters (PERM, 0.08 apart), so
# every window has one clear maximum that the finite differences do not move.
case("max_pool", "MaxPool 3x3, stride 2, pads 1 (overlapping windows)",
     "X=u:-0.01:0.01 entries=50 expect=bb.max_pool",
     "(float[2,2,5,5] X) => (float[2,2,3,3] Y)", [F("W", [2, 5, 5], PERM(-2, 2))],
     "A = Add(X, W)\n  Y = MaxPool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (A)")
case("max_pool_ceil", "MaxPool 2x2, stride 2, ceil_mode (clipped last windows)",
     "X=u:-0.01:0.01 entries=50 expect=bb.max_pool",
     "(float[1,2,5,5] X) => (float[1,2,3,3] Y)", [F("W", [2, 5, 5], PERM(-2, 2))],
     "A = Add(X, W)\n  Y = MaxPool <kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1> (A)")
case("avg_pool", "AveragePool 3x3, stride 2, pads 1, padding not counted",
     f"{P} entries=50 expect=bb.avg_pool",
     "(float[2,2,5,5] X) => (float[2,2,3,3] Y)", [F("W", [2, 5, 5], U(-1, 1))],
     "A = Mul(X, W)\n  Y = AveragePool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (A)")
case("avg_pool_include_pad", "AveragePool 3x3, stride 2, pads 1, count_include_pad, ceil_mode",
     f"{P} entries=72 expect=bb.avg_pool",
     "(float[1,2,6,6] X) => (float[1,2,4,4] Y)", [F("W", [2, 6, 6], U(-1, 1))],
     "A = Mul(X, W)\n  Y = AveragePool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], "
     "count_include_pad = 1, ceil_mode = 1> (A)")
case("avg_pool_1d", "AveragePool 1-D, kernel 2, stride 1", f"{P} entries=15 expect=bb.avg_pool",
     "(float[2,3,5] X) => (float[2,3,4] Y)", [F("W", [3, 5], U(-1, 1))],
     "A = Mul(X, W)\n  Y = AveragePool <kernel_shape = [2]> (A)")

# --- batch norm ------------------------------------------------------------------
# Mean and variance are model inputs here: as initializers they would be
# buffers (no gradient by design), which a finite difference would flag.
case("batch_norm", "BatchNormalization (inference): input, scale and bias gradients",
     f"{P} M=u:-0.5:0.5 Var=u:0.5:1.5 entries=24 expect=bb.batch_norm",
     "(float[2,3,4,4] X, float[3] M, float[3] Var) => (float[2,3,4,4] Y)",
     [F("W", [3, 4, 4], U(-2, 2)), F("S", [3], U(0.5, 1.5)), F("B", [3], U(-1, 1))],
     "A = Mul(X, W)\n  Y = BatchNormalization <epsilon = 0.001> (A, S, B, M, Var)")
case("batch_norm_2d", "BatchNormalization of [N, C] (no spatial dims)",
     f"{P} M=u:-0.5:0.5 Var=u:0.5:1.5 entries=12 expect=bb.batch_norm",
     "(float[4,3] X, float[3] M, float[3] Var) => (float[4,3] Y)",
     [F("W", [4, 3], U(-2, 2)), F("S", [3], U(0.5, 1.5)), F("B", [3], U(-1, 1))],
     "A = Mul(X, W)\n  Y = BatchNormalization(A, S, B, M, Var)")

# --- cross-entropy loss --------------------------------------------------------
case("cross_entropy", "cross-entropy over 3-D logits, two labels ignored (-100)",
     "loss=cross_entropy labels=ce:5 expect=bb.cross_entropy",
     "(float[2,3,4] X) => (float[2,3,5] Y)",
     [F("W", [4, 5], U(-1, 1)), F("B", [5], U(-1, 1))],
     "A = MatMul(X, W)\n  Y = Add(A, B)")
case("cross_entropy_2d", "cross-entropy over 2-D logits, two labels ignored (-100)",
     "loss=cross_entropy labels=ce:6 expect=bb.cross_entropy",
     "(float[4,3] X) => (float[4,6] Y)", [F("W", [6, 3], U(-1, 1))],
     "Y = Gemm <transB = 1> (X, W)")


def fmt(v):
    s = f"{v:.6f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def render(c):
    rng = np.random.default_rng(zlib.crc32(c["name"].encode()))
    inits = []
    for kind, name, shape, dist in c["params"]:
        n = int(np.prod(shape))
        dims = ", ".join(map(str, shape))
        if kind == "int64":
            vals = ", ".join(map(str, dist))
        else:
            if dist[0] == "u":
                v = rng.uniform(dist[1], dist[2], n)
            elif dist[0] == "pm":
                v = rng.uniform(dist[1], dist[2], n) * rng.choice([-1.0, 1.0], n)
            else:  # perm
                v = rng.permutation(np.linspace(dist[1], dist[2], n))
            vals = ", ".join(fmt(x) for x in v)
        inits.append(f"{kind}[{dims}] {name} = {{{vals}}}")
    inputs, outputs = c["sig"].split(" => ")
    return (f"# gradcheck: {c['spec']}\n# {c['name']}: {c['doc']}\n"
            "# Written by make_models.py (parameters: seeded random values).\n"
            + HEADER.format(opset=c["opset"])
            + f"agraph {inputs} => {outputs}\n  <" + ",\n   ".join(inits) + ">\n{\n  "
            + c["body"] + "\n}\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for c in CASES:
        with open(os.path.join(out, c["name"] + ".onnxtext"), "w") as f:
            f.write(render(c))
    print(f"wrote {len(CASES)} models to {out}")


if __name__ == "__main__":
    main()
