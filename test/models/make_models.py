#!/usr/bin/python3
"""Generate the small ONNX test models used by Bumblebee's tests.

Usage (from the repository root):

    /usr/bin/python3 test/models/make_models.py            # all models
    /usr/bin/python3 test/models/make_models.py gpt2 mlp   # a subset

Needs Debian's python3-torch (1.13), python3-onnx (1.12), python3-numpy and
onnxruntime (pip, 1.18.1) for /usr/bin/python3; see test/models/README.md.

For every model NAME this writes into test/models/NAME/:
  NAME.onnx          the model, weights embedded (no external data)
  <input>.npy        reference input(s), named after the ONNX graph inputs
  <output>.npy       reference output(s), computed by ONNX Runtime (CPU EP)
  meta.json          opset, input/output names+shapes+dtypes, rtol/atol,
                     op-type histogram, versions used

Everything is seeded, so reruns with the same library versions reproduce the
same files.
"""

import collections
import hashlib
import json
import math
import os
import sys

import numpy as np
import onnx
import onnx.checker
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234


# --------------------------------------------------------------------------
# 1. mlp
# --------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self, d_in=64, d_hidden=128, d_out=10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_hidden)
        self.fc3 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.gelu(self.fc2(x))  # exact (erf) GELU
        return self.fc3(x)


# --------------------------------------------------------------------------
# 2. gpt2 (nanoGPT-style, plain torch)
# --------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        assert n_embd % n_head == 0
        self.n_head = n_head
        self.n_embd = n_embd
        self.head_dim = n_embd // n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.register_buffer(
            "bias",
            torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size),
        )

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class GPTMLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))  # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = GPTMLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab_size=256, block_size=64, n_layer=2, n_head=4, n_embd=64):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as in GPT-2
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
        # Non-trivial LayerNorm affine params so they matter numerically.
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.normal_(m.bias, 0.0, 0.1)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.normal_(m.bias, mean=0.0, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)  # -> Range
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return self.lm_head(x)


# --------------------------------------------------------------------------
# 3. resnet
# --------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# --------------------------------------------------------------------------
# 4. mobilenet (MobileNetV3-style)
# --------------------------------------------------------------------------
def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze_c):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze_c, 1)
        self.fc2 = nn.Conv2d(squeeze_c, c, 1)

    def forward(self, x):
        s = self.avgpool(x)
        s = F.relu(self.fc1(s))
        s = F.hardsigmoid(self.fc2(s))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_exp, c_out, k, stride, use_se, use_hs):
        super().__init__()
        self.use_res = stride == 1 and c_in == c_out
        act = nn.Hardswish if use_hs else nn.ReLU
        layers = []
        if c_exp != c_in:
            layers += [nn.Conv2d(c_in, c_exp, 1, bias=False), nn.BatchNorm2d(c_exp), act()]
        layers += [
            nn.Conv2d(c_exp, c_exp, k, stride, (k - 1) // 2, groups=c_exp, bias=False),  # depthwise
            nn.BatchNorm2d(c_exp),
            act(),
        ]
        if use_se:
            layers.append(SqueezeExcitation(c_exp, _make_divisible(c_exp // 4)))
        layers += [nn.Conv2d(c_exp, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class TinyMobileNetV3(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish()
        )
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 16, 3, 1, use_se=True, use_hs=False),   # residual
            InvertedResidual(16, 64, 24, 3, 2, use_se=False, use_hs=False),
            InvertedResidual(24, 72, 24, 3, 1, use_se=False, use_hs=True),   # residual
            InvertedResidual(24, 96, 40, 5, 1, use_se=True, use_hs=True),
        )
        self.pool = nn.AvgPool2d(2, 2)  # explicit AveragePool
        self.last = nn.Sequential(nn.Conv2d(40, 96, 1, bias=False), nn.BatchNorm2d(96), nn.Hardswish())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(96, 128), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(128, num_classes)
        )

    def forward(self, x):
        x = self.stem(x)
        x = self.blocks(x)
        x = self.pool(x)
        x = self.last(x)
        x = torch.flatten(self.gap(x), 1)
        return self.classifier(x)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
# --------------------------------------------------------------------------
# 5. llama (Llama-style decoder, plain torch)
# --------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, dim, n_head, hidden):
        super().__init__()
        self.n_head = n_head
        self.attention_norm = RMSNorm(dim)
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
        self.ffn_norm = RMSNorm(dim)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.attention_norm(x)
        q = self.wq(h).view(B, T, self.n_head, -1).transpose(1, 2)
        k = self.wk(h).view(B, T, self.n_head, -1).transpose(1, 2)
        v = self.wv(h).view(B, T, self.n_head, -1).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1])) + mask
        y = torch.softmax(att, dim=-1) @ v
        x = x + self.wo(y.transpose(1, 2).reshape(B, T, C))
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, vocab_size=256, block_size=64, n_layer=2, n_head=4, dim=64, hidden=176):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab_size, dim)
        self.layers = nn.ModuleList([LlamaBlock(dim, n_head, hidden) for _ in range(n_layer)])
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, vocab_size, bias=False)
        head = dim // n_head
        inv = 1.0 / (10000 ** (torch.arange(0, head, 2).float() / head))
        freqs = torch.outer(torch.arange(block_size).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("rope_cos", emb.cos())
        self.register_buffer("rope_sin", emb.sin())
        self.register_buffer(
            "causal", torch.full((block_size, block_size), float("-inf")).triu(1))

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok_embeddings(idx)
        cos, sin, mask = self.rope_cos[:T], self.rope_sin[:T], self.causal[:T, :T]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.output(self.norm(x))


def randomize_bn(model, gen):
    """Non-trivial BN running stats and affine params, so BN matters numerically."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.2)


def build_mlp(gen, rng):
    model = MLP()
    inputs = {"x": rng.standard_normal((4, 64)).astype(np.float32)}
    return dict(
        model=model, opset=13, inputs=inputs, output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        extra_inputs=[{"x": rng.standard_normal((1, 64)).astype(np.float32)}],
        rtol=1e-4, atol=1e-5,
        description="3 Linear layers (64->128->128->10), ReLU then exact GELU.",
    )


def decoder_spec(model, rng, description):
    """A decoder over 256 tokens: reference batch 2 x 16, dynamic batch and
    sequence (checked at 1 x 7 and 3 x 64)."""
    inputs = {"idx": rng.integers(0, 256, size=(2, 16), dtype=np.int64)}
    return dict(
        model=model, opset=17, inputs=inputs, output_names=["logits"],
        dynamic_axes={"idx": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
        extra_inputs=[{"idx": rng.integers(0, 256, size=(1, 7), dtype=np.int64)},
                      {"idx": rng.integers(0, 256, size=(3, 64), dtype=np.int64)}],
        rtol=1e-3, atol=1e-4, description=description,
    )


def build_gpt2(gen, rng):
    return decoder_spec(
        GPT(vocab_size=256, block_size=64, n_layer=2, n_head=4, n_embd=64), rng,
        "Tiny GPT-2 decoder: vocab 256, n_embd 64, 4 heads, 2 pre-LN blocks, "
        "block size 64 (max seq len), causal mask from a tril buffer + masked_fill, "
        "exact GELU, final LayerNorm, LM head tied to the token embedding.")


def build_resnet(gen, rng):
    model = TinyResNet()
    randomize_bn(model, gen)
    inputs = {"x": rng.standard_normal((2, 3, 32, 32)).astype(np.float32)}
    return dict(
        model=model, opset=13, inputs=inputs, output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        extra_inputs=[{"x": rng.standard_normal((3, 3, 32, 32)).astype(np.float32)}],
        # TrainingMode.PRESERVE (model in eval mode) skips the eval peephole
        # that folds BatchNormalization into Conv, so BN nodes stay in the graph.
        training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
        rtol=1e-3, atol=1e-4,
        description=("Tiny ResNet: conv3x3-BN-ReLU stem (16ch), maxpool 3x3/2, BasicBlock(16,16), "
                     "BasicBlock(16,32,stride 2, 1x1 conv+BN projection), global avg pool, "
                     "flatten, fc(32->10). BatchNormalization kept as separate (inference) ops."),
    )


def build_mobilenet(gen, rng):
    model = TinyMobileNetV3()
    randomize_bn(model, gen)
    inputs = {"x": rng.standard_normal((2, 3, 32, 32)).astype(np.float32)}
    return dict(
        model=model, opset=15, inputs=inputs, output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        extra_inputs=[{"x": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}],
        rtol=1e-3, atol=1e-4,
        description=("Tiny MobileNetV3: conv-BN-HardSwish stem, 4 inverted residual blocks "
                     "(1x1 expand, depthwise kxk with groups=channels, optional SE with "
                     "GlobalAveragePool+HardSigmoid, 1x1 project), AvgPool 2x2, 1x1 conv + HardSwish, "
                     "global avg pool, flatten, Linear-HardSwish-Linear classifier. Default eval "
                     "export, so BatchNorm is folded into the Conv weights."),
    )


def build_llama(gen, rng):
    return decoder_spec(
        Llama(), rng,
        "Tiny Llama-style decoder: vocab 256, dim 64, 4 heads, 2 pre-norm blocks, "
        "RMSNorm (Pow/ReduceMean/Sqrt/Div), rotary position embeddings from "
        "cos/sin buffers sliced to the sequence (Slice/Neg/Concat), causal -inf mask "
        "buffer added to the scores, SwiGLU MLP (SiLU as Sigmoid*x), no biases, "
        "untied LM head.")


MODELS = collections.OrderedDict(
    mlp=build_mlp, gpt2=build_gpt2, resnet=build_resnet, mobilenet=build_mobilenet,
    llama=build_llama,
)

NP_DTYPE_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64"}


def value_info_dims(vi):
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        dims.append(d.dim_param if d.HasField("dim_param") else int(d.dim_value))
    return dims


def make_one(name, index):
    seed = SEED + index
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = MODELS[name](gen, rng)
    model = spec["model"].eval()

    out_dir = os.path.join(HERE, name)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, name + ".onnx")

    input_names = list(spec["inputs"].keys())
    args = tuple(torch.from_numpy(a) for a in spec["inputs"].values())
    with torch.no_grad():
        torch.onnx.export(
            model, args, onnx_path,
            input_names=input_names, output_names=spec["output_names"],
            dynamic_axes=spec["dynamic_axes"], opset_version=spec["opset"],
            training=spec.get("training", torch.onnx.TrainingMode.EVAL),
            do_constant_folding=spec.get("do_constant_folding", True), export_params=True,
        )
        torch_out = [model(*args).numpy()]

    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    hist = collections.Counter(n.op_type for n in m.graph.node)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    ort_in_names = [i.name for i in sess.get_inputs()]
    assert ort_in_names == input_names, (ort_in_names, input_names)
    ort_out_names = [o.name for o in sess.get_outputs()]
    outs = sess.run(None, spec["inputs"])

    max_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(outs, torch_out))
    for a, b in zip(outs, torch_out):
        np.testing.assert_allclose(a, b, rtol=spec["rtol"], atol=spec["atol"])

    # The dynamic axes really are dynamic: run other shapes and compare with torch.
    for extra in spec.get("extra_inputs", []):
        e_out = sess.run(None, extra)
        with torch.no_grad():
            t_out = model(*(torch.from_numpy(a) for a in extra.values())).numpy()
        np.testing.assert_allclose(e_out[0], t_out, rtol=spec["rtol"], atol=spec["atol"])

    for k, v in spec["inputs"].items():
        np.save(os.path.join(out_dir, k + ".npy"), v)
    for k, v in zip(ort_out_names, outs):
        np.save(os.path.join(out_dir, k + ".npy"), v)

    graph_inputs = {i.name: i for i in m.graph.input}
    graph_outputs = {o.name: o for o in m.graph.output}
    n_params = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
    meta = collections.OrderedDict(
        name=name,
        description=spec["description"],
        opset=spec["opset"],
        ir_version=m.ir_version,
        file=name + ".onnx",
        file_bytes=os.path.getsize(onnx_path),
        sha256=hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
        num_nodes=len(m.graph.node),
        num_initializers=len(m.graph.initializer),
        num_parameters=n_params,
        inputs=[
            dict(name=k, file=k + ".npy", shape=list(v.shape), dtype=NP_DTYPE_NAMES[v.dtype],
                 graph_dims=value_info_dims(graph_inputs[k]))
            for k, v in spec["inputs"].items()
        ],
        outputs=[
            dict(name=k, file=k + ".npy", shape=list(v.shape), dtype=NP_DTYPE_NAMES[v.dtype],
                 graph_dims=value_info_dims(graph_outputs[k]),
                 min=float(v.min()), max=float(v.max()), mean_abs=float(np.abs(v).mean()))
            for k, v in zip(ort_out_names, outs)
        ],
        rtol=spec["rtol"],
        atol=spec["atol"],
        reference="onnxruntime CPUExecutionProvider",
        torch_vs_ort_max_abs_diff=max_diff,
        op_histogram=dict(sorted(hist.items())),
        versions=dict(torch=torch.__version__, onnx=onnx.__version__,
                      onnxruntime=ort.__version__, numpy=np.__version__),
        seed=seed,
    )
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return meta


def main(argv):
    names = argv[1:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit("unknown model %r; choose from %s" % (n, ", ".join(MODELS)))
    seen = collections.Counter()
    total = 0
    for n in names:
        meta = make_one(n, list(MODELS).index(n))
        seen.update(meta["op_histogram"])
        total += meta["file_bytes"]
        print("%-10s %7d bytes  %4d nodes  params %d  torch-vs-ort %.2e" % (
            n, meta["file_bytes"], meta["num_nodes"], meta["num_parameters"],
            meta["torch_vs_ort_max_abs_diff"]))
        print("    in : " + ", ".join("%s %s %s" % (i["name"], i["dtype"], i["graph_dims"])
                                       for i in meta["inputs"]))
        print("    out: " + ", ".join("%s %s ref %s" % (o["name"], o["graph_dims"], o["shape"])
                                       for o in meta["outputs"]))
        print("    ops: " + ", ".join("%s:%d" % kv for kv in meta["op_histogram"].items()))
    print("total %d bytes" % total)
    if set(names) == set(MODELS):
        wanted = ["Gemm", "MatMul", "Add", "Mul", "Div", "Sqrt", "Pow", "Erf", "Softmax",
                  "LayerNormalization", "Gather", "Reshape", "Transpose", "Shape", "Concat",
                  "Unsqueeze", "Where", "Equal", "Range", "Slice", "Conv", "MaxPool",
                  "AveragePool", "GlobalAveragePool", "BatchNormalization", "Relu",
                  "HardSwish", "HardSigmoid", "Flatten"]
        print("present: " + " ".join(w for w in wanted if w in seen))
        print("absent : " + " ".join(w for w in wanted if w not in seen))
        assert seen["BatchNormalization"] > 0, "BatchNormalization was folded away"


if __name__ == "__main__":
    main(sys.argv)
