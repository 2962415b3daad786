//===- passes.td - inference optimizations on bb ------------*- tablegen -*-===//
#ifndef BB_PASSES_OPTIMIZE_PASSES_TD
#define BB_PASSES_OPTIMIZE_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldBatchNorm : Pass<"bb-fold-batch-norm", "func::FuncOp"> {
  let summary = "Fold inference batch normalization into the preceding convolution";
  let description = [{
    `bb.batch_norm(bb.conv(x, W, b), scale, beta, mean, var)` with constant
    parameters becomes `bb.conv(x, W', b')` with
    `s = scale / sqrt(var + eps)`, `W'[f] = W[f] * s[f]` and
    `b' = (b - mean) * s + beta`, computed at compile time in double
    precision. Only for inference (running statistics); the conv must have no
    other user. The folded weight is a new resource blob named after the old
    one; the old weight disappears when nothing else uses it.
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

#endif // BB_PASSES_OPTIMIZE_PASSES_TD
