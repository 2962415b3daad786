#!/usr/bin/env python3
"""Benchmark of the sharding search: time to plan, and the plan's predicted
throughput against data-parallel-pinned alternatives.

For each (model, cluster) pair: writes the model with scripts/make_gpt_onnx.py
(weights declared but absent: planning reads shapes only), runs
`bbc plan MODEL --train --cluster=C --mesh=auto --json` (the searched plan,
over every (devices / k) x k mesh), then, for every split of the devices into dp x tp with tp
dividing the devices of a host, `bbc plan ... --strategy=dp=D,tp=T` (the
inputs pinned to split over dp; the search fills in the rest, so these are
not pure Megatron plans), and prints one table row per pair: search seconds,
predicted step time, tokens/s, MFU, per-device memory and whether it fits,
and the best pinned alternative's tokens/s.

usage: /usr/bin/python3 scripts/bench_planning.py [--bbc PATH] [--batch 8]
           [--pairs gpt2-124m@dgx-a100-80g:1 ...] [--no-sweep] [--json]
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
    "gpt-1.3b@p3.16xlarge:1",
    "gpt-1.3b@g5.48xlarge:1",
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin/tools/bbc/bbc"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--pairs", nargs="*", default=DEFAULT_PAIRS)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="bench-planning-")
    rows = []
    for pair in args.pairs:
        preset, cluster = pair.split("@")
        model = os.path.join(work, preset + ".onnx")
        if not os.path.exists(model):
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/make_gpt_onnx.py"),
                            preset, "--batch", str(args.batch), "--force", "-o", model],
                           check=True, capture_output=True)
        searched = plan(args.bbc, model, cluster, ["--mesh=auto"], args.time_limit)
        row = {"model": preset, "cluster": cluster, "searched": searched}
        if not args.no_sweep:
            hosts = int(cluster.split(":")[1]) if ":" in cluster else 1
            devices = hosts * DEVICES_PER_HOST
            best = None
            for tp in (1, 2, 4, 8):
                dp = devices // tp
                r = plan(args.bbc, model, cluster,
                         ["--strategy=dp=%d,tp=%d" % (dp, tp)], args.time_limit)
                r["strategy"] = "dp=%d,tp=%d" % (dp, tp)
                row.setdefault("pinned", []).append(r)
                if "error" not in r and r.get("fits") and (
                        best is None or r["throughput_per_second"] > best["throughput_per_second"]):
                    best = r
            row["best_pinned"] = best
        rows.append(row)
        if not args.json:
            s = searched
            if "error" in s:
                print("%-10s %-18s error: %s" % (preset, cluster, s["error"]))
                continue
            b = row.get("best_pinned")
            print("%-10s %-18s search %6.1f s  step %9.2f ms  %10.0f tok/s  MFU %5.1f%%  "
                  "mem %6.1f GiB %-4s  best pinned: %s" % (
                      preset, cluster, s["seconds"], s["step_seconds"] * 1e3,
                      s["throughput_per_second"], 100 * s["mfu"],
                      s["memory_bytes_per_device"] / 2**30,
                      "fits" if s["fits"] else "OVER",
                      "%s %.0f tok/s" % (b["strategy"], b["throughput_per_second"])
                      if b else "none that fits"))
            sys.stdout.flush()
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
