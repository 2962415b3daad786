#!/usr/bin/python3
"""Generate GPT-style decoder ONNX models of any size, weights left out.

Every float parameter (and the causal mask) is declared as ONNX external data
(data_location=EXTERNAL, location="NAME.weights", offset, length) pointing at a
file that is normally *never written*.  A 175B-parameter model is then an .onnx
file of a few hundred kilobytes that a compiler can plan from shapes alone
(bbc's shapes-only import, ImportOptions.shapesOnly).  With --with-weights the
same generator writes seeded random weights into NAME.weights, which makes a
runnable model for tests (keep that to small sizes).

Usage (from the repository root; needs /usr/bin/python3 with onnx and numpy,
onnxruntime only for --verify):

    /usr/bin/python3 scripts/make_gpt_onnx.py --list
    /usr/bin/python3 scripts/make_gpt_onnx.py gpt-175b -o /tmp/gpt-175b.onnx
    /usr/bin/python3 scripts/make_gpt_onnx.py gpt-6.7b --batch 8 --seq 1024
    /usr/bin/python3 scripts/make_gpt_onnx.py gpt-13b --symbolic
    /usr/bin/python3 scripts/make_gpt_onnx.py gpt-tiny --with-weights --verify \
        -o /tmp/gpt-tiny.onnx
    /usr/bin/python3 scripts/make_gpt_onnx.py --layers 4 --d-model 256 \
        --heads 8 --vocab 1000 --seq 128 -o /tmp/custom.onnx

    # then, for instance:
    bazel-bin/tools/bbc/bbc plan /tmp/gpt-175b.onnx --cluster=dgx-h100:8
    bazel-bin/tools/bbc/bbc /tmp/gpt-tiny.onnx --emit=bb -o /tmp/gpt-tiny.mlir

Presets (layers, d_model, heads; vocab 50257 unless --vocab):

    gpt-tiny    2    64   4   (vocab 256, seq 64; for tests)
    gpt2-124m  12   768  12   (seq 1024, GPT-2 small's context)
    gpt2-350m  24  1024  16   (seq 1024, GPT-2 medium's context)
    gpt-1.3b   24  2048  16   GPT-3 XL (d_head 128; the paper's "24 heads"
                              does not divide 2048)
    gpt-2.7b   32  2560  32   GPT-3 2.7B
    gpt-6.7b   32  4096  32   GPT-3 6.7B
    gpt-13b    40  5120  40   GPT-3 13B (the paper's d_model 5140 is not a
                              multiple of 40 heads; 5120 = 40 x 128)
    gpt-39b    48  8192  64   Megatron-LM's 39.1B configuration
    gpt-175b   96 12288  96   GPT-3 175B

GPT-3 presets default to --seq 2048 (the paper's context), as do custom sizes.
--layers / --d-model / --heads / --vocab / --seq override a preset or, with no
preset, describe a custom model (layers, d-model and heads required).

Output: OUT.onnx (default ./NAME.onnx), and with --with-weights OUT.weights
beside it (the external-data location is the .onnx file's stem + ".weights",
relative to the model's directory, as ONNX requires).

Graph (opset 17, pre-LN GPT-2 as nanoGPT writes it, built with onnx.helper):

    idx int64 [B, T]
    x = Gather(wte [V, d], idx) + Gather(wpe [T, d], Range(0, T, 1))
    per layer i (names transformer.h.i.*):
      h = LayerNormalization(x, ln_1.weight, ln_1.bias)
      qkv = MatMul(h, attn.c_attn.weight [d, 3d]) + attn.c_attn.bias
      q, k, v = Split(qkv, [d, d, d], axis=-1)
      q, v -> Reshape [B, T, H, d/H] -> Transpose [B, H, T, d/H]
      k    -> Reshape [B, T, H, d/H] -> Transpose [B, H, d/H, T]   (k^T; the
              two transposes torch writes are fused, as its exporter does)
      a = Softmax(MatMul(q, k^T) * (1/sqrt(d/H)) + causal_mask, axis=-1)
      y = Reshape(Transpose(MatMul(a, v), [0, 2, 1, 3]), [B, T, d])
      x = x + MatMul(y, attn.c_proj.weight [d, d]) + attn.c_proj.bias
      h = LayerNormalization(x, ln_2.weight, ln_2.bias)
      f = MatMul(h, mlp.c_fc.weight [d, 4d]) + mlp.c_fc.bias
      g = Mul(Mul(f, Add(Erf(Div(f, sqrt 2)), 1)), 0.5)         (exact GELU)
      x = x + MatMul(g, mlp.c_proj.weight [4d, d]) + mlp.c_proj.bias
    logits = MatMul(LayerNormalization(x, ln_f), lm_head.weight [d, V])
             float [B, T, V]   (lm_head untied from wte, no bias)

Node names follow torch.onnx ("/transformer/h.3/attn/MatMul_1", outputs
"<node>_output_0"), so tools that group ops by module path see layers.

causal_mask is one float initializer [1, 1, T, T] shared by all layers: 0 on
and below the diagonal, -inf above (external, like the weights; a trainer
that trains every float initializer, as bbc --train does, should be told to
freeze it: --freeze=causal_mask).  Small integer initializers (Range bounds,
Split sizes, Reshape shapes) are inline raw_data, and the float scalars
(attention scale, GELU's sqrt 2, 1, 0.5) are Constant nodes, as torch exports
them, so an importer never needs the missing file for them and they are not
parameters.

--symbolic makes the batch and sequence axes the symbolic dims "batch" and
"seq"; --seq is then the maximum length (wpe and the mask have --seq rows),
T comes from Shape(idx), the mask is Sliced to [:T, :T] and the Reshapes use
0 (copy that input dim).

The script runs onnx.checker.check_model (full_check=False: the data is
missing) and ONNX shape inference, and prints the file, layers, parameters
(excluding the mask; "tied" is the count without lm_head, which is how the
GPT-2/GPT-3 papers count), and file sizes.  --verify (needs --with-weights and
onnxruntime) runs the model in ONNX Runtime and compares it with a NumPy
forward pass written from the formulas above.
"""

import argparse
import math
import os
import re
import sys

import numpy as np
import onnx
import onnx.checker
import onnx.shape_inference
from onnx import TensorProto, helper

OPSET = 17
ALIGN = 64  # byte alignment of each tensor inside NAME.weights
LN_EPS = 1e-5

# name: (layers, d_model, heads, vocab, seq)
PRESETS = {
    "gpt-tiny": (2, 64, 4, 256, 64),
    "gpt2-124m": (12, 768, 12, 50257, 1024),
    "gpt2-350m": (24, 1024, 16, 50257, 1024),
    "gpt-1.3b": (24, 2048, 16, 50257, 2048),
    "gpt-2.7b": (32, 2560, 32, 50257, 2048),
    "gpt-6.7b": (32, 4096, 32, 50257, 2048),
    "gpt-13b": (40, 5120, 40, 50257, 2048),
    "gpt-39b": (48, 8192, 64, 50257, 2048),
    "gpt-175b": (96, 12288, 96, 50257, 2048),
}

# Parameter counts as the papers state them: GPT-3, Brown et al. 2020, Table
# 2.1 (gpt2-124m = "GPT-3 Small", gpt2-350m = "GPT-3 Medium"; OpenAI's GPT-2
# checkpoints of those shapes are 124M and 355M with 1024 positions); 39B:
# Narayanan et al. 2021 (Megatron-LM), Table 1.
PAPER_PARAMS = {
    "gpt2-124m": 125e6,
    "gpt2-350m": 350e6,
    "gpt-1.3b": 1.3e9,
    "gpt-2.7b": 2.7e9,
    "gpt-6.7b": 6.7e9,
    "gpt-13b": 13.0e9,
    "gpt-39b": 39.1e9,
    "gpt-175b": 175.0e9,
}

# Refuse to write more than this many weight bytes without --force.
MAX_WEIGHT_BYTES = 2 << 30


class Builder:
    """Collects nodes and initializers; float tensors go to external data."""

    def __init__(self, location, rng=None):
        self.location = location
        self.nodes = []
        self.inits = []
        self.offset = 0
        self.rng = rng  # set when writing weights
        self.pending = []  # (offset, shape, fill) to write, in order
        self.num_params = 0
        self.op_counts = {}

    def external(self, name, shape, fill=None, param=True):
        """A float32 initializer whose bytes live in the external file.

        fill(rng, shape) -> np.ndarray makes the data when writing weights."""
        n = int(np.prod(shape, dtype=np.int64))
        length = n * 4
        self.offset = (self.offset + ALIGN - 1) // ALIGN * ALIGN
        t = TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.location), ("offset", str(self.offset)),
                     ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        if self.rng is not None:
            self.pending.append((self.offset, tuple(shape), fill))
        self.offset += length
        if param:
            self.num_params += n
        self.inits.append(t)
        return name

    def inline(self, name, array):
        """A small initializer stored in the .onnx file (raw_data)."""
        self.inits.append(helper.make_tensor(
            name, helper.np_dtype_to_tensor_dtype(array.dtype)
            if hasattr(helper, "np_dtype_to_tensor_dtype")
            else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype],
            array.shape, array.tobytes(), raw=True))
        return name

    def node(self, op, inputs, scope="", outputs=1, out_name=None, **attrs):
        """A node named as torch.onnx names them: module path, op type and a
        per-scope counter ("/transformer/h.0/attn/MatMul_1"), outputs
        NAME_output_<i>.  Bumblebee groups ops into layers by this path."""
        key = (scope, op)
        k = self.op_counts.get(key, 0)
        self.op_counts[key] = k + 1
        name = f"{scope}/{op}" + (f"_{k}" if k else "")
        outs = [out_name] if out_name else [f"{name}_output_{i}"
                                            for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def write_weights(self, path):
        with open(path, "wb") as f:
            for off, shape, fill in self.pending:
                # Made one tensor at a time, in declaration order (seeded).
                data = fill(self.rng, shape).astype(np.float32)
                assert data.shape == shape, (data.shape, shape)
                pad = off - f.tell()
                assert pad >= 0
                f.write(b"\0" * pad)
                f.write(data.tobytes())
            assert f.tell() == self.offset, (f.tell(), self.offset)


# Weight initialisers used with --with-weights (seeded; GPT-2-like scales, but
# LayerNorm and biases non-trivial so a test sees every parameter).
def normal(std):
    return lambda rng, shape: rng.standard_normal(shape) * std


def ln_weight(rng, shape):
    return 1.0 + 0.1 * rng.standard_normal(shape)


def causal_mask(T):
    m = np.zeros((1, 1, T, T), np.float32)
    m[0, 0][np.triu_indices(T, 1)] = -np.inf
    return m


def build(name, L, d, H, V, T, B, symbolic, location, rng=None):
    assert d % H == 0, f"d_model {d} is not a multiple of heads {H}"
    dh = d // H
    b = Builder(location, rng)
    batch_dim = "batch" if symbolic else B
    seq_dim = "seq" if symbolic else T

    # Shared constants (inline).
    i64 = lambda v: np.array(v, np.int64)
    # Float scalars are Constant nodes, as torch exports them, not
    # initializers: a trainer that trains every float initializer (bbc
    # --train) must not train the attention scale or GELU's constants.
    def const(name, value):
        return b.node("Constant", [], out_name=name,
                      value=helper.make_tensor(name, TensorProto.FLOAT, [],
                                               [value]))
    c_scale = const("attn_scale", 1.0 / math.sqrt(dh))
    c_sqrt2 = const("gelu_sqrt2", math.sqrt(2.0))
    c_one = const("gelu_one", 1.0)
    c_half = const("gelu_half", 0.5)
    c_split = b.inline("qkv_split", i64([d, d, d]))
    if symbolic:
        c_heads_shape = b.inline("heads_shape", i64([0, 0, H, dh]))
        c_merge_shape = b.inline("merge_shape", i64([0, 0, d]))
    else:
        c_heads_shape = b.inline("heads_shape", i64([B, T, H, dh]))
        c_merge_shape = b.inline("merge_shape", i64([B, T, d]))

    std = 0.02
    wte = b.external("transformer.wte.weight", [V, d], normal(std))
    wpe = b.external("transformer.wpe.weight", [T, d], normal(std))
    mask_full = b.external("causal_mask", [1, 1, T, T],
                           lambda rng, s: causal_mask(T), param=False)

    # Positions and mask.
    c_zero = b.inline("pos_start", i64(0))
    c_step = b.inline("pos_step", i64(1))
    if symbolic:
        shape = b.node("Shape", ["idx"])
        t_len = b.node("Gather", [shape, b.inline("seq_axis", i64(1))], axis=0)
        pos = b.node("Range", [c_zero, t_len, c_step])
        t_1 = b.node("Unsqueeze", [t_len, b.inline("unsq_axes", i64([0]))])
        ends = b.node("Concat", [t_1, t_1], axis=0)
        mask = b.node("Slice", [mask_full, b.inline("mask_starts", i64([0, 0])),
                                ends, b.inline("mask_axes", i64([2, 3]))])
    else:
        pos = b.node("Range", [c_zero, b.inline("pos_limit", i64(T)), c_step])
        mask = mask_full

    tok = b.node("Gather", [wte, "idx"], "/transformer/wte", axis=0)
    pe = b.node("Gather", [wpe, pos], "/transformer/wpe", axis=0)
    x = b.node("Add", [tok, pe], "/transformer")

    def scope(prefix):
        # "transformer.h.0.attn.c_attn" -> "/transformer/h.0/attn/c_attn"
        return "/" + re.sub(r"\.(?!\d)", "/", prefix)

    def ln(x, prefix):
        w = b.external(prefix + ".weight", [d], ln_weight)
        bias = b.external(prefix + ".bias", [d], normal(std))
        return b.node("LayerNormalization", [x, w, bias], scope(prefix),
                      axis=-1, epsilon=LN_EPS)

    def linear(x, prefix, n_in, n_out, wstd=std):
        w = b.external(prefix + ".weight", [n_in, n_out], normal(wstd))
        bias = b.external(prefix + ".bias", [n_out], normal(std))
        y = b.node("MatMul", [x, w], scope(prefix))
        return b.node("Add", [y, bias], scope(prefix))

    proj_std = std / math.sqrt(2 * L)
    for i in range(L):
        p = f"transformer.h.{i}"
        sh = f"/transformer/h.{i}"
        sa, sg = sh + "/attn", sh + "/mlp/gelu"
        h = ln(x, p + ".ln_1")
        qkv = linear(h, p + ".attn.c_attn", d, 3 * d)
        q, k, v = b.node("Split", [qkv, c_split], sa,
                         outputs=3, axis=-1)
        q = b.node("Reshape", [q, c_heads_shape], sa)
        k = b.node("Reshape", [k, c_heads_shape], sa)
        v = b.node("Reshape", [v, c_heads_shape], sa)
        q = b.node("Transpose", [q], sa, perm=[0, 2, 1, 3])
        kt = b.node("Transpose", [k], sa, perm=[0, 2, 3, 1])
        v = b.node("Transpose", [v], sa, perm=[0, 2, 1, 3])
        att = b.node("MatMul", [q, kt], sa)
        att = b.node("Mul", [att, c_scale], sa)
        att = b.node("Add", [att, mask], sa)
        att = b.node("Softmax", [att], sa, axis=-1)
        y = b.node("MatMul", [att, v], sa)
        y = b.node("Transpose", [y], sa, perm=[0, 2, 1, 3])
        y = b.node("Reshape", [y, c_merge_shape], sa)
        y = linear(y, p + ".attn.c_proj", d, d, proj_std)
        x = b.node("Add", [x, y], sh)
        h = ln(x, p + ".ln_2")
        f = linear(h, p + ".mlp.c_fc", d, 4 * d)
        g = b.node("Div", [f, c_sqrt2], sg)
        g = b.node("Erf", [g], sg)
        g = b.node("Add", [g, c_one], sg)
        g = b.node("Mul", [f, g], sg)
        g = b.node("Mul", [g, c_half], sg)
        y = linear(g, p + ".mlp.c_proj", 4 * d, d, proj_std)
        x = b.node("Add", [x, y], sh)

    h = ln(x, "transformer.ln_f")
    w_head = b.external("lm_head.weight", [d, V], normal(std))
    # The last node writes the graph output by name.
    b.node("MatMul", [h, w_head], "/lm_head", out_name="logits")

    graph = helper.make_graph(
        b.nodes, name,
        [helper.make_tensor_value_info("idx", TensorProto.INT64,
                                       [batch_dim, seq_dim])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [batch_dim, seq_dim, V])],
        initializer=b.inits)
    model = helper.make_model(
        graph, producer_name="bumblebee/scripts/make_gpt_onnx.py",
        opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.doc_string = (f"GPT decoder {name}: layers={L} d_model={d} heads={H} "
                        f"vocab={V} seq={T}; weights external in {location}")
    return model, b


def check(model, location):
    """onnx.checker.check_model(full_check=False) without the weights.

    For an in-memory model the checker resolves external locations against
    the current directory and only tests that the file exists (it never reads
    it), so run it in an empty temporary directory holding an empty
    placeholder named like the weights file."""
    import tempfile
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, location), "wb").close()
        os.chdir(tmp)
        try:
            onnx.checker.check_model(model, full_check=False)
        finally:
            os.chdir(cwd)


def param_count(L, d, V, T):
    """Parameters of the graph above (mask excluded, lm_head untied)."""
    per_layer = 12 * d * d + 13 * d
    return V * d + T * d + L * per_layer + 2 * d + d * V


def human(n, unit=""):
    """1.42B (a count) or 5.69GB (bytes, unit "B")."""
    billion = "G" if unit else "B"
    for suffix, scale in (("T", 1e12), (billion, 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{suffix}{unit}"
    return f"{n}{unit}"


# --- NumPy reference forward pass (for --verify) -----------------------------

def numpy_forward(model_path, idx):
    from onnx import numpy_helper
    m = onnx.load(model_path)  # loads external data from NAME.weights
    W = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    B, T = idx.shape
    d = W["transformer.wte.weight"].shape[1]
    dh = d // int(W["heads_shape"][-2])
    H = d // dh

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + LN_EPS) * W[p + ".weight"] + W[p + ".bias"]

    def lin(x, p):
        return x @ W[p + ".weight"] + W[p + ".bias"]

    from math import erf
    verf = np.vectorize(erf)
    x = W["transformer.wte.weight"][idx] + W["transformer.wpe.weight"][:T]
    x = x.astype(np.float64)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    i = 0
    while f"transformer.h.{i}.ln_1.weight" in W:
        p = f"transformer.h.{i}"
        q, k, v = np.split(lin(ln(x, p + ".ln_1"), p + ".attn.c_attn"), 3, -1)
        heads = lambda t: t.reshape(B, T, H, dh).transpose(0, 2, 1, 3)
        q, k, v = heads(q), heads(k), heads(v)
        a = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + mask
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        y = (a @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        x = x + lin(y, p + ".attn.c_proj")
        f = lin(ln(x, p + ".ln_2"), p + ".mlp.c_fc")
        g = 0.5 * f * (1 + verf(f / math.sqrt(2)))
        x = x + lin(g, p + ".mlp.c_proj")
        i += 1
    return ln(x, "transformer.ln_f") @ W["lm_head.weight"]


def verify(path, V, T, B, symbolic):
    try:
        import onnxruntime as ort
    except ImportError:
        print("verify: onnxruntime not installed; skipped")
        return True
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    shapes = [(B, T)]
    if symbolic:
        shapes += [(3, max(1, T // 2)), (1, 1)]
    ok = True
    for bs, ts in shapes:
        idx = rng.integers(0, V, size=(bs, ts), dtype=np.int64)
        got = sess.run(["logits"], {"idx": idx})[0]
        ref = numpy_forward(path, idx)
        err = float(np.max(np.abs(got - ref)))
        good = got.shape == (bs, ts, V) and err <= 1e-4 + 1e-3 * float(np.max(np.abs(ref)))
        ok &= good
        print(f"verify: onnxruntime {ort.__version__} vs numpy, idx {bs}x{ts}: "
              f"logits {list(got.shape)}, max |diff| {err:.3g} "
              f"(max |ref| {float(np.max(np.abs(ref))):.3g}) "
              f"{'ok' if good else 'MISMATCH'}")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Presets, graph and checks: see the docstring at the top of "
        "scripts/make_gpt_onnx.py.")
    ap.add_argument("preset", nargs="?", choices=sorted(PRESETS),
                    help="model size (omit for a custom size)")
    ap.add_argument("-o", "--output", help="output .onnx (default ./NAME.onnx)")
    ap.add_argument("--name", help="model/graph name (default: preset or "
                    "gpt-L<layers>-d<d>-h<heads>)")
    ap.add_argument("--layers", type=int)
    ap.add_argument("--d-model", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--seq", type=int, help="sequence length (the maximum "
                    "with --symbolic); default the preset's, else 2048")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--symbolic", action="store_true",
                    help="batch and seq axes are the symbolic dims "
                    "'batch'/'seq'")
    ap.add_argument("--with-weights", action="store_true",
                    help="write seeded random weights into NAME.weights")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true",
                    help=f"allow --with-weights above {MAX_WEIGHT_BYTES >> 30} GiB")
    ap.add_argument("--verify", action="store_true",
                    help="with --with-weights: run onnxruntime and compare "
                    "with a NumPy forward pass")
    ap.add_argument("--list", action="store_true", help="print the presets")
    a = ap.parse_args(argv)

    if a.list:
        print(f"{'preset':10} {'layers':>6} {'d':>6} {'heads':>5} {'vocab':>6} "
              f"{'seq':>5} {'params':>16} {'tied':>16} {'paper':>8}")
        for n, (L, d, H, V, T) in PRESETS.items():
            p = param_count(L, d, V, T)
            paper = human(PAPER_PARAMS[n]) if n in PAPER_PARAMS else "-"
            print(f"{n:10} {L:6} {d:6} {H:5} {V:6} {T:5} {p:16,} "
                  f"{p - d * V:16,} {paper:>8}")
        return 0

    if a.preset:
        L, d, H, V, T = PRESETS[a.preset]
    else:
        if None in (a.layers, a.d_model, a.heads):
            ap.error("give a preset, or --layers, --d-model and --heads")
        L, d, H, V, T = None, None, None, 50257, 2048
    custom = any(v is not None for v in (a.layers, a.d_model, a.heads))
    L = a.layers if a.layers is not None else L
    d = a.d_model if a.d_model is not None else d
    H = a.heads if a.heads is not None else H
    V = a.vocab if a.vocab is not None else V
    T = a.seq if a.seq is not None else T
    B = a.batch
    for what, v in (("layers", L), ("d-model", d), ("heads", H), ("vocab", V),
                    ("seq", T), ("batch", B)):
        if v < 1:
            ap.error(f"--{what} must be positive")
    if d % H:
        ap.error(f"d-model {d} is not a multiple of heads {H}")
    if a.verify and not a.with_weights:
        ap.error("--verify needs --with-weights")

    name = a.name or (a.preset if a.preset and not custom
                      else f"gpt-L{L}-d{d}-h{H}")
    out = a.output or f"{name}.onnx"
    out_dir = os.path.dirname(os.path.abspath(out))
    stem = os.path.basename(out)
    stem = stem[:-5] if stem.endswith(".onnx") else stem
    location = stem + ".weights"
    weights_path = os.path.join(out_dir, location)

    params = param_count(L, d, V, T)
    weight_bytes = (params + T * T) * 4
    if a.with_weights and weight_bytes > MAX_WEIGHT_BYTES and not a.force:
        ap.error(f"--with-weights would write {human(weight_bytes, 'B')}; "
                 "add --force if you mean it")

    rng = np.random.default_rng(a.seed) if a.with_weights else None
    model, b = build(name, L, d, H, V, T, B, a.symbolic, location, rng)
    assert b.num_params == params, (b.num_params, params)

    check(model, location)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True,
                                                 strict_mode=True)
    out_type = inferred.graph.output[0].type.tensor_type
    dims = [x.dim_param or x.dim_value for x in out_type.shape.dim]
    want = ["batch", "seq", V] if a.symbolic else [B, T, V]
    if dims != want:
        print(f"error: inferred logits shape {dims}, expected {want}",
              file=sys.stderr)
        return 1

    os.makedirs(out_dir, exist_ok=True)
    with open(out, "wb") as f:
        f.write(model.SerializeToString())
    if a.with_weights:
        b.write_weights(weights_path)
        # Now the real file is there: check the model as saved.
        onnx.checker.check_model(out, full_check=True)
    elif os.path.exists(weights_path):
        print(f"warning: {weights_path} exists (an earlier --with-weights "
              "run?) and was left as is; readers of this model will use it "
              "if its size fits. Delete it for a weightless model.",
              file=sys.stderr)

    hist = {}
    for n in model.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    print(f"file:       {out}")
    print(f"model:      {name}: layers {L}, d_model {d}, heads {H} (d_head "
          f"{d // H}), vocab {V}, "
          + (f"idx [batch, seq] symbolic (seq <= {T})" if a.symbolic
             else f"idx [{B}, {T}]"))
    print(f"layers:     {L}")
    print(f"parameters: {params:,} ({human(params)}; tied-embedding count "
          f"{params - d * V:,} = {human(params - d * V)}"
          + (f"; paper {human(PAPER_PARAMS[name])}" if name in PAPER_PARAMS else "")
          + "), mask excluded")
    print(f"file size:  {os.path.getsize(out):,} bytes .onnx; external "
          f"{location}: {b.offset:,} bytes "
          f"({human(b.offset, 'B')}) "
          + ("written" if a.with_weights else "declared, not written"))
    print(f"graph:      {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers; "
          + ", ".join(f"{k} {v}" for k, v in sorted(hist.items())))
    print("checks:     onnx.checker (full_check=False) ok"
          + ("; onnx.checker on the saved file with weights (full_check=True) ok"
             if a.with_weights else "")
          + f"; shape inference (strict): logits {dims}")
    if a.verify:
        return 0 if verify(out, V, T, B, a.symbolic) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
