#!/usr/bin/env python3
"""Reference losses and gradients from PyTorch for `bbc --grad` programs.

For mlp and gpt2, rebuilds the exact torch module that make_models.py
exported (same seeds, so the same weights; checked against the ONNX
initializers), draws labels, and writes into test/models/NAME/grad/:
  labels.npy           the labels (class indices)
  loss.npy             PyTorch's cross-entropy loss on the reference input
  <param>.npy          d loss / d param for every torch parameter
  map.json             ONNX initializer -> [torch parameter, transposed?]
(ONNX exporters store some parameters transposed, e.g. a Linear weight used by
MatMul, and tied weights twice; the gradient of a torch parameter is the sum
of the gradients of the initializers that map to it.)

usage: /usr/bin/python3 test/models/make_grad_refs.py
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402


def main():
    torch.set_num_threads(1)
    for index, name in enumerate(make_models.MODELS):
        if name not in ("mlp", "gpt2"):
            continue
        seed = make_models.SEED + index
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        spec = make_models.MODELS[name](gen, rng)
        model = spec["model"].eval()
        inputs = [torch.from_numpy(np.load(os.path.join(HERE, name, k + ".npy")))
                  for k in spec["inputs"]]
        logits = model(*inputs)
        classes = logits.shape[-1]
        labels_rng = np.random.default_rng(1000 + index)
        labels = labels_rng.integers(0, classes, size=logits.shape[:-1], dtype=np.int64)
        labels[..., 0] = -100  # exercise ignore_index
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, classes), torch.from_numpy(labels).reshape(-1),
            ignore_index=-100)
        loss.backward()

        out = os.path.join(HERE, name, "grad")
        os.makedirs(out, exist_ok=True)
        np.save(os.path.join(out, "labels.npy"), labels)
        np.save(os.path.join(out, "loss.npy"), np.array(loss.item(), dtype=np.float32))
        params = dict(model.named_parameters())
        for pname, p in params.items():
            np.save(os.path.join(out, pname + ".npy"), p.grad.numpy())

        onnx_model = onnx.load(os.path.join(HERE, name, name + ".onnx"))
        mapping = {}
        for init in onnx_model.graph.initializer:
            value = numpy_helper.to_array(init)
            for pname, p in params.items():
                w = p.detach().numpy()
                if w.shape == value.shape and np.array_equal(w, value):
                    mapping[init.name] = [pname, False]
                    break
                if w.ndim == 2 and w.T.shape == value.shape and np.array_equal(w.T, value):
                    mapping[init.name] = [pname, True]
                    break
        missing = set(params) - {v[0] for v in mapping.values()}
        assert not missing, f"{name}: parameters without an initializer: {missing}"
        with open(os.path.join(out, "map.json"), "w") as f:
            json.dump(mapping, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: loss {loss.item():.6f}, {len(params)} parameters, "
              f"{len(mapping)} initializers mapped")


if __name__ == "__main__":
    main()
