#!/usr/bin/python3
"""PyTorch reference trajectories for `bbc --train` programs.

usage (from the repository root; needs the packages of
`scripts/install_deps.sh --models`):

    /usr/bin/python3 test/models/make_train_refs.py             # mlp and gpt2
    /usr/bin/python3 test/models/make_train_refs.py gpt2        # one model
    /usr/bin/python3 test/models/make_train_refs.py --verify    # + self-checks

For each model NAME (mlp, gpt2) this writes into test/models/NAME/train/:
  mlp:  x.npy [32, 64] f32, labels.npy [32] i64   (batch 4: 8 batches, wraps)
  gpt2: tokens.bin, 321 little-endian uint16 tokens in [0, 256)
        (batch 2 x seq 16: 10 batches, wraps)
  RUN.json for every run (sgd, adamw; mlp sgd-bf16, sgd-tf32 and sgd-fp16,
                  gpt2 adamw-bf16 and adamw-fp16 with
                  --precision=bf16|tf32|fp16, every matrix product on
                  rounded operands, the backward pass's too:
                  rounded_product; fp16 with LossScaler's dynamic loss
                  scaling):
    bbc_flags     the bbc flags of that run (after MODEL.onnx, before -o):
                  --input-shape=..., --train, --loss=cross_entropy, optimizer
    binary_flags  data flags (paths relative to train/) and --steps 20
    losses        loss of each step's batch before that step's update
    lrs           learning rate used at each step
    grad_norms    total L2 norm of all trained gradients, before clipping
                  (NaN or inf: a step whose scaled gradients overflowed)
    loss_scales   fp16 runs: the loss scale each step used
    fp64_max_rel_loss_diff  how far this float32 trajectory is from the same
                  run in float64 (a floor for the tolerance of a check)

A check runs, e.g.:
    bbc test/models/gpt2/gpt2.onnx $bbc_flags -o build/gpt2_train
    (cd test/models/gpt2/train && ../../../../build/gpt2_train $binary_flags --log /tmp/l.csv)
    /usr/bin/python3 test/e2e/check_train.py /tmp/l.csv test/models/gpt2/train/adamw.json

Semantics (the product's spec): the trained parameters are the float ONNX
initializers with a gradient path to the loss, each trained on its own; so
gpt2's tied wte / lm_head pair (the exporter stores lm_head as the separate
transposed initializer onnx::MatMul_289) is UNTIED here: lm_head gets its own
nn.Parameter. Initial weights are read from the ONNX file (mapping of
test/models/NAME/grad/map.json, transposed where the exporter transposed).
Loss: cross-entropy over the last axis, mean, ignore_index -100. Optimizers
torch.optim.SGD (dampening 0) / torch.optim.AdamW with one parameter group
(weight decay on every parameter), clip_grad_norm_ before the step, and the
warmup + constant/cosine/linear schedule of lr_at(). Data loaders: llm.c
semantics for tokens (x = tok[pos:pos+B*T], y = tok[pos+1:pos+B*T+1],
pos += B*T, back to 0 when the next batch would not fit), rows [pos, pos+B)
for .npy arrays. float32, one thread, deterministic.

`--verify` also checks: the rebuilt module reproduces the ONNX Runtime output
in test/models/NAME/ and the loss in test/models/NAME/grad/loss.npy; an
optimizer written out from the formulas (no torch.optim) gives the same
float64 trajectory as torch.optim.

The module is importable (scripts/bench_training.py, test/data/make_corpus.py
use build_module, make_optimizer, lr_at, Loaders and train).
"""
import argparse
import collections
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402

STEPS = 20

# Initializers that the committed map.json maps onto a tied torch parameter,
# but which the product trains as their own parameter: initializer -> the
# parameter of the untied module (and whether the exporter transposed it).
UNTIED = {"gpt2": {"onnx::MatMul_289": ["lm_head.weight", True]}}

# One entry per run; keys are bbc option names, in the order they are passed.
RUNS = collections.OrderedDict(
    mlp=collections.OrderedDict(
        sgd=collections.OrderedDict(
            optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="constant"),
        adamw=collections.OrderedDict(
            optimizer="adamw", lr=1e-3, weight_decay=0.1, grad_clip=1.0, warmup=5,
            schedule="cosine", decay_steps=20, min_lr=1e-4),
        sgd_bf16=collections.OrderedDict(
            optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="constant",
            precision="bf16"),
        sgd_tf32=collections.OrderedDict(
            optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="constant",
            precision="tf32"),
        # f16 products with dynamic loss scaling, from a scale so large
        # that the first steps' scaled gradients overflow f16 (skipped
        # steps, halvings), and a short window so that it grows back within
        # the 20 steps (and overflows again).
        sgd_fp16=collections.OrderedDict(
            optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="constant",
            precision="fp16", loss_scale=2.0 ** 24, loss_scale_window=3),
    ),
    gpt2=collections.OrderedDict(
        sgd=collections.OrderedDict(
            optimizer="sgd", lr=0.1, momentum=0.9, schedule="constant"),
        # decay_steps and min_lr left to their defaults (--steps, 0.1 * lr).
        adamw=collections.OrderedDict(
            optimizer="adamw", lr=3e-3, weight_decay=0.1, beta2=0.95, grad_clip=1.0,
            warmup=3, schedule="cosine"),
        # Under bf16 rounding this trajectory is chaotic (a rounding that
        # flips moves the next steps): the f32 reference is 4e-5 from f64,
        # where the mlp's is 6e-7 (test/e2e/precision-bf16.test).
        adamw_bf16=collections.OrderedDict(
            optimizer="adamw", lr=3e-3, weight_decay=0.1, beta2=0.95, grad_clip=1.0,
            warmup=3, schedule="cosine", precision="bf16"),
        # AdamW under loss scaling: a skipped step does not advance its step
        # number (bias correction), as with PyTorch's GradScaler.
        adamw_fp16=collections.OrderedDict(
            optimizer="adamw", lr=3e-3, weight_decay=0.1, beta2=0.95, grad_clip=1.0,
            warmup=3, schedule="cosine", precision="fp16", loss_scale=2.0 ** 22,
            loss_scale_window=4),
    ),
)

DEFAULTS = dict(optimizer="sgd", lr=None, momentum=0.0, nesterov=False, weight_decay=0.0,
                beta1=0.9, beta2=0.999, eps=1e-8, grad_clip=0.0, warmup=0,
                schedule="constant", min_lr=None, decay_steps=None, precision="fp32",
                loss_scale=65536.0, loss_scale_window=2000)

INPUT_SHAPE = {"mlp": "x=4x64", "gpt2": "idx=2x16"}


# --------------------------------------------------------------------------
# module rebuilt from the ONNX initializers
# --------------------------------------------------------------------------
def onnx_initializers(name):
    m = onnx.load(os.path.join(HERE, name, name + ".onnx"))
    return collections.OrderedDict(
        (i.name, numpy_helper.to_array(i)) for i in m.graph.initializer)


def init_map(name):
    """ONNX initializer -> [parameter of the untied module, transposed?]."""
    mapping = json.load(open(os.path.join(HERE, name, "grad", "map.json")))
    mapping.update(UNTIED.get(name, {}))
    return mapping


def build_module(name, dtype=torch.float32):
    """The torch module of make_models.py with every ONNX initializer as its own
    parameter (gpt2: lm_head untied from wte), weights copied from the ONNX file."""
    if name == "mlp":
        model = make_models.MLP()
    elif name == "gpt2":
        model = make_models.GPT(vocab_size=256, block_size=64, n_layer=2, n_head=4, n_embd=64)
        model.lm_head.weight = nn.Parameter(model.wte.weight.detach().clone())  # untie
    else:
        raise ValueError(name)
    inits = onnx_initializers(name)
    params = dict(model.named_parameters())
    assert len({id(p) for p in params.values()}) == len(params), "tied parameters left"
    done = set()
    with torch.no_grad():
        for iname, (pname, transposed) in init_map(name).items():
            value = inits[iname]
            value = value.T if transposed else value
            p = params[pname]
            assert tuple(p.shape) == value.shape, (iname, pname, p.shape, value.shape)
            assert pname not in done, f"{pname} is set by two initializers"
            p.copy_(torch.from_numpy(np.array(value)))
            done.add(pname)
        missing = set(params) - done
        assert not missing, f"{name}: parameters without an initializer: {missing}"
        # Float initializers that are not parameters are buffers (the causal mask).
        buffers = dict(model.named_buffers())
        for iname, value in inits.items():
            if iname not in init_map(name):
                assert iname in buffers, f"{name}: initializer {iname} is neither param nor buffer"
                assert np.array_equal(buffers[iname].numpy(), value), iname
    model.train()  # no dropout / batch norm in mlp and gpt2: same as eval
    return model.to(dtype)


# --------------------------------------------------------------------------
# optimizer, schedule, loss, data
# --------------------------------------------------------------------------
def full_config(cfg, steps):
    c = dict(DEFAULTS)
    c.update(cfg)
    if c["min_lr"] is None:
        c["min_lr"] = 0.1 * c["lr"]
    if c["decay_steps"] is None:
        c["decay_steps"] = steps
    return c


def lr_at(s, c):
    """Learning rate used at 0-based step s (c from full_config)."""
    lr, w, d, lo = c["lr"], c["warmup"], c["decay_steps"], c["min_lr"]
    if w > 0 and s < w:
        return lr * (s + 1) / w
    if c["schedule"] == "constant":
        return lr
    p = min(max((s - w) / max(1, d - w), 0.0), 1.0)
    if c["schedule"] == "cosine":
        return lo + 0.5 * (1.0 + math.cos(math.pi * p)) * (lr - lo)
    if c["schedule"] == "linear":
        return lo + (1.0 - p) * (lr - lo)
    raise ValueError(c["schedule"])


def make_optimizer(params, c):
    if c["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], dampening=0,
                               weight_decay=c["weight_decay"], nesterov=c["nesterov"])
    if c["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                                 eps=c["eps"], weight_decay=c["weight_decay"])
    raise ValueError(c["optimizer"])


def loss_fn(logits, labels):
    classes = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1), ignore_index=-100)


class TokenLoader:
    """llm.c DataLoader semantics over a 1-D token array."""

    def __init__(self, tokens, B, T):
        self.tokens = torch.from_numpy(np.asarray(tokens).astype(np.int64))
        self.B, self.T, self.pos = B, T, 0
        assert len(self.tokens) >= B * T + 1, "too few tokens for one batch"

    def next(self):
        B, T = self.B, self.T
        buf = self.tokens[self.pos:self.pos + B * T + 1]
        x, y = buf[:-1].reshape(B, T), buf[1:].reshape(B, T)
        self.pos += B * T
        if self.pos + B * T + 1 > len(self.tokens):
            self.pos = 0
        return x, y


class ArrayLoader:
    """Rows [pos, pos+B) of x and labels; back to 0 when the next batch would not fit."""

    def __init__(self, x, labels, B):
        self.x, self.labels = torch.from_numpy(x), torch.from_numpy(labels)
        self.B, self.pos = B, 0
        assert len(self.x) == len(self.labels) and len(self.x) >= B

    def next(self):
        s = slice(self.pos, self.pos + self.B)
        x, y = self.x[s], self.labels[s]
        self.pos += self.B
        if self.pos + self.B > len(self.x):
            self.pos = 0
        return x, y


def _bf16(t):
    """t rounded to bfloat16 (nearest even), back in t's type."""
    return t.to(torch.bfloat16).to(t.dtype)


def _fp16(t):
    """t rounded to IEEE half (nearest even; beyond 65504 infinite), back in
    t's type."""
    return t.to(torch.float16).to(t.dtype)


def _sum_to(t, shape):
    """t summed over the leading dims that broadcasting added to `shape`."""
    while t.dim() > len(shape):
        t = t.sum(0)
    for d, n in enumerate(shape):
        if n == 1 and t.shape[d] != 1:
            t = t.sum(d, keepdim=True)
    return t


def _tf32(t):
    """t rounded to TF32 (10 mantissa bits; to nearest, ties away from zero,
    as the tensor cores and runtime/core/TF32.h round), back in t's type."""
    bits = t.float().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    finite = (bits & 0x7F800000) != 0x7F800000
    rounded = torch.where(finite, (bits + 0x1000) & 0xFFFFE000, bits)
    rounded = torch.where(rounded >= 2**31, rounded - 2**32, rounded)
    return rounded.to(torch.int32).view(torch.float32).to(t.dtype)


def rounded_product(round_operand):
    """a @ b of operands rounded by `round_operand`, summed in their float
    type: what `bbc --precision=bf16|tf32` does to every matrix product
    (bb-mixed-precision rounds the operands of the forward's and the
    backward's products; the rest, and the parameters, stay in float)."""

    class Product(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ar, br = round_operand(a), round_operand(b)
            ctx.save_for_backward(ar, br)
            return torch.matmul(ar, br)

        @staticmethod
        def backward(ctx, g):
            ar, br = ctx.saved_tensors
            gr = round_operand(g)
            ga = torch.matmul(gr, br.transpose(-1, -2))
            gb = torch.matmul(ar.transpose(-1, -2), gr)
            return _sum_to(ga, ar.shape), _sum_to(gb, br.shape)

    return Product


PRODUCTS = dict(bf16=rounded_product(_bf16), fp16=rounded_product(_fp16),
                tf32=rounded_product(_tf32))


class LossScaler:
    """Dynamic loss scaling as torch.amp.GradScaler does it (growth factor
    2, backoff 0.5): the loss is multiplied by `scale` before backward, the
    gradients divided by it after; a step whose gradients are not all finite
    is skipped and halves the scale; `window` good steps in a row double
    it."""

    def __init__(self, c):
        self.scale, self.window, self.good = c["loss_scale"], c["loss_scale_window"], 0

    def update(self, finite):
        if not finite:
            self.scale *= 0.5
            self.good = 0
            return
        self.good += 1
        if self.good == self.window:
            self.scale *= 2.0
            self.good = 0


class precision:
    """Within it, nn.Linear and `@` run as PRODUCTS[kind] unless kind is fp32."""

    def __init__(self, kind):
        self.kind = kind

    def __enter__(self):
        if self.kind == "fp32":
            return self
        product = PRODUCTS[self.kind]
        self.saved = (F.linear, torch.Tensor.__matmul__)

        def linear(x, w, b=None):
            y = product.apply(x, w.t())
            return y if b is None else y + b

        F.linear = linear
        torch.Tensor.__matmul__ = lambda a, b: product.apply(a, b)
        return self

    def __exit__(self, *exc):
        if self.kind != "fp32":
            F.linear, torch.Tensor.__matmul__ = self.saved
        return False


def total_norm(params):
    """L2 norm of all gradients, accumulated in float64."""
    return math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params
                         if p.grad is not None))


def train(model, c, loader, steps, manual=False, on_step=None, loss_scales=None):
    """Trains `steps` steps; returns (losses, lrs, grad_norms).
    manual=True: the optimizer and clipping written out from their formulas.
    loss_scales: a list that gets the loss scale of each step (fp16)."""
    params = [p for p in model.parameters() if p.requires_grad]
    dtype = params[0].dtype
    opt = None if manual else make_optimizer(params, c)
    state = [dict() for _ in params]
    losses, lrs, norms = [], [], []
    scaler = LossScaler(c) if c["precision"] == "fp16" else None
    scales = loss_scales if loss_scales is not None else []
    taken = 0  # steps taken (under loss scaling, the skipped ones do not count)
    for s in range(steps):
        lr = lr_at(s, c)
        x, y = loader.next()
        if x.is_floating_point():
            x = x.to(dtype)
        with precision(c["precision"]):
            loss = loss_fn(model(x), y)
        for p in params:
            p.grad = None
        if scaler:
            (loss * scaler.scale).backward()
            for p in params:
                p.grad.div_(scaler.scale)
        else:
            loss.backward()
        norm = total_norm(params)
        if scaler:
            scales.append(scaler.scale)
            finite = math.isfinite(norm)
            scaler.update(finite)
            if not finite:  # skipped: no update, and AdamW's count stays
                losses.append(loss.item())
                lrs.append(lr)
                norms.append(norm)
                continue
        taken += 1
        if manual:
            manual_step(params, state, c, lr, taken, norm)
        else:
            if c["grad_clip"] > 0:
                torch.nn.utils.clip_grad_norm_(params, c["grad_clip"])
            for g in opt.param_groups:
                g["lr"] = lr
            opt.step()
        losses.append(loss.item())
        lrs.append(lr)
        norms.append(norm)
        if on_step:
            on_step(s, loss.item())
    return losses, lrs, norms


@torch.no_grad()
def manual_step(params, state, c, lr, t, norm):
    if c["grad_clip"] > 0:
        coef = c["grad_clip"] / (norm + 1e-6)
        if coef < 1.0:
            for p in params:
                p.grad.mul_(coef)
    wd = c["weight_decay"]
    for p, st in zip(params, state):
        g = p.grad
        if c["optimizer"] == "sgd":
            g = g + wd * p
            if c["momentum"] != 0:
                buf = st.get("buf")
                buf = g.clone() if buf is None else c["momentum"] * buf + g
                st["buf"] = buf
                g = g + c["momentum"] * buf if c["nesterov"] else buf
            p -= lr * g
        else:
            b1, b2 = c["beta1"], c["beta2"]
            p *= 1.0 - lr * wd
            m = st.get("m", torch.zeros_like(p)) * b1 + (1 - b1) * g
            v = st.get("v", torch.zeros_like(p)) * b2 + (1 - b2) * g * g
            st["m"], st["v"] = m, v
            mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p -= lr * mhat / (vhat.sqrt() + c["eps"])


def fmt(v):
    return repr(float(v)) if isinstance(v, float) else str(v)


def bbc_flags(name, cfg):
    flags = ["--input-shape=" + INPUT_SHAPE[name], "--train", "--loss=cross_entropy"]
    for k, v in cfg.items():
        opt = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            if v:
                flags.append(opt)
        else:
            flags.append(f"{opt}={fmt(v)}")
    return flags


# --------------------------------------------------------------------------
# data of the reference runs
# --------------------------------------------------------------------------
def make_data(name, out):
    """Writes the data files; returns (loader factory, binary data flags)."""
    rng = np.random.default_rng({"mlp": 2000, "gpt2": 2001}[name])
    if name == "mlp":
        x = rng.standard_normal((32, 64)).astype(np.float32)
        labels = rng.integers(0, 10, size=(32,), dtype=np.int64)
        np.save(os.path.join(out, "x.npy"), x)
        np.save(os.path.join(out, "labels.npy"), labels)
        return (lambda: ArrayLoader(x, labels, 4),
                ["--data", "x=x.npy", "--data", "labels=labels.npy"])
    B, T = 2, 16
    tokens = rng.integers(0, 256, size=(STEPS * B * T // 2 + 1,)).astype("<u2")
    tokens.tofile(os.path.join(out, "tokens.bin"))
    return lambda: TokenLoader(tokens, B, T), ["--data", "tokens.bin"]


def verify_module(name):
    """The rebuilt module reproduces ORT's reference output and the grad loss."""
    meta = json.load(open(os.path.join(HERE, name, "meta.json")))
    model = build_module(name)
    inp = [torch.from_numpy(np.load(os.path.join(HERE, name, i["file"]))) for i in meta["inputs"]]
    ref = np.load(os.path.join(HERE, name, meta["outputs"][0]["file"]))
    with torch.no_grad():
        out = model(*inp).numpy()
        labels = torch.from_numpy(np.load(os.path.join(HERE, name, "grad", "labels.npy")))
        loss = loss_fn(torch.from_numpy(out), labels).item()
    np.testing.assert_allclose(out, ref, rtol=meta["rtol"], atol=meta["atol"])
    want = float(np.load(os.path.join(HERE, name, "grad", "loss.npy")))
    assert abs(loss - want) <= 1e-6 * abs(want), (loss, want)
    print(f"  {name}: rebuilt module matches ORT output (max |diff| "
          f"{np.abs(out - ref).max():.2e}) and grad/loss.npy ({loss:.6f} vs {want:.6f})")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=list(RUNS))
    ap.add_argument("--verify", action="store_true",
                    help="also check the module against ORT and torch.optim against the formulas")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name in a.models:
        if name not in RUNS:
            sys.exit(f"unknown model {name!r}; choose from {', '.join(RUNS)}")
        out = os.path.join(HERE, name, "train")
        os.makedirs(out, exist_ok=True)
        make_loader, data_flags = make_data(name, out)
        if a.verify:
            verify_module(name)
        for run, cfg in RUNS[name].items():
            c = full_config(cfg, STEPS)
            torch.manual_seed(0)
            scales = []
            losses, lrs, norms = train(build_module(name), c, make_loader(), STEPS,
                                       loss_scales=scales)
            l64, lr64, n64 = train(build_module(name, torch.float64), c, make_loader(), STEPS)
            rel = max(abs(p - q) / abs(q) for p, q in zip(losses, l64))
            if a.verify:
                m64, _, mn64 = train(build_module(name, torch.float64), c, make_loader(), STEPS,
                                     manual=True)
                dl = max(abs(p - q) / abs(q) for p, q in zip(m64, l64))
                dn = max(abs(p - q) / abs(q) for p, q in zip(mn64, n64))
                assert dl < 1e-9 and dn < 1e-9, (dl, dn)
                print(f"  {name}/{run}: formula optimizer == torch.optim in float64 "
                      f"(loss rel diff {dl:.1e}, grad norm {dn:.1e})")
            doc = collections.OrderedDict(
                bbc_flags=bbc_flags(name, cfg),
                binary_flags=data_flags + ["--steps", str(STEPS)],
                losses=[float(f"{v:.8g}") for v in losses],
                lrs=[float(f"{v:.10g}") for v in lrs],
                grad_norms=[float(f"{v:.8g}") for v in norms],
                fp64_max_rel_loss_diff=float(f"{rel:.2g}"),
            )
            if scales:
                # The loss scale each step used (non-finite grad_norms are
                # the skipped steps).
                doc["loss_scales"] = scales
            with open(os.path.join(out, run.replace("_", "-") + ".json"), "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            print(f"{name}/{run}: loss {losses[0]:.6f} -> {losses[-1]:.6f}, grad norm "
                  f"{norms[0]:.4f} -> {norms[-1]:.4f}, f32 vs f64 loss rel diff {rel:.1e}")


if __name__ == "__main__":
    main(sys.argv[1:])
