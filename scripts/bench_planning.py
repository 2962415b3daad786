#!/usr/bin/env python3
"""Benchmark of the planner: time to plan, and the searched plan's predicted
throughput against Megatron-style dp x tp x pp x micro-batch grids.

For each (model, cluster) pair: writes the model with scripts/make_gpt_onnx.py
(symbolic batch; weights declared but absent: planning reads shapes only),
runs `bbc plan MODEL --train --input-shape idx=BxT --freeze=causal_mask
--cluster=C --mesh=auto --stages=auto --json` (the searched plan: every (devices / k) x k mesh
without stages, and 2, 4, 8, ... pipeline stages with 2S, 4S and 8S
micro-batches and the most up to 16S whose micro-batch the stage mesh's
outer axis splits), then, unless --no-sweep, every Megatron configuration
`--strategy=dp=D,tp=T,pp=P,microbatches=M` (T dividing a host's devices,
P*D*T the devices, M in {2P, 4P, 8P} and the most up to 16P, each
dividing the batch into micro-batches that dp splits; P = 1: M = 1) under
the same cost model (the inputs split over dp; the search fills in what the
strategy leaves open, so these are Megatron plans or better). Prints one
row per pair: search seconds, predicted step time, tokens/s, MFU,
per-device memory and whether it fits, the best fitting grid configuration
and the searched plan's throughput relative to it; for a pipelined plan,
what stages of unequal meshes could save at most (the plan report's
"stage balance").

--baseline megatron pins every grid point to Megatron-LM's parameter
layouts instead (--shard, on the tp axis of each stage's dp x tp mesh; with
tp = 1 every parameter replicated, plain data parallelism): attention QKV and MLP up-projection column-parallel (weight and bias
split along the output), attention and MLP output projections row-parallel
(weight split along the input), the embedding vocabulary-parallel, lm_head
split along the vocabulary, layer norms and position embeddings replicated;
the search fills in the activations. That is Megatron's plan (or one the
cost model rates better, where the search lays activations out differently),
so the comparison says what the search finds beyond Megatron's layouts.

A pair may name its own batch (sequences of 1024 or 2048 tokens):
gpt-13b@p3.16xlarge:8@128; --recompute=blocks plans every configuration,
searched and grid, with activation recomputation; --precision=fp16 (or
bf16, tf32) plans every configuration with those products (V100s, the p3
preset, have no bf16), MFU against that precision's peak.

usage: /usr/bin/python3 scripts/bench_planning.py [--bbc PATH] [--batch 8]
           [--pairs gpt2-124m@dgx-a100-80g:1[@BATCH] ...] [--no-sweep] [--json]
           [--baseline grid|megatron] [--recompute none|blocks]
           [--precision fp32|bf16|fp16|tf32]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PAIRS = [
    "gpt2-124m@dgx-a100-80g:1",
    "gpt-1.3b@dgx-a100-80g:1",
    "gpt-1.3b@p3.16xlarge:2",
    "gpt-1.3b@g5.48xlarge:2",
    "gpt-6.7b@dgx-a100-80g:2",
]
DEVICES_PER_HOST = 8


def plan(bbc, model, cluster, extra, time_limit):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [bbc, "plan", model, "--train", "--cluster=" + cluster, "--json", out,
           "--plan-time-limit=%g" % time_limit] + extra
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - t0
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr else "failed",
                "seconds": seconds}
    with open(out) as f:
        report = json.load(f)
    os.unlink(out)
    report["seconds"] = seconds
    return report


def megatron_pins(model, tp):
    """--shard flags with Megatron-LM's layouts of a make_gpt_onnx.py model's
    parameters on a dp x tp mesh (tp = mesh axis 1). Megatron pads the
    vocabulary to a multiple of tp; where it does not divide here, the
    embedding and lm_head are left to the search."""
    import onnx
    m = onnx.load(model, load_external_data=False)
    shapes = {t.name: list(t.dims) for t in m.graph.initializer}
    col, row, rep = "[[],[1]]", "[[1],[]]", "[]"
    rules = [
        (".attn.c_attn.weight", col), (".attn.c_attn.bias", "[[1]]"),
        (".attn.c_proj.weight", row), (".attn.c_proj.bias", rep),
        (".mlp.c_fc.weight", col), (".mlp.c_fc.bias", "[[1]]"),
        (".mlp.c_proj.weight", row), (".mlp.c_proj.bias", rep),
        ("wte.weight", row), ("lm_head.weight", col),
        ("wpe.weight", rep), ("ln_1.weight", rep), ("ln_1.bias", rep),
        ("ln_2.weight", rep), ("ln_2.bias", rep), ("ln_f.weight", rep),
        ("ln_f.bias", rep),
    ]
    pins = []
    for name, shape in shapes.items():
        for suffix, layout in rules:
            if name.endswith(suffix):
                if tp == 1:  # data parallelism: every parameter replicated
                    layout = rep
                dim = {row: 0, col: 1, "[[1]]": 0}.get(layout)
                if dim is None or shape[dim] % tp == 0:
                    pins.append("--shard=%s=%s" % (name, layout))
                break
    return pins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin/tools/bbc/bbc"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--pairs", nargs="*", default=DEFAULT_PAIRS)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--recompute", choices=("none", "blocks"), default="none")
    ap.add_argument("--precision", choices=("fp32", "bf16", "fp16", "tf32"),
                    default="fp32")
    ap.add_argument("--baseline", choices=("grid", "megatron"), default="grid",
                    help="grid: the search fills every grid point's layouts; "
                    "megatron: Megatron-LM's parameter layouts pinned")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="bench-planning-")
    rows = []
    for pair in args.pairs:
        parts = pair.split("@")
        preset, cluster = parts[0], parts[1]
        batch = int(parts[2]) if len(parts) > 2 else args.batch
        model = os.path.join(work, preset + ".onnx")
        if not os.path.exists(model):
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/make_gpt_onnx.py"),
                            preset, "--symbolic", "--force", "-o", model],
                           check=True, capture_output=True)
        seq = 1024 if preset.startswith("gpt2") else 2048
        # The causal mask is a buffer, not a parameter (make_gpt_onnx.py):
        # trained, its [1, 1, T, T] gradient would be summed over every
        # layer and sent back through every stage.
        shape = ["--input-shape=idx=%dx%d" % (batch, seq),
                 "--freeze=causal_mask",
                 "--recompute=" + args.recompute,
                 "--precision=" + args.precision]
        searched = plan(args.bbc, model, cluster,
                        shape + ["--mesh=auto", "--stages=auto"], args.time_limit)
        row = {"model": preset, "cluster": cluster, "batch": batch,
               "recompute": args.recompute, "precision": args.precision,
               "searched": searched}
        if not args.no_sweep:
            hosts = int(cluster.split(":")[1]) if ":" in cluster else 1
            devices = hosts * DEVICES_PER_HOST
            best = None
            for tp in (1, 2, 4, 8):
                for pp in (1, 2, 4, 8, 16, 32, 64):
                    if devices % (tp * pp):
                        continue
                    dp = devices // (tp * pp)
                    # 2P, 4P and 8P micro-batches, and the most up to 16P
                    # that the batch splits into (each micro-batch split over
                    # dp), as --stages=auto tries them.
                    counts = [2 * pp, 4 * pp, 8 * pp]
                    more = [m for m in range(16 * pp, 2 * pp, -1) if batch % (m * dp) == 0]
                    if more and more[0] not in counts:
                        counts.append(more[0])
                    for mb in ((1,) if pp == 1 else counts):
                        if batch % (dp if pp == 1 else mb * dp):
                            continue
                        strategy = "dp=%d,tp=%d" % (dp, tp)
                        if pp > 1:
                            strategy += ",pp=%d,microbatches=%d" % (pp, mb)
                        pins = (megatron_pins(model, tp)
                                if args.baseline == "megatron" else [])
                        r = plan(args.bbc, model, cluster,
                                 shape + ["--strategy=" + strategy] + pins, args.time_limit)
                        r["strategy"] = strategy
                        row.setdefault("grid", []).append(r)
                        if "error" not in r and r.get("fits") and (
                                best is None or
                                r["throughput_per_second"] > best["throughput_per_second"]):
                            best = r
            row["best_grid"] = best
        rows.append(row)
        if not args.json:
            s = searched
            b = row.get("best_grid")
            best = ("%s %.0f tok/s" % (b["strategy"], b["throughput_per_second"])
                    if b else "none that fits")
            if "error" in s:
                print("%-10s %-18s batch %-5d error: %s  best grid: %s" % (
                    preset, cluster, batch, s["error"], best))
                continue
            stages = s.get("pipeline_stages", 1)
            print("%-10s %-18s batch %-5d search %6.1f s  %s  step %9.2f ms  %10.0f tok/s  MFU %5.1f%%  "
                  "mem %6.1f GiB %-4s  best grid: %s%s%s" % (
                      preset, cluster, batch, s["seconds"],
                      "pp=%d,mb=%d" % (stages, s.get("microbatches", 1)) if stages > 1
                      else "no stages", s["step_seconds"] * 1e3,
                      s["throughput_per_second"], 100 * s["mfu"],
                      s["memory_bytes_per_device"] / 2**30,
                      "fits" if s["fits"] else "OVER", best,
                      "  (searched/best %.3f)" % (s["throughput_per_second"] /
                                                  b["throughput_per_second"]) if b else "",
                      # What stages of unequal meshes could save at most.
                      "  unequal meshes <= %.1f%%" % (
                          100 * s["unequal_meshes_bound_seconds"] / s["step_seconds"])
                      if stages > 1 else ""))
            sys.stdout.flush()
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
