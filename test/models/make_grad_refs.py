#!/usr/bin/env python3
"""Reference losses and gradients from PyTorch for `bbc --grad` programs.

For every model, rebuilds the exact torch module that make_models.py
exported (same seeds, so the same weights; checked against the ONNX
initializers) in eval mode (BatchNorm uses its running statistics and
Dropout is off, as in the exported graph), draws labels, and writes into
test/models/NAME/grad/:
  labels.npy           the labels (class indices)
  loss.npy             PyTorch's cross-entropy loss on the reference input
  <param>.npy          d loss / d param for every torch parameter
  map.json             ONNX initializer -> [torch parameter, transposed?]
(ONNX exporters store some parameters transposed, e.g. a Linear weight used by
MatMul, and tied weights twice; the gradient of a torch parameter is the sum
of the gradients of the initializers that map to it.)

mobilenet was exported with BatchNorm folded into the preceding Conv, so its
convolution initializers are not torch parameters: there each Conv-BatchNorm
pair of the torch module is fused the same way first (the fused weight and
bias become the parameters, set to the ONNX values) and the gradients are
those of the fused module. BatchNorm statistics (resnet) are buffers, not
parameters: they have no reference gradient. The labels of mlp and gpt2
set position 0 of the last label dimension to -100 (ignored; for mlp that is
the first example); resnet and mobilenet count every example.

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


def fuse_conv_bn(model):
    """Replaces every Conv2d directly followed by a BatchNorm2d inside an
    nn.Sequential by the fused Conv2d and the BatchNorm by Identity."""
    for module in model.modules():
        if not isinstance(module, torch.nn.Sequential):
            continue
        children = list(module.named_children())
        for (name, conv), (bn_name, bn) in zip(children, children[1:]):
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                setattr(module, name, torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, torch.nn.Identity())
    return model


def map_initializers(name, onnx_model, params, exact):
    """ONNX initializer -> [torch parameter, transposed?], by value (exactly,
    or for re-folded weights to float rounding, in which case the parameter
    takes the ONNX value)."""
    mapping = {}
    for init in onnx_model.graph.initializer:
        value = numpy_helper.to_array(init)
        for pname, p in params.items():
            w = p.detach().numpy()
            for transposed, cand in [(False, w), (True, w.T if w.ndim == 2 else None)]:
                if cand is None or cand.shape != value.shape:
                    continue
                if np.array_equal(cand, value) or (
                        not exact and np.allclose(cand, value, rtol=1e-4, atol=1e-6)):
                    assert init.name not in mapping, f"{name}: {init.name} matches twice"
                    mapping[init.name] = [pname, transposed]
                    if not exact:
                        with torch.no_grad():
                            p.copy_(torch.from_numpy((value.T if transposed else value).copy()))
                    break
            if init.name in mapping:
                break
    missing = set(params) - {v[0] for v in mapping.values()}
    assert not missing, f"{name}: parameters without an initializer: {missing}"
    return mapping


def main():
    torch.set_num_threads(1)
    for index, name in enumerate(make_models.MODELS):
        seed = make_models.SEED + index
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        spec = make_models.MODELS[name](gen, rng)
        model = spec["model"].eval()
        folded = name == "mobilenet"  # exported with BatchNorm folded into Conv
        if folded:
            model = fuse_conv_bn(model)
        params = dict(model.named_parameters())
        onnx_model = onnx.load(os.path.join(HERE, name, name + ".onnx"))
        mapping = map_initializers(name, onnx_model, params, exact=not folded)

        inputs = [torch.from_numpy(np.load(os.path.join(HERE, name, k + ".npy")))
                  for k in spec["inputs"]]
        logits = model(*inputs)
        reference = np.load(os.path.join(HERE, name, spec["output_names"][0] + ".npy"))
        np.testing.assert_allclose(logits.detach().numpy(), reference,
                                   rtol=spec["rtol"], atol=spec["atol"])
        classes = logits.shape[-1]
        labels_rng = np.random.default_rng(1000 + index)
        labels = labels_rng.integers(0, classes, size=logits.shape[:-1], dtype=np.int64)
        if name in ("mlp", "gpt2"):
            labels[..., 0] = -100  # exercise ignore_index
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, classes), torch.from_numpy(labels).reshape(-1),
            ignore_index=-100)
        loss.backward()

        out = os.path.join(HERE, name, "grad")
        os.makedirs(out, exist_ok=True)
        np.save(os.path.join(out, "labels.npy"), labels)
        np.save(os.path.join(out, "loss.npy"), np.array(loss.item(), dtype=np.float32))
        for pname, p in params.items():
            np.save(os.path.join(out, pname + ".npy"), p.grad.numpy())
        with open(os.path.join(out, "map.json"), "w") as f:
            json.dump(mapping, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: loss {loss.item():.6f}, {len(params)} parameters, "
              f"{len(mapping)} initializers mapped")


if __name__ == "__main__":
    main()
