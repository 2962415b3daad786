#!/usr/bin/env python3
"""Benchmark: generated CPU executables versus ONNX Runtime's CPU provider.

For each committed model: compile with bbc (-O3 -march=native), run the program
with --bench, run ONNX Runtime on the same input with the same thread count,
and print median latencies, their ratio, the arena size bbc planned and the
peak resident memory of both processes.

usage: /usr/bin/python3 scripts/bench_inference.py [--runs 50] [--threads 2]
       (needs `scripts/install_deps.sh --models` for onnxruntime)
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {
    "mlp": "x=4x64",
    "gpt2": "idx=2x16",
    "resnet": "x=2x3x32x32",
    "mobilenet": "x=2x3x32x32",
    "llama": "idx=2x16",
}


def ort_child(model, inputs, threads, runs):
    """Runs in a child process so its peak RSS is its own."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = {k: np.load(v) for k, v in inputs.items()}
    sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"min": min(times), "median": statistics.median(times), "rss": rss}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bbc", default=os.path.join(ROOT, "bazel-bin/tools/bbc/bbc"))
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        model, inputs = a.child
        return ort_child(model, json.loads(inputs), a.threads, a.runs)

    work = tempfile.mkdtemp(prefix="bb-bench-")
    rows = []
    for name, shape in MODELS.items():
        mdir = os.path.join(ROOT, "test/models", name)
        meta = json.load(open(os.path.join(mdir, "meta.json")))
        in_names = [i["name"] for i in meta["inputs"]]
        inputs = {n: os.path.join(mdir, f"{n}.npy") for n in in_names}
        exe = os.path.join(work, name)
        r = subprocess.run([a.bbc, os.path.join(mdir, f"{name}.onnx"), "-o", exe,
                            f"--input-shape={shape}", "--cxx-flags=-O3 -march=native"],
                           capture_output=True, text=True, check=True)
        arena = int(re.search(r"arena (\d+) bytes", r.stderr).group(1))
        cmd = ["/usr/bin/time", "-f", "%M", exe, "--bench", str(a.runs),
               "--threads", str(a.threads)]
        for n, f in inputs.items():
            cmd += ["--input", f"{n}={f}"]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        m = re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", r.stdout)
        bb_min, bb_med = float(m.group(1)), float(m.group(2))
        bb_rss = int(r.stderr.strip().splitlines()[-1]) * 1024
        r = subprocess.run([sys.executable, __file__, "--runs", str(a.runs),
                            "--threads", str(a.threads), "--child",
                            os.path.join(mdir, f"{name}.onnx"), json.dumps(inputs)],
                           capture_output=True, text=True, check=True)
        ort = json.loads(r.stdout)
        rows.append((name, shape, bb_min, bb_med, ort["min"], ort["median"],
                     bb_med / ort["median"], arena, bb_rss, ort["rss"]))
    print(f"threads={a.threads} runs={a.runs}")
    print("| model | input | bb min / median ms | ORT min / median ms | ratio (bb/ORT median) "
          "| arena planned | peak RSS bb | peak RSS ORT |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.3f} / {r[3]:.3f} | {r[4]:.3f} / {r[5]:.3f} | "
              f"{r[6]:.2f} | {r[7] / 1024:.0f} KiB | {r[8] / 2**20:.1f} MiB | {r[9] / 2**20:.1f} MiB |")


if __name__ == "__main__":
    sys.exit(main())
