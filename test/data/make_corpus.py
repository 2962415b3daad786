#!/usr/bin/python3
"""Byte-level token files and the unigram baseline of test/data/tiny_corpus.txt.

usage: make_corpus.py [--out-dir DIR] [--corpus FILE] [--torch-curve [--steps 300]]

Writes into DIR (default build/data under the repository root; the .bin files
are generated at test time, never committed):
  tiny_corpus_train.bin   the first 90% of the file's bytes, one little-endian
  tiny_corpus_val.bin     uint16 token per byte (vocab 256), and the last 10%
  tiny_corpus.json        sizes, sha256 of the text, and
                          unigram_entropy_nats: entropy of the byte distribution
                            of the train split, -sum p ln p (nats), the loss of
                            the best model that ignores context;
                          val_unigram_cross_entropy_nats: the val split's
                            cross-entropy under the train split's byte
                            distribution (add-one smoothed);
                          uniform_nats: ln 256, a model that knows nothing.
and prints the entropy. A model that learns anything from context drives its
training loss below unigram_entropy_nats.

Only the standard library is needed, except for --torch-curve: train the
untied gpt2 module of test/models/make_train_refs.py with PyTorch on the train
split (batch 8, seq 32, AdamW lr 3e-3, warmup 20, cosine to 0.1 lr over
--steps, llm.c loader) and print its loss curve against the unigram entropy.
"""
import argparse
import array
import collections
import hashlib
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def to_bin(data, path):
    a = array.array("H", list(data))  # one uint16 token per byte
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        a.tofile(f)


def entropy(data):
    n = len(data)
    return -sum(c / n * math.log(c / n) for c in collections.Counter(data).values())


def cross_entropy(data, ref):
    counts = collections.Counter(ref)
    total = len(ref) + 256
    return -sum(math.log((counts[b] + 1) / total) for b in data) / len(data)


def torch_curve(train_path, val_path, unigram, steps, B=8, T=32):
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(ROOT, "test", "models"))
    import make_train_refs as R

    torch.set_num_threads(1)
    torch.manual_seed(0)
    train = np.fromfile(train_path, dtype="<u2")
    val = torch.from_numpy(np.fromfile(val_path, dtype="<u2").astype(np.int64))
    cfg = R.full_config(dict(optimizer="adamw", lr=3e-3, warmup=20, schedule="cosine"), steps)
    model = R.build_module("gpt2")
    losses, _, _ = R.train(model, cfg, R.TokenLoader(train, B, T), steps)
    with torch.no_grad():
        n = (len(val) - 1) // T
        x, y = val[:n * T].reshape(n, T), val[1:n * T + 1].reshape(n, T)
        val_loss = R.loss_fn(model(x), y).item()
    print(f"gpt2 (untied), batch {B}, seq {T}, AdamW lr 3e-3 warmup 20 cosine, {steps} steps")
    print(f"unigram entropy {unigram:.4f} nats; uniform {math.log(256):.4f}")
    for s in sorted({0, 50, 100, 200, steps - 1} & set(range(steps))):
        window = losses[max(0, s - 9):s + 1]
        print(f"  step {s:4d} (0-based): loss {losses[s]:.4f}   mean of last 10 "
              f"{sum(window) / len(window):.4f}")
    first = next((i for i, v in enumerate(losses) if v < unigram), None)
    avg = [sum(losses[max(0, i - 9):i + 1]) / len(losses[max(0, i - 9):i + 1])
           for i in range(steps)]
    first_avg = next((i for i, v in enumerate(avg) if v < unigram), None)
    stays = next((i for i in range(steps) if all(v < unigram for v in losses[i:])), None)
    print(f"  first step below unigram: {first}; 10-step mean below: {first_avg}; "
          f"below from step {stays} on")
    print(f"  val loss after training (all {n} windows of {T}): {val_loss:.4f}")
    return losses, val_loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out-dir", default=os.path.join(ROOT, "build", "data"))
    p.add_argument("--corpus", default=os.path.join(HERE, "tiny_corpus.txt"))
    p.add_argument("--torch-curve", action="store_true")
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    data = open(a.corpus, "rb").read()
    split = len(data) * 9 // 10
    train, val = data[:split], data[split:]
    os.makedirs(a.out_dir, exist_ok=True)
    train_path = os.path.join(a.out_dir, "tiny_corpus_train.bin")
    val_path = os.path.join(a.out_dir, "tiny_corpus_val.bin")
    to_bin(train, train_path)
    to_bin(val, val_path)
    h = entropy(train)
    stats = collections.OrderedDict(
        corpus=os.path.basename(a.corpus),
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data), train_tokens=len(train), val_tokens=len(val),
        distinct_bytes_train=len(set(train)),
        unigram_entropy_nats=h,
        val_unigram_cross_entropy_nats=cross_entropy(val, train),
        uniform_nats=math.log(256),
    )
    with open(os.path.join(a.out_dir, "tiny_corpus.json"), "w") as f:
        json.dump(stats, f, indent=1)
        f.write("\n")
    print(f"train {len(train)} tokens, val {len(val)} tokens -> {a.out_dir}")
    print(f"unigram_entropy_nats {h:.6f}")
    if a.torch_curve:
        torch_curve(train_path, val_path, h, a.steps)


if __name__ == "__main__":
    main()
