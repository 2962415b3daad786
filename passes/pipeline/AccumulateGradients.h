//===- AccumulateGradients.h - which gradients a product sums ---*- C++ -*-===//
//
// bb-accumulate-gradients has a pipeline stage's backward add each
// gradient into its accumulator, through the product that computes it
// where there is one (bb.linear with the accumulator as its addend, the
// GEMM's beta = 1). The cost model asks which gradients those are when it
// prices the accumulation, on the program before bb-fuse-batch-sum.
//
//===----------------------------------------------------------------------===//
#ifndef BB_PASSES_PIPELINE_ACCUMULATEGRADIENTS_H
#define BB_PASSES_PIPELINE_ACCUMULATEGRADIENTS_H

#include "dialects/bb/BbOps.h"

namespace mlir::bb {

/// The f32 or f64 product whose result gradient `g` is, directly or through
/// reshapes nothing else uses (g's own users aside), or null.
MatMulOp gradientProduct(Value g);

/// Whether bb-accumulate-gradients has a product sum `g` into its
/// accumulator: gradientProduct, or a batch sum of a product that
/// bb-fuse-batch-sum makes one product (the form autodiff gives a weight
/// gradient of batched activations), through the same reshapes.
bool summedByProduct(Value g);

/// Whether the backward adds gradient `g` into its accumulator in its
/// product's GEMM rather than in an add, as the cost model prices it:
/// summedByProduct, with no collective between the product and the
/// accumulator, which holds where the gradient stays partial sums
/// (`partialSums`) or its stage is one device (`oneDevice`).
bool accumulatedInProduct(Value g, bool partialSums, bool oneDevice);

} // namespace mlir::bb

#endif // BB_PASSES_PIPELINE_ACCUMULATEGRADIENTS_H
