#!/usr/bin/env python3
"""How well the cost model predicts real steps: predicted against measured.

Measures this machine's ranks with bb-measure into a cluster file (or takes
one: --cluster), writes a GPT-style model with random weights
(scripts/make_gpt_onnx.py), and for each strategy (and the searched plan,
`--mesh=auto --stages=auto`):

  - predicted: `bbc plan MODEL --train --cluster=FILE --strategy=S --json=...`,
    the plan's step_seconds;
  - measured: the training binary `bbc` compiles for the same plan, run under
    `mpirun -np N` on a token file for --steps steps, --repeats times; the
    median of its logged step times after the first two, in the fastest of
    the runs (a shared machine's neighbours only ever slow a run down).

A strategy ending in "+mlp" also pins every layer's MLP weights Megatron's
way on the tp axis (c_fc by columns, c_proj by rows), so that the plan is
tensor-parallel there rather than the search's choice (which on CPU ranks
is to split the batch whatever the mesh).

Prints one row per plan (predicted ms, measured ms, measured / predicted),
Spearman's rank correlation of the two columns, and whether the searched
plan is the fastest measured. Run it on an otherwise idle machine.

usage: /usr/bin/python3 scripts/bench_cost_model.py [--ranks 2] [--batch 8]
    [--layers 4 --d-model 256 --heads 4 --vocab 2048 --seq 128]
    [--strategies dp=2 tp=2+mlp ...] [--cluster FILE] [--steps 12] [--repeats 3]
    [--bbc PATH] [--measure PATH] [--keep DIR]
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIRUN = ["/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl", "self,vader", "--bind-to", "none"]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("bench_cost_model: %s failed:\n%s%s" % (
            " ".join(cmd), r.stdout[-2000:], r.stderr[-2000:]))
    return r


def ranks(values):
    """Ranks from 0; tied values (the searched plan is often one of the
    strategies) share the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    pos = 0
    while pos < len(order):
        end = pos
        while end + 1 < len(order) and values[order[end + 1]] == values[order[pos]]:
            end += 1
        for k in range(pos, end + 1):
            r[order[k]] = (pos + end) / 2
        pos = end + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs per plan; the fastest run's median counts")
    ap.add_argument("--strategies", nargs="*", default=[
        "dp=2", "tp=2+mlp", "dp=2,zero=1", "pp=2,microbatches=2",
        "pp=2,microbatches=4", "pp=2,microbatches=8"])
    ap.add_argument("--cluster", help="a cluster file (default: measure one "
                    "with bb-measure on --ranks ranks)")
    ap.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin/tools/bbc/bbc"))
    ap.add_argument("--measure", default=os.path.join(
        ROOT, "bazel-bin/tools/bb-measure/bb-measure"))
    ap.add_argument("--keep", help="work in this directory and keep it")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="bench_cost_model.")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, OMPI_MCA_mpi_yield_when_idle="1")
    mpirun = MPIRUN + ["-np", str(args.ranks)]
    try:
        cluster = args.cluster
        if not cluster:
            cluster = os.path.join(work, "measured.textproto")
            run(mpirun + [args.measure, "-o", cluster], env=env)
        model = os.path.join(work, "model.onnx")
        run([sys.executable, os.path.join(ROOT, "scripts/make_gpt_onnx.py"),
             "--layers", str(args.layers), "--d-model", str(args.d_model),
             "--heads", str(args.heads), "--vocab", str(args.vocab),
             "--seq", str(args.seq), "--symbolic", "--with-weights",
             "-o", model])
        tokens = os.path.join(work, "train.bin")
        with open(tokens, "wb") as f:
            # A fixed pseudo-random token stream (uint16, nanoGPT's format).
            x = 12345
            out = bytearray()
            for _ in range(args.batch * args.seq * (args.steps + 2) + 1):
                x = (1103515245 * x + 12345) % (1 << 31)
                t = x % args.vocab
                out += bytes((t & 255, t >> 8))
            f.write(out)
        common = [model, "--input-shape=idx=%dx%d" % (args.batch, args.seq),
                  "--train", "--freeze=causal_mask", "--cluster=" + cluster]
        plans = []
        for s in args.strategies:
            flags = "--strategy=" + s.replace("+mlp", "")
            if s.endswith("+mlp"):
                # Megatron's MLP on the tp axis (axis 1 of the dp x tp
                # mesh): the first product split by columns, the second by
                # rows, an all-reduce after it; the search places the rest.
                for layer in range(args.layers):
                    w = "transformer.h.%d.mlp." % layer
                    flags += " --shard=%sc_fc.weight=[[],[1]]" % w
                    flags += " --shard=%sc_proj.weight=[[1],[]]" % w
            plans.append((flags, s))
        plans.append(("--mesh=auto --stages=auto", "searched"))
        rows = []
        for flags, label in plans:
            flags = flags.split()
            js = os.path.join(work, "plan.json")
            run([args.bbc, "plan"] + common + flags + ["--json=" + js])
            with open(js) as f:
                plan = json.load(f)
            predicted = plan["step_seconds"] * 1e3
            binary = os.path.join(work, "prog")
            run([args.bbc] + common + flags + ["-o", binary])
            medians = []
            for _ in range(args.repeats):
                log = os.path.join(work, "log.csv")
                if os.path.exists(log):
                    os.remove(log)
                run(mpirun + [binary, "--data", tokens, "--steps",
                              str(args.steps), "--log", log, "--print-every",
                              str(args.steps)], env=env)
                with open(log) as f:
                    times = [float(r["ms"]) for r in csv.DictReader(f)
                             if r["step"].isdigit()]
                medians.append(statistics.median(times[2:]))
            measured = min(medians)
            chosen = label
            if label == "searched":
                chosen = "searched: %s%s" % (
                    ("pp=%d, " % plan["pipeline_stages"]) if plan.get(
                        "pipeline_stages", 1) > 1 else "",
                    "mesh " + "x".join(str(m) for m in plan["mesh"]))
            rows.append((chosen, predicted, measured))
            print("%-34s predicted %9.2f ms  measured %9.2f ms  ratio %.2f" % (
                chosen, predicted, measured, measured / predicted), flush=True)
        rho = spearman([r[1] for r in rows], [r[2] for r in rows])
        fastest = min(rows, key=lambda r: r[2])
        print("rank correlation (Spearman) of predicted and measured: %.2f" % rho)
        print("fastest measured: %s; the searched plan measured %.2f ms "
              "(%.1f%% above the fastest)" % (
                  fastest[0], rows[-1][2], 100 * (rows[-1][2] / fastest[2] - 1)))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
