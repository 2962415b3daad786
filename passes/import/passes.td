//===- passes.td - passes that clean up freshly imported bb IR -*- tablegen -*-===//
#ifndef BB_PASSES_IMPORT_PASSES_TD
#define BB_PASSES_IMPORT_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseGelu : Pass<"bb-fuse-gelu", "func::FuncOp"> {
  let summary = "Recognize exported GELU subgraphs and replace them with bb.gelu";
  let description = [{
    Exporters write GELU as elementwise arithmetic: the exact form
    `x * 0.5 * (1 + erf(x / sqrt(2)))` (PyTorch's `nn.GELU()` through ONNX
    opsets below 20) and the tanh form
    `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))` (GPT-2's
    `gelu_new`). This pass matches both, in any operand order of the
    commutative ops, with splat constants within 1e-4 of the expected values,
    and replaces them with one `bb.gelu`, so later passes see one op to cost,
    shard, differentiate and fuse.
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def FuseAttention : Pass<"bb-fuse-attention", "func::FuncOp"> {
  let summary = "Recognize exported scaled dot-product attention and replace it with bb.attention";
  let description = [{
    Matches `MatMul(q, k^T)`, optionally multiplied or divided by a splat
    constant (the scale), optionally plus an f32 tensor that broadcasts to
    the scores (an additive mask or position bias; before or after the
    mask), optionally masked by `Where(mask, fill, .)` or
    `Where(mask, ., fill)` with a fill of -1e9 or below (-inf, float32's
    lowest), then `Softmax` over the last axis and `MatMul(., v)`, where
    every intermediate has that one reader, q, k and v are f32 of one rank
    with the same leading dimensions, and the mask broadcasts to the
    scores. The chain becomes one `bb.attention` (a mask that keeps where
    it is true is turned into one that removes, by inverting the
    comparison that made it). Runs once, after the first import clean-up,
    before differentiation (so the backward pass is `bb.attention_grad`,
    which stores no [..., T, S] tensor); `bbc --fuse-attention=false`
    turns it off.
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def CostReport : Pass<"bb-cost-report", "func::FuncOp"> {
  let summary = "Print FLOPs and bytes moved per op kind, from the cost interface";
  let description = [{
    Sums `bb::CostOpInterface` over each function and prints one table per
    function: op name, count, FLOPs, bytes read, bytes written, and totals.
    The IR is not changed. The output goes to the pass's output stream (stderr
    under bb-opt).
  }];
}

#endif // BB_PASSES_IMPORT_PASSES_TD
