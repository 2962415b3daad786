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

def MixedPrecision : Pass<"bb-mixed-precision", "func::FuncOp"> {
  let summary = "Matrix products at reduced precision (bf16, f16 or tf32 operands), summed in f32";
  let description = [{
    Each `bb.matmul` of f32 operands becomes a `bb.matmul` of their `bf16`
    copies (`bb.convert`, rounded to nearest even) with an f32 result: the
    products of bf16 values are exact in f32 and summed in f32, so only the
    operands lose precision (8 bits of mantissa instead of 24). Everything
    else stays f32: elementwise ops, normalization, softmax, the loss, and
    in training the parameters (the master weights), the gradients and the
    optimizer state. Run after bb-train-step, every matrix product of the
    step is converted, the backward pass's too; CSE then shares one bf16
    copy of a tensor among its products.

    A constant operand (an inference weight) gets its bf16 copy at compile
    time instead: a dense value converted in place, a resource blob copied
    into a bf16 blob named `NAME.bf16`, which the weights file then holds
    instead of the f32 one (half the bytes, and no conversion per call).
    Without the values (planning on shapes) the conversion stays an op.

    With `dtype=f16` the copies are IEEE half (`f16`, rounded to nearest
    even, NAME.f16 for weights): 11 bits of mantissa but only 5 of
    exponent, so values above 65504 become infinite and those below 2^-24
    vanish. Training in f16 therefore scales the loss (bb-train-step's
    `loss-scale`): the backward pass's products then read gradients large
    enough not to vanish, and a step whose gradients overflowed is skipped.

    `bb.attention` and `bb.attention_grad` keep f32 operands and get
    `products` of the type instead: they round their products' operands
    themselves, the probabilities they make inside included.

    This is where a GPU's tensor cores come in (cuBLASLt's bf16 GEMM with
    an f32 output, about 16x the f32 rate on an H100); the CPU runtime
    widens the bf16 operands and multiplies in f32, which gives the same
    results up to the order of the sums.

    Example:
    ```mlir
    %y = bb.matmul %x, %w : tensor<8x64xf32>, tensor<64x32xf32> -> tensor<8x32xf32>
    ```
    becomes
    ```mlir
    %xb = bb.convert %x : tensor<8x64xf32> -> tensor<8x64xbf16>
    %wb = bb.convert %w : tensor<64x32xf32> -> tensor<64x32xbf16>
    %y = bb.matmul %xb, %wb : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xf32>
    ```

    With `dtype=tf32` the f32 products instead get `tf32` (bb.matmul C5):
    the operands stay f32 tensors, and the product rounds them to TF32's
    10-bit mantissa as it reads them (cuBLASLt's
    `CUBLAS_COMPUTE_32F_FAST_TF32` on the GPU, 8x the f32 rate on an A100;
    the CPU runtime rounds copies and multiplies in f32). Nothing is
    converted and no weight changes; the weights file stays f32.
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", "\"bf16\"",
           "The products' precision: bf16 or f16 (operands converted), or "
           "tf32 (f32 operands rounded in the product)">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def FuseConvRelu : Pass<"bb-fuse-conv-relu", "func::FuncOp"> {
  let summary = "A convolution and the ReLU applied to it, as one bb.conv {relu}";
  let description = [{
    `bb.relu(bb.conv(...))` becomes `bb.conv(...) {relu}` when the
    convolution has no other user: the kernel applies `max(0, .)` to each
    block of its output as it finishes it, instead of a separate pass over
    the whole output (ONNX Runtime fuses the same). The result is the same
    to the bit. Inference only (bb-optimize-inference, after batch norm
    folding, so that conv, batch norm, ReLU fuse into one kernel); it runs
    on the per-rank program, where a convolution whose partial sums are
    reduced across ranks is followed by that reduction, not the ReLU, and
    keeps it apart.
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def FuseLinear : Pass<"bb-fuse-linear", "func::FuncOp"> {
  let summary = "A matrix product and the bias added to it, as one bb.linear";
  let description = [{
    `bb.add(bb.matmul(a, b), bias)` (either operand order) becomes
    `bb.linear(a, b, bias)` when the product has no other user, the bias is
    a vector along the product's last dimension of the product's element
    type, and the sum has the product's type. The CUDA runtime then adds
    the bias as the product is written (cuBLASLt's bias epilogue); the CPU
    runtime adds it in place after the product. The result is the same to
    the bit: the bias is added to the finished product.

    It runs on the per-rank program just before bufferization (bbc does
    this for every executable), so the sharding passes never see
    `bb.linear`; a product whose partial sums are reduced across ranks
    before the bias add (row-parallel layers) keeps its add, since the
    reduction sits between them.
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def FuseBatchSum : Pass<"bb-fuse-batch-sum", "func::FuncOp"> {
  let summary = "A batched product summed over its batch, as one product";
  let description = [{
    `bb.reduce_sum(bb.matmul(l, r) {transpose_lhs})` over every batch axis
    becomes one product of the operands with their batch stacked into the
    contraction: for `l : [b..., k, m]` and `r : [b..., k, n]` (equal batch
    dimensions, no broadcasting, `r` not transposed),
    `sum_b l_b^T r_b = L^T R` with `L = reshape(l) : [B*k, m]` and
    `R = reshape(r) : [B*k, n]`, which are views of the same bytes. The
    product must have no other user; a `keepdims` sum gets its shape back
    through a reshape.

    Reverse-mode autodiff writes every weight gradient of a batched
    activation as such a sum (the gradient of `x @ W` over a batch of
    sequences). The rewrite drops the batched product's result (B times the
    weight's size: 50 MB for a 384x8192 LM head at batch 4) and the pass
    that sums it, and gives the GEMM one long contraction instead of B
    short ones. The sums are ordered differently, so the result may differ
    in the last bits.

    It runs on the per-rank program just before bufferization, as
    bb-fuse-linear does, so the sharding passes never see the merged form.

    Example:
    ```mlir
    %p = bb.matmul %x, %dy {transpose_lhs} : tensor<4x256x384xf32>, tensor<4x256x1536xf32> -> tensor<4x384x1536xf32>
    %dw = bb.reduce_sum %p {axes = array<i64: 0>} : tensor<4x384x1536xf32> -> tensor<384x1536xf32>
    ```
    becomes
    ```mlir
    %x2 = bb.reshape %x : tensor<4x256x384xf32> -> tensor<1024x384xf32>
    %dy2 = bb.reshape %dy : tensor<4x256x1536xf32> -> tensor<1024x1536xf32>
    %dw = bb.matmul %x2, %dy2 {transpose_lhs} : tensor<1024x384xf32>, tensor<1024x1536xf32> -> tensor<384x1536xf32>
    ```
  }];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def FuseElementwise : Pass<"bb-fuse-elementwise", "func::FuncOp"> {
  let summary = "Chains of elementwise ops, and sums of them, as one fused op each";
  let description = [{
    Groups f32 elementwise ops (add, sub, mul, div, pow, neg, abs, sqrt,
    exp, log, erf, tanh, sigmoid, relu) into `bb.fused_elementwise` ops whose
    scalar bodies (`arith` and `math` ops) compute the whole chain at one
    element. A group grows from its last op backwards through the producers
    of its operands; a producer joins when it has the last op's shape (a
    value that broadcasts into the chain is an input, never recomputed per
    element) and every user of its result is in the group (the
    intermediate tensor then disappears). Values from outside the group
    are the fused op's inputs and may broadcast; splat f32 constants become
    `arith.constant` in the body. Groups of one op stay as they are.

    A `bb.reduce_sum` or `bb.reduce_mean` over leading or trailing axes (or
    all) of such a chain, whose value nothing else reads, becomes one
    `bb.fused_reduce` with the chain as its body (even a chain of one op:
    a gradient's sum of squares, a layer norm's row statistics), so the
    chain's values are summed as they are computed and never stored.

    The chain then costs one pass over memory instead of one per op: on a
    GPU that is the elementwise part's whole cost, on the CPU the
    intermediates' stores and loads. The body computes what the ops
    compute, with the runtimes' own functions (bbrt/fused.h), in float.

    It runs on the per-rank program just before bufferization, after
    bb-fuse-linear (the bias adds are in the products then), so the
    sharding passes never see fused ops.

    Example:
    ```mlir
    %0 = bb.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
    %1 = bb.mul %0, %r : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
    %2 = bb.mul %1, %g : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
    ```
    becomes
    ```mlir
    %2 = bb.fused_elementwise %x, %m, %r, %g : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32> -> tensor<4x8xf32> {
    ^bb0(%a: f32, %b: f32, %c: f32, %d: f32):
      %s = arith.subf %a, %b : f32
      %t = arith.mulf %s, %c : f32
      %u = arith.mulf %t, %d : f32
      bb.yield %u : f32
    }
    ```
  }];
  let dependentDialects = ["::mlir::bb::BbDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // BB_PASSES_OPTIMIZE_PASSES_TD
