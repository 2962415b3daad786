#!/usr/bin/env python3
"""Benchmark: one training step of a bbc --train executable versus PyTorch eager (CPU).

For mlp (batch 64), gpt2 (batch 8, seq 64) and gpt-small (make_models.py's
GPT with 4 blocks, n_embd 384, 6 heads, vocab 8192, batch 4 x 256 tokens:
matrix products large enough for OpenBLAS's kernels to matter; exported here
from a seeded module, lm_head untied): compile with bbc --train
(AdamW, lr 1e-3, weight decay 0.1, gradient clipping at 1.0, -O3
-march=native), run the executable for --steps steps on seeded random data,
and take the median of its log's ms column, skipping the first --skip steps.
PyTorch runs the same module (test/models/make_train_refs.py: the ONNX
initializers as untied parameters), the same data in the same order, the same
optimizer, clipping and thread count, timed per step (forward, loss, backward,
clip_grad_norm_, optimizer step), in a child process so that its peak
resident memory is its own; it gets the OpenBLAS kernels that the bb program
ran (OPENBLAS_CORETYPE), since Debian's PyTorch links OpenBLAS too. Prints median ms/step, their ratio, the step-1
losses of both (they must agree: same weights, same first batch) and peak RSS.

usage: /usr/bin/python3 scripts/bench_training.py [--steps 50] [--threads 2]
           [--bbc PATH] [--models mlp gpt2 gpt-small] [--json] [--torch-only]
           [--bbc-flag FLAG ...]
       (needs `scripts/install_deps.sh --models` for torch and onnx)
--json prints the rows as JSON instead of the table; --torch-only skips bbc.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))

# model -> (input shape for bbc, batch, seq)
MODELS = {
    "mlp": ("x=64x64", 64, None),
    "gpt2": ("idx=8x64", 8, 64),
    "gpt-small": ("idx=4x256", 4, 256),
}
# Token ids range over the vocabulary.
VOCAB = {"gpt2": 256, "gpt-small": 8192}
GPT_SMALL = dict(vocab_size=8192, block_size=256, n_layer=4, n_head=6, n_embd=384)


def gpt_small_module():
    """The seeded gpt-small module, lm_head untied from wte (as the committed
    gpt2's training references do), so that the ONNX file and PyTorch train
    the same parameters."""
    import torch
    import make_models
    torch.manual_seed(11)
    model = make_models.GPT(**GPT_SMALL)
    model.lm_head.weight = torch.nn.Parameter(model.wte.weight.detach().clone())
    return model


def export_gpt_small(work):
    """Writes work/gpt-small.onnx and the module's weights (work/gpt-small.pt)."""
    import torch
    model = gpt_small_module()
    torch.save(model.state_dict(), os.path.join(work, "gpt-small.pt"))
    idx = torch.zeros((1, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(model.eval(), (idx,), os.path.join(work, "gpt-small.onnx"),
                          input_names=["idx"], output_names=["logits"],
                          dynamic_axes={"idx": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch", 1: "seq"}},
                          opset_version=17)


def model_path(name, work):
    if name == "gpt-small":
        return os.path.join(work, "gpt-small.onnx")
    return os.path.join(ROOT, "test/models", name, f"{name}.onnx")
OPTIMIZER = dict(optimizer="adamw", lr=1e-3, weight_decay=0.1, grad_clip=1.0)


def make_data(name, work):
    """Seeded random data; returns (binary data flags, loader description)."""
    rng = np.random.default_rng(7)
    shape, batch, seq = MODELS[name]
    if name == "mlp":
        x = rng.standard_normal((batch * 8, 64)).astype(np.float32)
        labels = rng.integers(0, 10, size=(batch * 8,), dtype=np.int64)
        np.save(os.path.join(work, "x.npy"), x)
        np.save(os.path.join(work, "labels.npy"), labels)
        return ["--data", f"x={work}/x.npy", "--data", f"labels={work}/labels.npy"]
    tokens = rng.integers(0, VOCAB[name], size=(batch * seq * 10 + 1,)).astype("<u2")
    tokens.tofile(os.path.join(work, "tokens.bin"))
    return ["--data", f"{work}/tokens.bin"]


def torch_child(name, work, threads, steps, skip):
    """Runs in a child process: its own thread settings and peak RSS."""
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    import make_train_refs as R
    _, batch, seq = MODELS[name]
    if name == "mlp":
        loader = R.ArrayLoader(np.load(os.path.join(work, "x.npy")),
                               np.load(os.path.join(work, "labels.npy")), batch)
    else:
        loader = R.TokenLoader(np.fromfile(os.path.join(work, "tokens.bin"), dtype="<u2"),
                               batch, seq)
    c = R.full_config(OPTIMIZER, steps)
    if name == "gpt-small":
        model = gpt_small_module()
        model.load_state_dict(torch.load(os.path.join(work, "gpt-small.pt")))
        model.train()
    else:
        model = R.build_module(name)
    params = list(model.parameters())
    opt = R.make_optimizer(params, c)
    times, losses = [], []
    for s in range(steps):
        t = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = R.lr_at(s, c)
        x, y = loader.next()
        loss = R.loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, c["grad_clip"])
        opt.step()
        losses.append(loss.item())
        times.append((time.perf_counter() - t) * 1e3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"median": statistics.median(times[skip:]), "min": min(times[skip:]),
                      "loss1": losses[0], "loss_last": losses[-1], "rss": rss}))


def read_log(path):
    rows = {}
    for line in open(path):
        f = [x.strip() for x in line.strip().split(",")]
        if not f[0] or f[0].startswith("#"):
            continue
        try:
            step = int(f[0])
        except ValueError:
            continue  # header, eval rows
        rows[step] = dict(loss=float(f[1]), ms=float(f[4]))
    return rows


def run_bb(a, name, work, data_flags):
    import make_train_refs as R
    shape, _, _ = MODELS[name]
    exe = os.path.join(work, f"{name}_train")
    flags = R.bbc_flags("gpt2" if name == "gpt-small" else name, OPTIMIZER)
    flags[0] = f"--input-shape={shape}"
    subprocess.run([a.bbc, model_path(name, work), "-o", exe,
                    "--cxx-flags=-O3 -march=native"] + flags + a.bbc_flag,
                   capture_output=True, text=True, check=True)
    log = os.path.join(work, f"{name}.csv")
    r = subprocess.run(["/usr/bin/time", "-f", "%M", exe] + data_flags +
                       ["--steps", str(a.steps), "--log", log, "--threads", str(a.threads)],
                       capture_output=True, text=True, check=True,
                       env=dict(os.environ, OPENBLAS_VERBOSE="2"))
    rss = int(r.stderr.strip().splitlines()[-1]) * 1024
    # The OpenBLAS kernels the program ran (the last choice, after a rerun
    # with better ones: runtime/cpu/Device.cpp).
    cores = [l.split(":", 1)[1].strip() for l in r.stderr.splitlines() if l.startswith("Core:")]
    rows = read_log(log)
    ms = [rows[s]["ms"] for s in sorted(rows) if s > a.skip]
    return {"median": statistics.median(ms), "min": min(ms), "loss1": rows[1]["loss"],
            "loss_last": rows[max(rows)]["loss"], "rss": rss,
            "blas_kernels": cores[-1] if cores else None}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--skip", type=int, default=5, help="warm-up steps left out of the median")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin/tools/bbc/bbc"))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--bbc-flag", action="append", default=[],
                   help="extra bbc flag (repeatable), e.g. --bbc-flag=--fuse-elementwise=false")
    p.add_argument("--torch-only", action="store_true", help="skip bbc (PyTorch half only)")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.steps <= a.skip:
        p.error("--steps must be larger than --skip")
    if a.child:
        return torch_child(a.child[0], a.child[1], a.threads, a.steps, a.skip)
    if not a.torch_only and not os.access(a.bbc, os.X_OK):
        p.error(f"no bbc at {a.bbc} (build //tools/bbc, pass --bbc, or use --torch-only)")

    work = tempfile.mkdtemp(prefix="bb-bench-train-")
    rows = []
    for name in a.models:
        shape, batch, seq = MODELS[name]
        mwork = os.path.join(work, name)
        os.makedirs(mwork)
        data_flags = make_data(name, mwork)
        if name == "gpt-small":
            export_gpt_small(mwork)
        bb = None if a.torch_only else run_bb(a, name, mwork, data_flags)
        # PyTorch (Debian's links OpenBLAS too) gets the kernels bb ran.
        env = dict(os.environ)
        if bb and bb["blas_kernels"] and "OPENBLAS_CORETYPE" not in env:
            env["OPENBLAS_CORETYPE"] = bb["blas_kernels"]
        r = subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--skip",
                            str(a.skip), "--threads", str(a.threads), "--child", name, mwork],
                           capture_output=True, text=True, check=True, env=env)
        pt = json.loads(r.stdout)
        rows.append(dict(model=name, batch=shape.split("=")[1], threads=a.threads,
                         steps=a.steps, bb=bb, torch=pt,
                         ratio=bb["median"] / pt["median"] if bb else None))
    shutil.rmtree(work)
    if a.json:
        print(json.dumps(dict(optimizer=OPTIMIZER, rows=rows), indent=1))
        return 0
    def f(v, spec):
        return "n/a" if v is None else format(v, spec)

    kernels = sorted({r["bb"]["blas_kernels"] or "?" for r in rows if r["bb"]})
    print(f"threads={a.threads} steps={a.steps} (median over steps {a.skip + 1}..{a.steps}), "
          f"AdamW lr {OPTIMIZER['lr']} wd {OPTIMIZER['weight_decay']} clip {OPTIMIZER['grad_clip']}"
          + (f", OpenBLAS kernels {'/'.join(kernels)} (both sides)" if kernels else ""))
    print("| model | batch | bb ms/step | torch ms/step | ratio (bb/torch) | step-1 loss bb / torch "
          "| peak RSS bb / torch |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        bb, pt = r["bb"] or {}, r["torch"]
        rss = bb.get("rss")
        print(f"| {r['model']} | {r['batch']} | {f(bb.get('median'), '.3f')} | {pt['median']:.3f} | "
              f"{f(r['ratio'], '.2f')} | {f(bb.get('loss1'), '.6f')} / {pt['loss1']:.6f} | "
              f"{f(rss and rss / 2**20, '.1f')} / {pt['rss'] / 2**20:.1f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
