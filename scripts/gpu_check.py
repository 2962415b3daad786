#!/usr/bin/env python3
"""The GPU check of the CUDA target, in two halves.

  scripts/gpu_check.py prepare DIR   # here (bbc, Bazel): build the check
  scripts/gpu_check.py run DIR       # on the GPU machine: build, run, compare

The GPU machine has nvcc, g++ and numpy but neither Bazel nor MLIR, so
`prepare` does everything that needs bbc: for every case it writes the
generated C++ (bbc --emit=cpp), the weights, the inputs and the reference
outputs of the CPU binary, plus the runtime SDK's CUDA library; `run` compiles
each case with nvcc there, links it with that library, runs it on the GPU
and compares. DIR stays small (the C++ of a case is kilobytes; the library
is the big part), so it travels with the working tree (`carry`).

Cases:
  - op/<case>: every bb op's gradient model of test/e2e/gradcheck: loss and
    gradients against the CPU binary's;
  - mlp, gpt2, mobilenet, resnet, llama inference: outputs against the CPU
    binary's (which matches ONNX Runtime's in the CPU tests);
  - mlp, gpt2 training: 20 AdamW and SGD steps, and the --precision=bf16,
    fp16 and tf32 runs (tensor-core products), loss and gradient norm of
    every step against PyTorch's (test/models/*/train/*.json);
  - timings: inference latencies (--bench; next to ONNX Runtime's CUDA
    provider's where onnxruntime-gpu is installed), training step times;
  - the GPT-2 124M benchmark (unless --no-bench): the training binary of
    scripts/make_gpt_onnx.py's gpt2-124m at batch 8 x 1024 (AdamW), whose
    656 MB of weights do not travel: `prepare` keeps the weights file's
    header and its small tensors, `run` fills the large ones with random
    values (the speed does not depend on them) and times 30 steps on random
    tokens, compiled with fp32 and with --precision=bf16 products; then the
    same model in PyTorch (nanoGPT's layout), eager and
    torch.compile, fp32 and bf16 autocast, for tokens/s and MFU.
  - gpt2-train-adamw-pp2: gpt2 cut into two pipeline stages on two MPI
    ranks sharing the GPU (point-to-point over MPI through host memory),
    against PyTorch's losses; skipped where MPI is missing.
  - measure: bb-measure (tools/bb-measure) built there with the CUDA
    runtime and run on one rank: the GPU's matrix-product FLOP/s per
    precision, memory bandwidth, kernel call cost and memory, printed next
    to the dgx-h100 preset's figures.
Prints one line per case and `N passed, M failed, K skipped`; exit 1 if any
failed.
"""
import argparse
import concurrent.futures
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "test", "models")
GRADCHECK = os.path.join(ROOT, "test", "e2e", "gradcheck")


def sh(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        raise RuntimeError(" ".join(cmd[:2]) + ": " +
                           (lines[-1] if lines else f"exit {p.returncode}"))
    return p.stdout


# --- prepare (here) ----------------------------------------------------------

def prepare(a):
    out = os.path.abspath(a.dir)
    bbc = a.bbc
    sdk = a.sdk
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "sdk", "lib"))
    shutil.copytree(os.path.join(sdk, "include"), os.path.join(out, "sdk", "include"))
    for f in ("libbbrt_cuda.a", "cuda_archs.txt"):
        shutil.copy(os.path.join(sdk, "lib", f), os.path.join(out, "sdk", "lib", f))
    cases = []

    def add(name, flags, run_args, kind, compare, inputs=(), ranks=1):
        """Builds the CPU binary, runs it for the reference (on `ranks` MPI
        ranks), keeps the C++."""
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for src, dst in inputs:
            shutil.copy(src, os.path.join(d, dst))
        exe = os.path.join(d, "cpu")
        sh([bbc, *flags, "-o", exe])
        sh([bbc, *flags, "--emit=cpp", "-o", os.path.join(d, "gen.cpp")])
        os.rename(exe + ".safetensors", os.path.join(d, "prog.safetensors"))
        ref = ["--weights", "prog.safetensors"]
        launch = mpirun(ranks) if ranks > 1 else []
        if kind == "train":
            sh([*launch, exe, *run_args, *ref, "--log", "ref.csv", "--threads", "1"], cwd=d)
        else:
            sh([exe, *run_args, *ref, "--output-dir", "ref", "--threads", "1"], cwd=d)
        os.remove(exe)
        cases.append({"name": name, "kind": kind, "args": run_args + ref,
                      "compare": compare, "ranks": ranks})

    # Per-op gradient programs (inputs as gradcheck.py makes them).
    sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
    import gradcheck as gc
    for path in sorted(os.listdir(GRADCHECK)):
        if not path.endswith(".onnxtext"):
            continue
        name = path[:-len(".onnxtext")]
        text = open(os.path.join(GRADCHECK, path)).read()
        spec = gc.parse_spec(text)
        flags = [os.path.join(GRADCHECK, path), "--grad",
                 f"--loss={spec.get('loss', 'mse')}"]
        tmp = os.path.join(out, "op", name)
        os.makedirs(tmp, exist_ok=True)
        sh([bbc, *flags, "-o", os.path.join(tmp, "probe")])
        inputs, _ = gc.program_io(os.path.join(tmp, "probe"))
        for f in ("probe", "probe.safetensors"):
            os.remove(os.path.join(tmp, f))
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        args = []
        for iname, dtype, shape in inputs:
            f = f"in.{re.sub(r'[^A-Za-z0-9_.-]', '_', iname)}.npy"
            np.save(os.path.join(tmp, f), gc.make_input(rng, iname, dtype, shape, spec.get(iname)))
            args += ["--input", f"{iname}={f}"]
        add(f"op/{name}", flags, args, "outputs", {"rtol": 1e-3, "atol": 1e-5})

    # Inference cases carry their ONNX file as model.onnx, for ONNX
    # Runtime's CUDA provider's latency next to the binary's (--bench).
    add("mlp", [os.path.join(MODELS, "mlp", "mlp.onnx"), "--input-shape", "x=4x64"],
        ["--input", "x=x.npy"], "outputs", {"rtol": 1e-4, "atol": 1e-5},
        [(os.path.join(MODELS, "mlp", "x.npy"), "x.npy")])
    add("gpt2", [os.path.join(MODELS, "gpt2", "gpt2.onnx"), "--input-shape", "idx=2x16"],
        ["--input", "idx=idx.npy"], "outputs", {"rtol": 1e-3, "atol": 1e-4, "bench": 200},
        [(os.path.join(MODELS, "gpt2", "idx.npy"), "idx.npy"),
         (os.path.join(MODELS, "gpt2", "gpt2.onnx"), "model.onnx")])
    for model in ("mobilenet", "resnet", "llama"):
        d = os.path.join(MODELS, model)
        inputs = json.load(open(os.path.join(d, "meta.json")))["inputs"]
        shapes = [f"--input-shape={i['name']}=" + "x".join(map(str, i["shape"]))
                  for i in inputs]
        add(model, [os.path.join(d, f"{model}.onnx"), *shapes],
            sum((["--input", f"{i['name']}={i['file']}"] for i in inputs), []),
            "outputs", {"rtol": 1e-3, "atol": 1e-4, "bench": 100},
            [(os.path.join(d, i["file"]), i["file"]) for i in inputs] +
            [(os.path.join(d, f"{model}.onnx"), "model.onnx")])
    for model in ("mlp", "gpt2"):
        # adamw, sgd, and the --precision=bf16|tf32 runs (the CPU binary's
        # tolerance: 1e-5 for mlp, 3e-3 for gpt2's chaotic bf16 trajectory,
        # test/e2e/precision-bf16.test; the mlp's TF32 run 1e-5 for 10 steps
        # and 2e-4 for 20, precision-tf32.test: the GPU's TF32 rounding
        # inside cuBLASLt is not documented to be round-half-away, hence 1e-3).
        for opt in sorted(f[:-5] for f in os.listdir(os.path.join(MODELS, model, "train"))
                          if f.endswith(".json")):
            run = json.load(open(os.path.join(MODELS, model, "train", f"{opt}.json")))
            # fp16 (test/e2e/precision-fp16.test: within 3e-4 and 3e-3 of
            # PyTorch on the CPU, skipping the same steps) as bf16's gpt2.
            rtol = (3e-4 if (model == "gpt2" and "bf16" in opt) or "fp16" in opt
                    else 1e-3 if "tf32" in opt else 1e-4)
            files = [(os.path.join(MODELS, model, "train", f), f)
                     for f in os.listdir(os.path.join(MODELS, model, "train"))
                     if not f.endswith(".json")]
            # gpt2's adamw run twice: the GPU binary must repeat its own
            # losses and norms bit for bit (no atomics in the sums: the
            # embedding's scatter-add sorts instead, Data.cu).
            add(f"{model}-train-{opt}", [os.path.join(MODELS, model, f"{model}.onnx"),
                                         *run["bbc_flags"]],
                run["binary_flags"], "train",
                {"rtol": rtol, "losses": run["losses"],
                 "grad_norms": run.get("grad_norms"),
                 "repeat": model == "gpt2" and opt == "adamw"}, files)
    # A pipeline of two stages, one rank each (both on the one GPU there):
    # point-to-point transfers over MPI, staged through host memory. No
    # collective, so no NCCL communicator (NCCL refuses two ranks on one
    # GPU). Skipped there when MPI is missing.
    # The same with f16 products and dynamic loss scaling: each micro-batch
    # starts from its share of the scale, the first stage owns the scaler
    # (test/e2e/precision-fp16.test; rtol as the unpipelined fp16 run's).
    for opt, rtol in (("adamw", 1e-4), ("adamw-fp16", 3e-4)):
        run = json.load(open(os.path.join(MODELS, "gpt2", "train", f"{opt}.json")))
        add(f"gpt2-train-{opt}-pp2", [os.path.join(MODELS, "gpt2", "gpt2.onnx"),
                                      *run["bbc_flags"], "--strategy=pp=2,microbatches=2"],
            run["binary_flags"], "train",
            {"rtol": rtol, "losses": run["losses"], "grad_norms": run.get("grad_norms")},
            [(os.path.join(MODELS, "gpt2", "train", "tokens.bin"), "tokens.bin")], ranks=2)
    prepare_measure(os.path.join(out, "measure"))
    bench = None
    if not a.no_bench:
        bench = prepare_bench(bbc, os.path.join(out, "bench-gpt2-124m"))
    json.dump({"cases": cases, "bench": bench},
              open(os.path.join(out, "cases.json"), "w"), indent=1)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"prepared {len(cases)} cases in {out} ({size / 2**20:.1f} MiB)")


# bb-measure's sources (tools/bb-measure, runtime/measure) and the headers
# they include beyond the SDK's, built on the GPU machine against the SDK's
# CUDA library; and the preset its figures are compared with.
MEASURE_SOURCES = ["tools/bb-measure/bb-measure.cpp", "runtime/measure/ClusterMeasure.cpp",
                   "runtime/measure/ClusterMeasure.h", "runtime/driver/Cli.h",
                   "runtime/core/Util.h", "compiler/cluster/presets/dgx-h100.textproto"]


def prepare_measure(d):
    for f in MEASURE_SOURCES:
        os.makedirs(os.path.join(d, os.path.dirname(f)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, f), os.path.join(d, f))


def device_figures(text):
    """The device block of a cluster file: {field: number}."""
    figures = {}
    for key in ("f32", "tf32", "bf16", "f16", "memory_bytes", "memory_bandwidth",
                "launch_overhead"):
        m = re.search(r"\b%s:\s*([0-9.eE+-]+)" % key, text)
        if m:
            figures[key] = float(m.group(1))
    return figures


def run_measure(root, sdk, nvcc):
    """bb-measure-cuda on one rank: the GPU's figures next to the dgx-h100
    preset's (docs/cluster.md, "Measuring a cluster")."""
    d = os.path.join(root, "measure")
    mpi = mpi_link_flags()
    if mpi is None:
        print("SKIP measure: no MPI (mpicxx, mpirun) on this machine", flush=True)
        return
    cuda = os.path.dirname(os.path.dirname(nvcc))
    exe = os.path.join(d, "bb-measure-cuda")
    sh(["g++", "-std=c++17", "-O2", "-o", exe,
        os.path.join(d, "tools/bb-measure/bb-measure.cpp"),
        os.path.join(d, "runtime/measure/ClusterMeasure.cpp"),
        "-I" + d, "-I" + os.path.join(sdk, "include"),
        os.path.join(sdk, "lib", "libbbrt_cuda.a"), "-L" + os.path.join(cuda, "lib64"),
        *mpi, "-lnccl", "-lcublasLt", "-lcudart", "-Wl,-rpath," + os.path.join(cuda, "lib64"),
        "-lpthread", "-lm"])
    out = os.path.join(d, "measured.textproto")
    t0 = time.time()
    sh([*mpirun(1), exe, "-o", out, "--name", "this-gpu"])
    got = device_figures(open(out).read())
    preset = device_figures(open(os.path.join(
        d, "compiler/cluster/presets/dgx-h100.textproto")).read())
    print(f"measure ({time.time() - t0:.0f} s): measured | dgx-h100 preset", flush=True)
    for key, unit, scale in (("f32", "TFLOP/s", 1e12), ("tf32", "TFLOP/s", 1e12),
                             ("bf16", "TFLOP/s", 1e12), ("f16", "TFLOP/s", 1e12),
                             ("memory_bandwidth", "GB/s", 1e9),
                             ("launch_overhead", "us", 1e-6),
                             ("memory_bytes", "GiB", 2**30)):
        p = preset.get(key)
        print(f"measure {key}: {got.get(key, 0) / scale:.3g} {unit} | "
              f"{p / scale if p else float('nan'):.3g} {unit}", flush=True)


BENCH = {"preset": "gpt2-124m", "batch": 8, "seq": 1024, "steps": 30,
         "layers": 12, "d_model": 768, "heads": 12, "vocab": 50257}
KEEP_BYTES = 65536  # tensors below this (and every non-f32 one, and the mask) travel as they are


def prepare_bench(bbc, d):
    """The GPT-2 124M training binary's C++ and its weights file's skeleton."""
    os.makedirs(d)
    tmp = os.path.join(d, "tmp")
    os.makedirs(tmp)
    model = os.path.join(tmp, "gpt2-124m.onnx")
    sh([sys.executable, os.path.join(ROOT, "scripts", "make_gpt_onnx.py"), BENCH["preset"],
        "--with-weights", "--batch", str(BENCH["batch"]), "--force", "-o", model])
    # The causal mask is a buffer, as in nanoGPT, not a parameter: frozen
    # (trained, its gradient would be a [B, H, T, T] tensor per layer).
    flags = [model, f"--input-shape=idx={BENCH['batch']}x{BENCH['seq']}", "--train",
             "--loss=cross_entropy", "--optimizer=adamw", "--lr=3e-4", "--weight-decay=0.1",
             "--freeze=causal_mask"]
    sh([bbc, *flags, "--emit=cpp", "-o", os.path.join(d, "gen.cpp")])
    sh([bbc, *flags, "--precision=bf16", "--emit=cpp", "-o", os.path.join(d, "gen-bf16.cpp")])
    exe = os.path.join(tmp, "prog")
    sh([bbc, *flags, "-o", exe])
    raw = open(exe + ".safetensors", "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    kept = bytearray()
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        # The mask travels as it is (4 MiB): random values would make
        # attention non-causal.
        t["keep"] = t["dtype"] != "F32" or e - b < KEEP_BYTES or name == "causal_mask"
        if t["keep"]:
            t["kept_at"] = len(kept)
            kept += raw[8 + n + b:8 + n + e]
    json.dump(header, open(os.path.join(d, "weights.json"), "w"))
    open(os.path.join(d, "kept.bin"), "wb").write(bytes(kept))
    shutil.rmtree(tmp)
    return {"dir": "bench-gpt2-124m", **BENCH}


# --- run (on the GPU machine) ------------------------------------------------

def rebuild_weights(d):
    """prog.safetensors from the skeleton: kept tensors as they were, large
    f32 ones N(0, 0.02)."""
    header = json.load(open(os.path.join(d, "weights.json")))
    kept = open(os.path.join(d, "kept.bin"), "rb").read()
    rng = np.random.default_rng(0)
    plain = {k: {f: v for f, v in t.items() if f not in ("keep", "kept_at")}
             if k != "__metadata__" else t for k, t in header.items()}
    head = json.dumps(plain).encode()
    head += b" " * (-len(head) % 8)
    total = max(t["data_offsets"][1] for k, t in header.items() if k != "__metadata__")
    data = np.zeros(total, np.uint8)
    for k, t in header.items():
        if k == "__metadata__":
            continue
        b, e = t["data_offsets"]
        if t["keep"]:
            data[b:e] = np.frombuffer(kept, np.uint8, e - b, t["kept_at"])
        else:
            data[b:e] = (rng.standard_normal((e - b) // 4) * 0.02).astype(np.float32).view(np.uint8)
    with open(os.path.join(d, "prog.safetensors"), "wb") as f:
        f.write(len(head).to_bytes(8, "little") + head)
        f.write(data.tobytes())


def gpt_flops_per_token(b):
    """Training FLOPs per token (nanoGPT's estimate: 6N + 12 L T d)."""
    L, d, T, V = b["layers"], b["d_model"], b["seq"], b["vocab"]
    n = 12 * L * d * d + V * d  # blocks and the (untied) head; embeddings are lookups
    return 6 * n + 12 * L * T * d


def torch_bench(b, steps):
    """GPT-2 124M (nanoGPT's layout) in PyTorch: ms per training step for
    eager and torch.compile, fp32 and bf16 autocast."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(s, d, h):
            super().__init__()
            s.h = h
            s.ln1, s.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            s.attn, s.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            s.fc, s.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(s, x):
            B, T, C = x.shape
            q, k, v = s.attn(s.ln1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, s.h, C // s.h).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + s.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + s.out(F.gelu(s.fc(s.ln2(x))))

    class GPT(nn.Module):
        def __init__(s):
            super().__init__()
            s.wte = nn.Embedding(b["vocab"], b["d_model"])
            s.wpe = nn.Embedding(b["seq"], b["d_model"])
            s.blocks = nn.ModuleList(Block(b["d_model"], b["heads"]) for _ in range(b["layers"]))
            s.lnf = nn.LayerNorm(b["d_model"])
            s.head = nn.Linear(b["d_model"], b["vocab"], bias=False)

        def forward(s, idx, labels):
            x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1], device=idx.device))
            for blk in s.blocks:
                x = blk(x)
            logits = s.head(s.lnf(x))
            return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))

    results = {}
    idx = torch.randint(0, b["vocab"], (b["batch"], b["seq"] + 1), device="cuda")
    for compiled in (False, True):
        for dtype in ("fp32", "bf16"):
            torch.manual_seed(0)
            model = GPT().cuda()
            opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, fused=True)
            fn = torch.compile(model) if compiled else model

            def step():
                with torch.autocast("cuda", torch.bfloat16, enabled=dtype == "bf16"):
                    loss = fn(idx[:, :-1], idx[:, 1:])
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            for _ in range(3):
                step()
            torch.cuda.synchronize()
            times = []
            for _ in range(steps):
                t0 = time.time()
                step()
                torch.cuda.synchronize()
                times.append((time.time() - t0) * 1e3)
            results[f"torch {'compile' if compiled else 'eager'} {dtype}"] = sorted(times)[len(times) // 2]
            del model, opt, fn
            torch.cuda.empty_cache()
    return results


def run_bench(root, b, sdk, nvcc, archs):
    d = os.path.join(root, b["dir"])
    t0 = time.time()
    rebuild_weights(d)
    build(d, sdk, nvcc, archs)
    build(d, sdk, nvcc, archs, "gen-bf16")
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, b["vocab"], b["steps"] * b["batch"] * b["seq"] + 1, dtype=np.uint16)
    tokens.tofile(os.path.join(d, "tokens.bin"))
    print(f"bench: built and set up in {time.time() - t0:.0f} s", flush=True)
    rows = {}
    for exe, name in (("gpu", "bumblebee fp32 (cuBLASLt f32)"),
                      ("gen-bf16", "bumblebee bf16 (cuBLASLt bf16, f32 sums)")):
        sh([os.path.join(d, exe), "--data", "tokens.bin", "--steps", str(b["steps"]),
            "--weights", "prog.safetensors", "--log", exe + ".csv"], cwd=d)
        steps = read_log(os.path.join(d, exe + ".csv"))
        ms = sorted(v[3] for s, v in steps.items() if s > 3)
        rows[name] = ms[len(ms) // 2]
    # Where the bf16 step's time goes, per kernel kind (--profile: every
    # kernel timed alone, so the profiled steps are slower than the above).
    r = subprocess.run([os.path.join(d, "gen-bf16"), "--data", "tokens.bin", "--steps", "4",
                        "--weights", "prog.safetensors", "--print-every", "4", "--profile"],
                       cwd=d, capture_output=True, text=True)
    at = r.stderr.find("profile of")
    print("bench profile, bf16:\n" + (r.stderr[at:] if at >= 0 else r.stderr[-2000:]),
          flush=True)
    try:
        rows.update(torch_bench(b, 10))
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"bench: PyTorch failed: {e}")
    tokens_per_step = b["batch"] * b["seq"]
    flops = gpt_flops_per_token(b) * tokens_per_step
    for name, m in rows.items():
        print(f"bench gpt2-124m {b['batch']}x{b['seq']}: {name}: {m:.1f} ms/step, "
              f"{tokens_per_step / m * 1e3:,.0f} tokens/s, {flops / m * 1e3 / 1e12:.1f} TFLOP/s",
              flush=True)

def mpirun(ranks):
    """The MPI launcher for `ranks` processes ($BB_MPIRUN, else mpirun as
    root may need it)."""
    base = os.environ.get("BB_MPIRUN") or "mpirun --allow-run-as-root --oversubscribe"
    return [*base.split(), "-np", str(ranks)]


def mpi_link_flags():
    """Flags that link MPI (mpicxx --showme:link), or None without MPI."""
    if not shutil.which("mpicxx") or not shutil.which("mpirun"):
        return None
    return sh(["mpicxx", "--showme:link"]).split()


def build(d, sdk, nvcc, archs, source="gen", ranks=1):
    """d/SOURCE.cpp into d/gpu (gen.cpp) or d/SOURCE; with ranks > 1 linked
    with MPI and NCCL (RuntimeError "no MPI" without them)."""
    mpi = []
    if ranks > 1:
        mpi = mpi_link_flags()
        if mpi is None:
            raise RuntimeError("no MPI (mpicxx, mpirun) on this machine")
        mpi = [*mpi, "-lnccl"]
    obj = os.path.join(d, source + ".o")
    sh([nvcc, "-std=c++17", "-O2", *[f"-gencode=arch=compute_{x[3:]},code={x}" for x in archs],
        "-x", "cu", "-c", os.path.join(d, source + ".cpp"), "-I" + os.path.join(sdk, "include"),
        "-o", obj])  # -x cu: the fused elementwise kernels (bbrt/fused.h) are device code
    cuda_lib = os.path.join(os.path.dirname(os.path.dirname(nvcc)), "lib64")
    exe = os.path.join(d, "gpu" if source == "gen" else source)
    sh(["g++", "-o", exe, obj, os.path.join(sdk, "lib", "libbbrt_cuda.a"),
        "-L" + cuda_lib, *mpi, "-lcublasLt", "-lcudart", "-Wl,-rpath," + cuda_lib,
        "-lpthread", "-lm"])


def read_log(path):
    steps = {}
    for line in open(path):
        parts = line.strip().split(",")
        if len(parts) >= 4 and parts[0].isdigit():
            steps[int(parts[0])] = [float(v) for v in parts[1:]]
    return steps


def check(d, case):
    c = case["compare"]
    launch = mpirun(case["ranks"]) if case.get("ranks", 1) > 1 else []
    if case["kind"] == "train":
        t0 = time.time()
        sh([*launch, os.path.join(d, "gpu"), *case["args"], "--log", "gpu.csv"], cwd=d)
        secs = time.time() - t0
        header = open(os.path.join(d, "ref.csv")).readline().strip().split(",")
        gpu, ref = read_log(os.path.join(d, "gpu.csv")), read_log(os.path.join(d, "ref.csv"))
        li, gi, mi = (header.index(k) - 1 for k in ("loss", "grad_norm", "ms"))
        if len(gpu) != len(c["losses"]):
            return False, f"{len(gpu)} steps logged, expected {len(c['losses'])}"

        def rel(got, want):
            # A skipped step's norm (fp16 loss scaling) is not finite on
            # both sides, or it is a mismatch.
            if not (math.isfinite(got) and math.isfinite(want)):
                return 0.0 if not math.isfinite(got) and not math.isfinite(want) else math.inf
            return abs(got - want) / max(abs(want), 1e-12)
        worst = max(rel(gpu[s][li], w) for s, w in enumerate(c["losses"], start=1))
        if c.get("grad_norms"):
            worst = max(worst, max(rel(gpu[s][gi], w)
                                   for s, w in enumerate(c["grad_norms"], start=1)))
        cpu_worst = max(rel(gpu[s][li], ref[s][li]) for s in ref)
        ms = sorted(gpu[s][mi] for s in gpu)
        # f32 on the GPU against PyTorch's f32 on the CPU: summation orders
        # differ, so 10x the CPU binary's tolerance.
        ok = worst <= c["rtol"] * 10
        note = (f"loss and grad norm vs PyTorch max rel {worst:.2e}, loss vs CPU "
                f"binary {cpu_worst:.2e}; median step {ms[len(ms) // 2]:.3f} ms, "
                f"{secs:.1f} s in all")
        if c.get("repeat"):
            sh([*launch, os.path.join(d, "gpu"), *case["args"], "--log", "gpu2.csv"], cwd=d)
            again = read_log(os.path.join(d, "gpu2.csv"))
            same = all(again.get(s, [None] * (gi + 1))[li] == gpu[s][li] and
                       again[s][gi] == gpu[s][gi] for s in gpu)
            ok = ok and same
            note += ("; a second run repeats every loss and norm bit for bit" if same
                     else "; a second run DIFFERS (non-deterministic kernels)")
        return ok, note
    sh([os.path.join(d, "gpu"), *case["args"], "--output-dir", "gpu"], cwd=d)
    worst, names = 0.0, 0
    for f in sorted(os.listdir(os.path.join(d, "ref"))):
        want = np.load(os.path.join(d, "ref", f))
        got = np.load(os.path.join(d, "gpu", f))
        if got.shape != want.shape or got.dtype != want.dtype:
            return False, f"{f}: {got.dtype}{got.shape}, expected {want.dtype}{want.shape}"
        if want.dtype.kind in "fc":
            scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
            err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
            if err > c["atol"] + c["rtol"] * scale:
                return False, f"{f}: max abs diff {err:.3e} (scale {scale:.3e})"
            worst = max(worst, err / scale)
        elif not np.array_equal(got, want):
            return False, f"{f}: differs"
        names += 1
    note = f"{names} outputs, max diff / max |ref| {worst:.2e}"
    if c.get("bench"):
        out = sh([os.path.join(d, "gpu"), *case["args"], "--bench", str(c["bench"])], cwd=d)
        note += "; " + out.strip().splitlines()[-1]
        if os.path.exists(os.path.join(d, "model.onnx")):
            note += "; ONNX Runtime CUDA: " + ort_latency(d, case["args"], c["bench"])
    return True, note


def ort_latency(d, args, runs):
    """Median latency of d/model.onnx under ONNX Runtime's CUDA provider,
    inputs and outputs bound on the GPU (as the binary's --bench times
    only the forward function), or why there is none."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "no CUDA provider"
    inputs = dict(a.split("=", 1) for a, flag in zip(args[1:], args) if flag == "--input")
    sess = ort.InferenceSession(os.path.join(d, "model.onnx"),
                                providers=["CUDAExecutionProvider"])
    binding = sess.io_binding()
    for name, f in inputs.items():
        binding.bind_ortvalue_input(
            name, ort.OrtValue.ortvalue_from_numpy(np.load(os.path.join(d, f)), "cuda", 0))
    for o in sess.get_outputs():
        binding.bind_output(o.name, "cuda")
    sess.run_with_iobinding(binding)  # warm-up
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run_with_iobinding(binding)
        binding.synchronize_outputs()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return f"median {ms[len(ms) // 2]:.3f} ms over {runs} runs"


def run(a):
    root = os.path.abspath(a.dir)
    sdk = os.path.join(root, "sdk")
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    archs = [a.arch] if a.arch else open(os.path.join(sdk, "lib", "cuda_archs.txt")).read().split()
    cases = json.load(open(os.path.join(root, "cases.json")))["cases"]
    if not a.build_only:
        print(sh(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                  "--format=csv,noheader"]).strip())
    t0 = time.time()
    built = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = {pool.submit(build, os.path.join(root, c["name"]), sdk, nvcc, archs,
                               "gen", c.get("ranks", 1)): c["name"]
                   for c in cases}
        for f in concurrent.futures.as_completed(futures):
            try:
                f.result()
                built[futures[f]] = None
            except RuntimeError as e:
                built[futures[f]] = str(e)
    print(f"built {len(cases)} programs in {time.time() - t0:.0f} s")
    if a.build_only:
        bad = {n: e for n, e in built.items() if e is not None}
        for n, e in sorted(bad.items()):
            print(f"{'SKIP' if 'no MPI' in e else 'FAIL'} {n}: build: {e}")
        return 1 if any("no MPI" not in e for e in bad.values()) else 0
    passed = failed = skipped = 0
    for c in cases:
        err = built[c["name"]]
        if err and "no MPI" in err:
            skipped += 1
            print(f"SKIP {c['name']}: {err}", flush=True)
            continue
        if err is None:
            try:
                ok, note = check(os.path.join(root, c["name"]), c)
            except RuntimeError as e:
                ok, note = False, str(e)
        else:
            ok, note = False, "build: " + err
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {c['name']}: {note}", flush=True)
    if os.path.isdir(os.path.join(root, "measure")):
        try:
            run_measure(root, sdk, nvcc)
        except RuntimeError as e:
            print(f"measure: failed: {e}", flush=True)
    bench = json.load(open(os.path.join(root, "cases.json"))).get("bench")
    if bench and not a.no_bench:
        try:
            run_bench(root, bench, sdk, nvcc, archs)
        except RuntimeError as e:
            print(f"bench: failed: {e}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dir")
    p.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin", "tools", "bbc", "bbc"))
    p.add_argument("--sdk", default=os.path.join(ROOT, "bazel-bin", "runtime", "sdk"))
    p.add_argument("--no-bench", action="store_true", help="leave out the GPT-2 124M benchmark")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    r.add_argument("--arch", help="build for this one (e.g. sm_90) instead of all")
    r.add_argument("--no-bench", action="store_true", help="skip the GPT-2 124M benchmark")
    r.add_argument("--build-only", action="store_true",
                   help="only compile and link every case (works without a GPU)")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a)
        return 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
