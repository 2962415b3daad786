//===- BbOps.td - ops of the bb dialect --------------------*- tablegen -*-===//
//
// Each op's semantics are written down once, here; its constraints are numbered
// (C1, C2, ...) and the verifier's messages and the negative lit tests in
// test/dialect/ name the constraint they check.
//
//===----------------------------------------------------------------------===//
#ifndef BB_OPS_TD
#define BB_OPS_TD

include "dialects/bb/BbDialect.td"
include "dialects/bb/BbInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// bb works on static shapes only (symbolic dims are bound at import).
def Bb_Tensor : StaticShapeTensorOf<[AnyFloat, AnySignlessInteger, AnyUnsignedInteger]>;
def Bb_FloatTensor : StaticShapeTensorOf<[AnyFloat]>;
def Bb_IndexTensor : StaticShapeTensorOf<[I32, I64]>;
def Bb_BoolTensor : StaticShapeTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

class Bb_Op<string mnemonic, list<Trait> traits = []>
    : Op<Bb_Dialect, mnemonic, !listconcat(traits, [Pure, Bb_CostOpInterface])>;

// y = f(x) elementwise; the result has the operand's type.
class Bb_UnaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Bb_Op<mnemonic, !listconcat(traits,
          [Elementwise, SameOperandsAndResultType, InferTypeOpInterface])> {
  let summary = "elementwise " # formula;
  let arguments = (ins Bb_FloatTensor:$input);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

// z = f(x, y) elementwise with NumPy broadcasting of the operands.
class Bb_BroadcastBinaryOp<string mnemonic, string formula,
                           list<Trait> traits = []>
    : Bb_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])> {
  let summary = "elementwise " # formula # " with broadcasting";
  let description = [{
    Computes `}] # formula # [{` elementwise. The operand shapes are broadcast
    against each other (NumPy rules); the result has the broadcast shape and
    the operands' element type.

    Constraints:
    - (C1) `lhs` and `rhs` have the same element type.
    - (C2) their shapes are broadcast-compatible.

    Example:
    ```mlir
    %z = bb.}] # mnemonic # [{ %x, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$lhs, Bb_Tensor:$rhs);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Bb_ConstantOp : Bb_Op<"constant", [ConstantLike, InferTypeOpAdaptor]> {
  let summary = "a tensor constant or a model weight";
  let description = [{
    Produces the tensor `value`. Small constants are dense attributes; model
    weights are `dense_resource` blobs that point at the bytes of the ONNX file
    (or its external data file) without copying them into the IR.

    Constraints:
    - (C1) `value` has a ranked tensor type with a static shape.

    Example:
    ```mlir
    %c = bb.constant dense<[1.0, 2.0]> : tensor<2xf32>
    %w = bb.constant dense_resource<fc1.weight> : tensor<64x32xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
  let builders = [
    // A rank-0 f32 constant (the passes' scalars: seeds, scales, bounds).
    OpBuilder<(ins "float":$scalar), [{
      build($_builder, $_state, DenseElementsAttr::get(
          RankedTensorType::get({}, $_builder.getF32Type()),
          $_builder.getF32FloatAttr(scalar).getValue()));
    }]>
  ];
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
    int64_t getBytesRead() { return 0; }
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

def Bb_NegOp : Bb_UnaryOp<"neg", "negation `-x`"> {
  let description = [{ `y = -x`. Example: `%y = bb.neg %x : tensor<4xf32>` }];
}
def Bb_AbsOp : Bb_UnaryOp<"abs", "absolute value `|x|`"> {
  let description = [{ `y = |x|`. Example: `%y = bb.abs %x : tensor<4xf32>` }];
}
def Bb_SqrtOp : Bb_UnaryOp<"sqrt", "square root"> {
  let description = [{ `y = sqrt(x)` (NaN for negative x). Example: `%y = bb.sqrt %x : tensor<4xf32>` }];
}
def Bb_ExpOp : Bb_UnaryOp<"exp", "exponential"> {
  let description = [{ `y = e^x`. Example: `%y = bb.exp %x : tensor<4xf32>` }];
}
def Bb_LogOp : Bb_UnaryOp<"log", "natural logarithm"> {
  let description = [{ `y = ln(x)`. Example: `%y = bb.log %x : tensor<4xf32>` }];
}
def Bb_ErfOp : Bb_UnaryOp<"erf", "Gauss error function"> {
  let description = [{ `y = erf(x)`. Example: `%y = bb.erf %x : tensor<4xf32>` }];
}
def Bb_TanhOp : Bb_UnaryOp<"tanh", "hyperbolic tangent"> {
  let description = [{ `y = tanh(x)`. Example: `%y = bb.tanh %x : tensor<4xf32>` }];
}
def Bb_SigmoidOp : Bb_UnaryOp<"sigmoid", "logistic sigmoid"> {
  let description = [{ `y = 1 / (1 + e^-x)`. Example: `%y = bb.sigmoid %x : tensor<4xf32>` }];
}
def Bb_ReluOp : Bb_UnaryOp<"relu", "rectified linear unit"> {
  let description = [{ `y = max(x, 0)`. Example: `%y = bb.relu %x : tensor<4xf32>` }];
}
def Bb_HardSwishOp : Bb_UnaryOp<"hard_swish", "hard swish"> {
  let description = [{
    `y = x * max(0, min(1, x / 6 + 1/2))`, as ONNX HardSwish and MobileNetV3.
    Example: `%y = bb.hard_swish %x : tensor<4xf32>`
  }];
}
def Bb_HardSigmoidOp : Bb_UnaryOp<"hard_sigmoid", "hard sigmoid"> {
  let description = [{
    `y = max(0, min(1, alpha * x + beta))`.
    Example: `%y = bb.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<4xf32>`
  }];
  let arguments = (ins Bb_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.2">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.5">:$beta);
}
def Bb_GeluOp : Bb_UnaryOp<"gelu", "Gaussian error linear unit"> {
  let description = [{
    `y = x/2 * (1 + erf(x / sqrt(2)))`; with `approximation = tanh`,
    `y = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`. The importer
    recognizes the erf form that exporters write as five ONNX nodes.
    Example: `%y = bb.gelu %x {approximation = #bb.approximation<tanh>} : tensor<4xf32>`
  }];
  let arguments = (ins Bb_FloatTensor:$input,
      DefaultValuedAttr<Bb_GeluApproximationAttr,
                        "::mlir::bb::GeluApproximation::none">:$approximation);
}

//===----------------------------------------------------------------------===//
// Elementwise binary, comparison, selection, conversion
//===----------------------------------------------------------------------===//

def Bb_AddOp : Bb_BroadcastBinaryOp<"add", "`lhs + rhs`", [Commutative]>;
def Bb_SubOp : Bb_BroadcastBinaryOp<"sub", "`lhs - rhs`">;
def Bb_MulOp : Bb_BroadcastBinaryOp<"mul", "`lhs * rhs`", [Commutative]>;
def Bb_DivOp : Bb_BroadcastBinaryOp<"div", "`lhs / rhs` (integers truncate toward zero)">;
def Bb_PowOp : Bb_BroadcastBinaryOp<"pow", "`lhs ^ rhs`">;

def Bb_CompareOp : Bb_Op<"compare", [InferTypeOpAdaptor]> {
  let summary = "elementwise comparison with broadcasting";
  let description = [{
    Compares `lhs` and `rhs` elementwise under `predicate`; the result is an
    `i1` tensor of the broadcast shape.

    Constraints:
    - (C1) `lhs` and `rhs` have the same element type.
    - (C2) their shapes are broadcast-compatible.

    Example:
    ```mlir
    %m = bb.compare <eq>, %a, %b : tensor<4x4xi64>, tensor<4x4xi64> -> tensor<4x4xi1>
    ```
  }];
  let arguments = (ins Bb_ComparePredicateAttr:$predicate, Bb_Tensor:$lhs,
                       Bb_Tensor:$rhs);
  let results = (outs Bb_BoolTensor:$output);
  let assemblyFormat = "$predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)";
  let hasFolder = 1;
}

def Bb_SelectOp : Bb_Op<"select", [InferTypeOpAdaptor]> {
  let summary = "elementwise choice by a condition, with broadcasting";
  let description = [{
    `output = condition ? on_true : on_false` elementwise (ONNX Where); the three
    operand shapes broadcast together.

    Constraints:
    - (C1) `on_true` and `on_false` have the same element type.
    - (C2) the three shapes are broadcast-compatible.

    Example:
    ```mlir
    %y = bb.select %mask, %x, %ninf : tensor<1x1x8x8xi1>, tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
    ```
  }];
  let arguments = (ins Bb_BoolTensor:$condition, Bb_Tensor:$on_true,
                       Bb_Tensor:$on_false);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$condition `,` $on_true `,` $on_false attr-dict `:` type($condition) `,` type($on_true) `,` type($on_false) `->` type($output)";
  let hasFolder = 1;
}

def Bb_ConvertOp : Bb_Op<"convert", [Elementwise, SameOperandsAndResultShape]> {
  let summary = "elementwise element-type conversion";
  let description = [{
    Converts each element to the result's element type (ONNX Cast): floats
    round to nearest even, float to integer truncates toward zero, to `i1` is
    `x != 0`.

    Example:
    ```mlir
    %y = bb.convert %x : tensor<4xi64> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Bb_MatMulOp : Bb_Op<"matmul", [InferTypeOpAdaptorWithIsCompatible]> {
  let summary = "batched matrix product with broadcasting batch dimensions";
  let description = [{
    `output[b..., m, n] = sum_k lhs[b..., m, k] * rhs[b..., k, n]`, where
    `transpose_lhs` / `transpose_rhs` swap the last two dimensions of that
    operand first. Batch dimensions (all but the last two) broadcast (NumPy
    rules). ONNX Gemm imports as a `bb.matmul` with `transpose_rhs` (Linear
    layers) followed by a `bb.add` of the bias.

    Constraints:
    - (C1) both operands have rank >= 2 and the same element type.
    - (C2) the contracted dimensions are equal.
    - (C3) the batch dimensions are broadcast-compatible.
    - (C4) the result's element type is the operands', or `f32` when they
      are `bf16` or `f16`: the products are summed in f32 either way, and
      an `f32` result keeps that sum unrounded (bb-mixed-precision's
      matrix products; cuBLASLt's bf16 GEMM with an f32 output).
    - (C5) `tf32` needs `f32` operands: they are multiplied at TF32
      precision (each operand rounded to a 10-bit mantissa, to nearest with
      ties away from zero, the products summed in f32: the tensor cores'
      TF32 mode, `bbc --precision=tf32`).

    Example:
    ```mlir
    %y = bb.matmul %x, %w {transpose_rhs} : tensor<8x64xf32>, tensor<32x64xf32> -> tensor<8x32xf32>
    %z = bb.matmul %a, %b : tensor<8x64xbf16>, tensor<64x32xbf16> -> tensor<8x32xf32>
    %t = bb.matmul %x, %v {tf32} : tensor<8x64xf32>, tensor<64x32xf32> -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$lhs, Bb_Tensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs,
                       UnitAttr:$tf32);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getFlops();
    /// The contracted (K) dimension size.
    int64_t getContractionSize();
  }];
}

def Bb_LinearOp : Bb_Op<"linear"> {
  let summary = "matrix product plus a bias along the last dimension (fused)";
  let description = [{
    `output[b..., m, n] = matmul(lhs, rhs)[b..., m, n] + bias[n]`: a
    `bb.matmul` and the `bb.add` of a bias vector after it, as one op, which
    bb-fuse-linear makes on the per-rank program before bufferization, so
    that the GPU runtime can add the bias while the product is written
    (cuBLASLt's bias epilogue; the CPU runtime adds it in place after the
    product, with no buffer for the product alone).
    The sum is the same as the two ops': the bias is added to the product's
    (f32) result. Sharding rules and autodiff never see it.
    A bias of the output's shape is an addend, `output = bias + matmul`,
    which the GEMM sums into (beta = 1; bb-accumulate-gradients makes it to
    add a pipeline stage's weight gradient into its accumulator, in place).

    Constraints:
    - (C1) lhs and rhs are a valid `bb.matmul` (its C1-C5, `tf32`
      included) whose result type is the output's.
    - (C2) bias has the output's element type, and rank 1 with the
      output's last dimension, or the output's shape.

    Example:
    ```mlir
    %y = bb.linear %x, %w, %b {transpose_rhs} : (tensor<8x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$lhs, Bb_Tensor:$rhs, Bb_FloatTensor:$bias,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs,
                       UnitAttr:$tf32);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs `,` $bias attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getFlops();
  }];
}

def Bb_ConvOp : Bb_Op<"conv", [InferTypeOpAdaptor]> {
  let summary = "grouped N-d convolution, channels first";
  let description = [{
    Convolution of `input` [N, C, D1, ...] with `weight` [F, C/group, K1, ...]
    into [N, F, O1, ...] where
    `Oi = floor((Di + pad_begin_i + pad_end_i - dilation_i*(Ki-1) - 1) / stride_i) + 1`,
    plus `bias` [F] when present (ONNX Conv; `group = C` is depthwise).
    `pads` lists all begin pads, then all end pads. With `relu`, the output
    is `max(0, .)` of that (bb-fuse-conv-relu: the kernel applies it to each
    block it has written, while the block is in cache; inference only).

    Constraints:
    - (C1) input and weight have the same rank >= 3.
    - (C2) `strides`, `dilations` have one entry per spatial dimension and
      `pads` two; strides and dilations are positive, pads non-negative.
    - (C3) `group` divides C and F, and `weight` dim 1 is C / group.
    - (C4) `bias`, when present, has shape [F].
    - (C5) every output spatial size is positive.

    Example:
    ```mlir
    %y = bb.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>,
           dilations = array<i64: 1, 1>, group = 1 : i64}
         : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$weight,
                       Optional<Bb_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       UnitAttr:$relu);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    int64_t getFlops();
  }];
}

//===----------------------------------------------------------------------===//
// Pooling and normalization
//===----------------------------------------------------------------------===//

class Bb_PoolOp<string mnemonic, string what> : Bb_Op<mnemonic, [InferTypeOpAdaptor]> {
  let summary = what # " pooling over the spatial dimensions";
  let description = [{
    Slides a `kernel_shape` window with `strides` and `pads` (all begin pads,
    then all end pads) over [N, C, D1, ...] and takes the }] # what # [{ of each
    window. Output sizes as for `bb.conv` (with `ceil_mode`, rounded up, and a
    window that starts in the end padding is dropped).

    Constraints:
    - (C1) the input has rank >= 3.
    - (C2) `kernel_shape` and `strides` have one positive entry per spatial
      dimension and `pads` two non-negative ones; each pad is smaller than
      the kernel.
    - (C3) every output spatial size is positive.

    Example:
    ```mlir
    %y = bb.}] # mnemonic # [{ %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
           pads = array<i64: 1, 1, 1, 1>} : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
    ```
  }];
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let extraClassDeclaration = [{
    int64_t getFlops();
  }];
}

def Bb_MaxPoolOp : Bb_PoolOp<"max_pool", "maximum"> {
  let arguments = (ins Bb_FloatTensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       UnitAttr:$ceil_mode);
}

def Bb_AvgPoolOp : Bb_PoolOp<"avg_pool", "average"> {
  let arguments = (ins Bb_FloatTensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       UnitAttr:$ceil_mode, UnitAttr:$count_include_pad);
}

def Bb_BatchNormOp : Bb_Op<"batch_norm", [InferTypeOpAdaptor]> {
  let summary = "batch normalization with running statistics (inference)";
  let description = [{
    `y = (x - mean[c]) / sqrt(variance[c] + epsilon) * scale[c] + bias[c]` for
    channel c = dimension 1 of `input`. Its gradient (bb-autodiff) treats
    `mean` and `variance` as fixed buffers, as the exported inference form
    has them: gradients flow to `input`, `scale` and `bias` only.

    Constraints:
    - (C1) `input` has rank >= 2.
    - (C2) `scale`, `bias`, `mean`, `variance` have shape [C].

    Example:
    ```mlir
    %y = bb.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
         : (tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$scale,
                       Bb_FloatTensor:$bias, Bb_FloatTensor:$mean,
                       Bb_FloatTensor:$variance,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Bb_LayerNormOp : Bb_Op<"layer_norm", [InferTypeOpAdaptor]> {
  let summary = "layer normalization over the trailing dimensions";
  let description = [{
    Normalizes `input` over dimensions `axis..rank-1` to zero mean and unit
    variance (biased variance, `epsilon` added), then multiplies by `scale`
    and adds `bias` (when present), both of the normalized shape.

    Constraints:
    - (C1) `-rank <= axis < rank`.
    - (C2) `scale` (and `bias`) have the shape of dimensions `axis..rank-1`.

    Example:
    ```mlir
    %y = bb.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f32}
         : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$scale,
                       Optional<Bb_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    int64_t getFlops();
    /// `axis` made non-negative.
    int64_t getNormalizedAxis();
  }];
}

class Bb_SoftmaxBase<string mnemonic, string formula> : Bb_Op<mnemonic,
    [SameOperandsAndResultType, InferTypeOpInterface]> {
  let summary = formula # " along one axis";
  let description = [{
    `}] # formula # [{` along dimension `axis` (negative counts from the end),
    computed with the maximum subtracted first so large inputs do not overflow.

    Constraints:
    - (C1) `-rank <= axis < rank`.

    Example:
    ```mlir
    %p = bb.}] # mnemonic # [{ %x {axis = -1 : i64} : tensor<2x4x8x8xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getFlops();
    /// `axis` made non-negative.
    int64_t getNormalizedAxis();
  }];
}
def Bb_SoftmaxOp : Bb_SoftmaxBase<"softmax", "softmax `exp(x) / sum(exp(x))`">;
def Bb_LogSoftmaxOp : Bb_SoftmaxBase<"log_softmax", "log-softmax `x - log(sum(exp(x)))`">;

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Bb_ReduceOp<string mnemonic, string what> : Bb_Op<mnemonic,
    [InferTypeOpAdaptor]> {
  let summary = what # " over a set of axes";
  let description = [{
    Reduces `input` by }] # what # [{ over `axes` (non-negative, sorted,
    unique); with `keepdims` those dimensions stay with size 1, otherwise they
    are removed.

    Constraints:
    - (C1) `axes` are sorted, unique and in `[0, rank)`.

    Example:
    ```mlir
    %y = bb.}] # mnemonic # [{ %x {axes = array<i64: 2, 3>, keepdims} : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input, DenseI64ArrayAttr:$axes,
                       UnitAttr:$keepdims);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let extraClassDeclaration = [{
    /// One operation per input element.
    int64_t getFlops() { return getInput().getType().getNumElements(); }
  }];
}
def Bb_ReduceSumOp : Bb_ReduceOp<"reduce_sum", "sum">;
def Bb_ReduceMeanOp : Bb_ReduceOp<"reduce_mean", "arithmetic mean">;
def Bb_ReduceMaxOp : Bb_ReduceOp<"reduce_max", "maximum">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Bb_GatherOp : Bb_Op<"gather", [InferTypeOpAdaptor]> {
  let summary = "gather slices along an axis by index (embedding lookup)";
  let description = [{
    `output[i..., j..., k...] = data[i..., indices[j...], k...]` where `data`'s
    dimension `axis` is indexed (ONNX Gather). Negative indices count from the
    end of that dimension; an out-of-range index is a runtime error.

    Constraints:
    - (C1) `0 <= axis < rank(data)`.

    Example:
    ```mlir
    %e = bb.gather %wte, %idx {axis = 0 : i64} : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$data, Bb_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` type($data) `,` type($indices) `->` type($output)";
  let hasFolder = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_ReshapeOp : Bb_Op<"reshape", []> {
  let summary = "reinterpret a tensor with another static shape";
  let description = [{
    Same elements in row-major order, new shape (the result type). ONNX
    Reshape, Flatten, Squeeze and Unsqueeze all import as this op.

    Constraints:
    - (C1) operand and result have the same element type and element count.

    Example:
    ```mlir
    %y = bb.reshape %x : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_TransposeOp : Bb_Op<"transpose", [InferTypeOpAdaptor]> {
  let summary = "permute dimensions";
  let description = [{
    `output` dimension i is `input` dimension `permutation[i]`.

    Constraints:
    - (C1) `permutation` is a permutation of `[0, rank)`.

    Example:
    ```mlir
    %y = bb.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<2x16x4x16xf32> -> tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_ConcatOp : Bb_Op<"concat", [InferTypeOpAdaptor]> {
  let summary = "concatenate tensors along an axis";
  let description = [{
    Joins `inputs` along dimension `axis`.

    Constraints:
    - (C1) at least one input; all have the same rank and element type.
    - (C2) `0 <= axis < rank`.
    - (C3) all dimensions but `axis` agree.

    Example:
    ```mlir
    %y = bb.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Bb_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, results)";
  let hasFolder = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_SliceOp : Bb_Op<"slice", [InferTypeOpAdaptor]> {
  let summary = "strided static slice";
  let description = [{
    Takes, along each dimension d, the indices `starts[d], starts[d] +
    strides[d], ...` up to but excluding `limits[d]` (counting down for a
    negative stride). The importer clamps and normalizes ONNX Slice and Split
    into this form.

    Constraints:
    - (C1) `starts`, `limits`, `strides` have one entry per dimension.
    - (C2) strides are non-zero; for a positive stride
      `0 <= start <= limit <= dim`, for a negative one `-1 <= limit <= start < dim`.

    Example:
    ```mlir
    %y = bb.slice %x {starts = array<i64: 0, 64>, limits = array<i64: 16, 128>, strides = array<i64: 1, 1>}
         : tensor<16x192xf32> -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$limits, DenseI64ArrayAttr:$strides);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_BroadcastToOp : Bb_Op<"broadcast_to", []> {
  let summary = "broadcast a tensor to a larger shape";
  let description = [{
    Materializes NumPy broadcasting of `input` to the result shape (ONNX
    Expand, with the target shape already combined with the input's).

    Constraints:
    - (C1) same element type; the input shape broadcasts to exactly the
      result shape.

    Example:
    ```mlir
    %y = bb.broadcast_to %x : tensor<1x16xi64> -> tensor<2x16xi64>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

def Bb_TriluOp : Bb_Op<"trilu", [SameOperandsAndResultType, InferTypeOpInterface]> {
  let summary = "keep the upper or lower triangle of the last two dimensions";
  let description = [{
    Keeps elements on and above (`upper`) or on and below the `k`-th diagonal of
    each matrix in the last two dimensions and zeroes the rest (ONNX Trilu).

    Constraints:
    - (C1) the input has rank >= 2.

    Example:
    ```mlir
    %y = bb.trilu %x {upper = false, k = 0 : i64} : tensor<8x8xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input, BoolAttr:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// SPMD: what a per-process program needs besides mesh collectives
//===----------------------------------------------------------------------===//

// MLIR's mesh sharding attribute (#mesh.shard<@mesh, [[0], []]>), named here
// without including the mesh dialect's ODS.
def Bb_MeshShardingAttr : Attr<
    CPred<"::llvm::isa<::mlir::mesh::MeshShardingAttr>($_self)">,
    "mesh sharding"> {
  let storageType = "::mlir::mesh::MeshShardingAttr";
  let returnType = "::mlir::mesh::MeshShardingAttr";
  let convertFromStorage = "$_self";
}

def Bb_ShardSliceOp : Bb_Op<"shard_slice", []> {
  let summary = "this process's block of a tensor every process holds whole";
  let description = [{
    In a per-process (SPMD) program: `input` is the same on every process of
    the mesh; the result is this process's block of it under `sharding`. For
    each dimension split over mesh axes `[a, b, ...]`, the block index is the
    process's coordinate along those axes, linearized major to minor, and the
    block size the dimension's size divided by the product of those axes'
    sizes. No communication. The partitioner inserts it where a replicated
    value meets a consumer that needs it split; a constant followed by it is
    a sharded weight, which each process loads as its slice only.

    Constraints:
    - (C1) `sharding` has no partial axes and names a `mesh.mesh`.
    - (C2) the result has the input's rank and, per dimension, its size
      divided by the product of the mesh axes the dimension is split over.

    Example:
    ```mlir
    %w1 = bb.shard_slice %w #mesh.shard<@mesh, [[], [0]]> : tensor<64x128xf32> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input, Bb_MeshShardingAttr:$sharding);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input $sharding attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// A copy: no arithmetic.
    int64_t getFlops() { return 0; }
  }];
}

def Bb_RecomputeBarrierOp : Bb_Op<"recompute_barrier",
    [SameOperandsAndResultType, InferTypeOpInterface]> {
  let summary = "identity that keeps recomputed ops apart from their originals";
  let description = [{
    Returns `input` unchanged. `bb-recompute` routes the activations a block
    reads into its recomputed copy through this op, so that the copy
    computes from values that are, to every later pass, different from the
    ones the original block read (as XLA's `opt-barrier`). Without it, CSE
    in the cleanup pipelines after sharding would see each cloned op equal to
    its original and merge the recomputation away, keeping every activation
    alive from the forward pass again.

    The op has no folder and no canonicalization: nothing looks through it.
    It is pure, so it disappears with its users, and two barriers on the same
    value may merge (harmless: the values are equal, and the ops behind them
    still differ from the originals). Sharding treats it as an elementwise
    op; bufferization lets the result share the operand's buffer (no copy,
    no kernel), and the memory plan keeps that buffer alive through the last
    use of the result, which is what recomputation stores: the block's
    inputs.

    Constraints:
    - (C1) the result has the input's type.

    Example:
    ```mlir
    %h = bb.recompute_barrier %x : tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Bb_Tensor:$input);
  let results = (outs Bb_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let extraClassDeclaration = [{
    /// No arithmetic and no data movement: the result aliases the input.
    int64_t getFlops() { return 0; }
    int64_t getBytesRead() { return 0; }
    int64_t getBytesWritten() { return 0; }
  }];
}

//===----------------------------------------------------------------------===//
// Training: losses and gradient-only ops
//===----------------------------------------------------------------------===//

def Bb_ScatterAddOp : Bb_Op<"scatter_add", []> {
  let summary = "sum slices into a zero tensor by index (the gradient of gather)";
  let description = [{
    `output` (of the result type) starts as zeros; then for every index
    position `j`, `output[i..., indices[j...], k...] += updates[i..., j..., k...]`
    along dimension `axis`. Repeated indices accumulate. Negative indices count
    from the end. This is the vector-Jacobian product of `bb.gather`.

    Constraints:
    - (C1) `0 <= axis < rank(output)`; `updates` and `output` have the same
      element type.
    - (C2) `updates` has shape `output[:axis] ++ indices ++ output[axis+1:]`.

    Example:
    ```mlir
    %g = bb.scatter_add %idx, %dy {axis = 0 : i64} : tensor<2x16xi64>, tensor<2x16x64xf32> -> tensor<256x64xf32>
    ```
  }];
  let arguments = (ins Bb_IndexTensor:$indices, Bb_FloatTensor:$updates,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$indices `,` $updates attr-dict `:` type($indices) `,` type($updates) `->` type($output)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// One addition per update element.
    int64_t getFlops() { return getUpdates().getType().getNumElements(); }
  }];
}

def Bb_CrossEntropyOp : Bb_Op<"cross_entropy", [InferTypeOpAdaptor]> {
  let summary = "mean cross-entropy of logits against class indices";
  let description = [{
    `logits` [..., C] and integer `labels` [...]: the mean over all label
    positions whose label is not `ignore_index` of
    `-log_softmax(logits)[..., label]` (computed max-subtracted). The result is
    a scalar; with no counted position it is 0.

    Constraints:
    - (C1) `labels` has the shape of `logits` without its last dimension.

    Example:
    ```mlir
    %loss = bb.cross_entropy %logits, %labels {ignore_index = -100 : i64} : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$logits, Bb_IndexTensor:$labels,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs Bb_FloatTensor:$loss);
  let assemblyFormat = "$logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->` type($loss)";
  let extraClassDeclaration = [{
    /// Softmax and pick: about 5 operations per logit.
    int64_t getFlops() { return 5 * getLogits().getType().getNumElements(); }
  }];
}

def Bb_CrossEntropyGradOp : Bb_Op<"cross_entropy_grad", [InferTypeOpAdaptor]> {
  let summary = "gradient of bb.cross_entropy with respect to the logits";
  let description = [{
    `(softmax(logits) - onehot(labels)) * grad / count` for counted positions
    and 0 for ignored ones, where `count` is the number of positions whose
    label is not `ignore_index` and `grad` the scalar gradient of the loss.

    Example:
    ```mlir
    %d = bb.cross_entropy_grad %logits, %labels, %g {ignore_index = -100 : i64}
         : (tensor<2x16x256xf32>, tensor<2x16xi64>, tensor<f32>) -> tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$logits, Bb_IndexTensor:$labels,
                       Bb_FloatTensor:$grad,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$logits `,` $labels `,` $grad attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    int64_t getFlops() { return 5 * getLogits().getType().getNumElements(); }
  }];
}

def Bb_LayerNormGradOp : Bb_Op<"layer_norm_grad", [InferTypeOpAdaptor]> {
  let summary = "gradients of bb.layer_norm";
  let description = [{
    Given a bb.layer_norm's `input`, `scale`, `axis` and `epsilon` and the
    gradient `grad` of its output, the gradients of the input, the scale
    and the bias. With `xhat = (x - mean) * rstd` per row of the normalized
    dimensions (`rstd = 1/sqrt(var + epsilon)`, recomputed) and
    `g = grad * scale`:
    `input_grad = rstd * (g - mean(g) - xhat * mean(g * xhat))`,
    `scale_grad = sum over rows of grad * xhat`,
    `bias_grad = sum over rows of grad` (both of the normalized shape).
    One kernel instead of the dozen ops the formula takes.

    Constraints: those of bb.layer_norm; `grad` has the input's type.

    Example:
    ```mlir
    %dx, %dscale, %dbias = bb.layer_norm_grad %x, %g, %dy {axis = -1 : i64, epsilon = 1.0e-05 : f32}
        : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x16x64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$scale,
                       Bb_FloatTensor:$grad,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bb_FloatTensor:$input_grad, Bb_FloatTensor:$scale_grad,
                      Bb_FloatTensor:$bias_grad);
  let assemblyFormat = "$input `,` $scale `,` $grad attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// Statistics again, the two row means and the column sums: about 14
    /// operations per element.
    int64_t getFlops() { return 14 * getInput().getType().getNumElements(); }
    /// `axis` made non-negative.
    int64_t getNormalizedAxis();
  }];
}

def Bb_AttentionOp : Bb_Op<"attention", [InferTypeOpAdaptor,
                                             AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention, softmax over the keys";
  let description = [{
    For every index of the leading (batch) dimensions, which `query`
    [..., T, D], `key` [..., S, D] and `value` [..., S, E] share:
    `output = softmax(scale * query key^T + bias) value` [..., T, E], the
    softmax over the S keys, computed with each row's maximum subtracted.
    The optional f32 `bias` (broadcast to [..., T, S]) is added to the
    scaled scores (an additive mask of 0 and -inf, or position biases).
    Where the optional boolean `mask` (broadcast to [..., T, S]) is true,
    the score is removed from the softmax (as if it were -inf); a query
    whose keys are all removed gets 0. The second result, `logsumexp`
    [..., T], is `log(sum(exp(scores)))` of each query row (-inf for a
    fully removed row): what bb.attention_grad needs to recompute the
    probabilities.

    With `products` (tf32, bf16 or f16; bb-mixed-precision sets it) the
    operands of every matrix product inside (query and key for the scores,
    the probabilities and value for the output) are rounded to that type
    as bb.matmul's reduced-precision forms round them, and the products
    summed in f32; the softmax stays f32.

    The importer's clean-up (bb-fuse-attention) makes it from the exported
    `MatMul(q, k^T) [* or / scalar] [+ bias] [Where(mask, -inf, .)] ->
    Softmax -> MatMul(., v)`; no [..., T, S] tensor is kept for the
    backward pass.

    Constraints:
    - (C1) `query`, `key` and `value` are f32 of rank >= 2 with the same
      leading dimensions; `key`'s last dimension is `query`'s, `value`'s
      second to last is `key`'s.
    - (C2) `mask` and `bias` (f32) broadcast to [..., T, S] (numpy rules,
      no more dimensions than that).
    - (C3) `products`, when present, is tf32, bf16 or f16.

    Example:
    ```mlir
    %o, %lse = bb.attention %q, %k, %v mask %m {scale = 0.125 : f32}
        : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1>
        -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
    %o2, %lse2 = bb.attention %q, %k, %v bias %b {scale = 0.125 : f32}
        : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> bias tensor<1x1x16x16xf32>
        -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$query, Bb_FloatTensor:$key,
                       Bb_FloatTensor:$value, Optional<Bb_BoolTensor>:$mask,
                       Optional<Bb_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       OptionalAttr<TypeAttr>:$products);
  let results = (outs Bb_FloatTensor:$output, Bb_FloatTensor:$logsumexp);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)? (`bias` $bias^)? attr-dict `:`
    type($query) `,` type($key) `,` type($value) (`mask` type($mask)^)?
    (`bias` type($bias)^)? `->` type(results)
  }];
  let extraClassDeclaration = [{
    /// The two products, 2 T S (D + E) per batch index, and about 5
    /// operations per score for the softmax.
    int64_t getFlops();
  }];
}

def Bb_AttentionGradOp : Bb_Op<"attention_grad", [InferTypeOpAdaptor,
                                                  AttrSizedOperandSegments]> {
  let summary = "gradients of bb.attention";
  let description = [{
    Given a bb.attention's operands, its `logsumexp` result and the
    gradient `grad` of its output, the gradients of `query`, `key` and
    `value` (of their types), and with `bias_grad` that of the scores,
    [..., T, S] (the gradient of a `bias` before it is summed over the
    dimensions it broadcasts along). The probabilities are recomputed from
    the scores and `logsumexp`: `P = exp(scale q k^T + bias - logsumexp)`
    (0 where masked), `dV = P^T grad`, `dP = grad V^T`,
    `dB = P (dP - rowsum(P dP))`, `dS = dB scale`, `dQ = dS K`,
    `dK = dS^T Q`.

    `products` rounds the operands of its five products as bb.attention's
    does (the probabilities and `dS` among them).

    Constraints: those of bb.attention; `grad` has the output's type and
    `logsumexp` the second result's.

    Example:
    ```mlir
    %dq, %dk, %dv = bb.attention_grad %q, %k, %v, %lse, %g mask %m {scale = 0.125 : f32}
        : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>,
          tensor<2x4x16xf32>, tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1>
        -> tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$query, Bb_FloatTensor:$key,
                       Bb_FloatTensor:$value,
                       Bb_FloatTensor:$logsumexp, Bb_FloatTensor:$grad,
                       Optional<Bb_BoolTensor>:$mask,
                       Optional<Bb_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       OptionalAttr<TypeAttr>:$products,
                       UnitAttr:$with_bias_grad);
  let results = (outs Bb_FloatTensor:$query_grad, Bb_FloatTensor:$key_grad,
                      Bb_FloatTensor:$value_grad,
                      Optional<Bb_FloatTensor>:$bias_grad);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $logsumexp `,` $grad
    (`mask` $mask^)? (`bias` $bias^)? attr-dict `:` type($query) `,`
    type($key) `,` type($value) `,` type($logsumexp) `,` type($grad)
    (`mask` type($mask)^)? (`bias` type($bias)^)? `->` type(results)
  }];
  let extraClassDeclaration = [{
    /// Five products (the scores again, dV, dP, dQ, dK) and the softmax's.
    int64_t getFlops();
  }];
}

def Bb_ConvInputGradOp : Bb_Op<"conv_input_grad", []> {
  let summary = "gradient of bb.conv with respect to its input (transposed convolution)";
  let description = [{
    Given `grad` [N, F, O1, ...], the gradient of a `bb.conv` result, and that
    convolution's `weight` [F, C/group, K1, ...] and attributes, computes the
    gradient with respect to its input, of the result type [N, C, D1, ...]:
    `output[n, c, d...] = sum over f in c's group and k... with
    d_i = o_i * stride_i - pad_begin_i + k_i * dilation_i of
    grad[n, f, o...] * weight[f, c mod (C/group), k...]`. Input positions
    that no window reads (the tail that the floor of the output size skips)
    get 0. The result type is explicit because several input sizes give the
    same output size.

    Constraints:
    - (C1) `grad`, `weight` and the result have the same rank >= 3 and
      element type.
    - (C2) as `bb.conv` (C2): `strides`, `dilations` have one positive entry
      per spatial dimension and `pads` two non-negative ones.
    - (C3) `group` divides C (result dimension 1) and F (`weight` dimension
      0), and `weight` dimension 1 is C / group.
    - (C4) `grad` has the shape `bb.conv` gives for an input of the result
      type and this weight: [N, F, O1, ...].

    Example:
    ```mlir
    %dx = bb.conv_input_grad %dy, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>,
            dilations = array<i64: 1, 1>, group = 1 : i64}
          : (tensor<1x16x16x16xf32>, tensor<16x3x3x3xf32>) -> tensor<1x3x32x32xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$grad, Bb_FloatTensor:$weight,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$grad `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// As many multiply-adds as the forward convolution.
    int64_t getFlops();
  }];
}

def Bb_ConvWeightGradOp : Bb_Op<"conv_weight_grad", []> {
  let summary = "gradient of bb.conv with respect to its weight";
  let description = [{
    Given the `input` [N, C, D1, ...] of a `bb.conv` and `grad` [N, F, O1,
    ...], the gradient of its result, computes the gradient with respect to
    the weight, of the result type [F, C/group, K1, ...]:
    `output[f, c, k...] = sum over n, o... of grad[n, f, o...] *
    input[n, g(f) * C/group + c, o * stride - pad_begin + k * dilation]`
    (0 where that position lies in the padding), g(f) being filter f's group.
    The bias gradient is a `bb.reduce_sum` of `grad` and needs no op of its
    own.

    Constraints:
    - (C1) `input`, `grad` and the result have the same rank >= 3 and
      element type.
    - (C2) as `bb.conv` (C2): `strides`, `dilations` have one positive entry
      per spatial dimension and `pads` two non-negative ones.
    - (C3) `group` divides C (`input` dimension 1) and F (result dimension
      0), and result dimension 1 is C / group.
    - (C4) `grad` has the shape `bb.conv` gives for this input and a weight
      of the result type: [N, F, O1, ...].

    Example:
    ```mlir
    %dw = bb.conv_weight_grad %x, %dy {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>,
            dilations = array<i64: 1, 1>, group = 1 : i64}
          : (tensor<1x3x32x32xf32>, tensor<1x16x16x16xf32>) -> tensor<16x3x3x3xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$grad,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// As many multiply-adds as the forward convolution.
    int64_t getFlops();
  }];
}

def Bb_MaxPoolGradOp : Bb_Op<"max_pool_grad", [InferTypeOpAdaptor]> {
  let summary = "gradient of bb.max_pool with respect to its input";
  let description = [{
    Given the `input` of a `bb.max_pool` and `grad`, the gradient of its
    result, computes the gradient with respect to the input (the result has
    the input's type): zeros, then each `grad` element is added at the
    position of its window's maximum in `input` (the first one in row-major
    window order on ties; positions in the padding never win; a window that
    covers no input element passes nothing). The attributes are the forward
    op's.

    Constraints:
    - (C1) `input` has rank >= 3; `grad` has its rank and element type.
    - (C2) as `bb.max_pool` (C2): `kernel_shape` and `strides` have one
      positive entry per spatial dimension and `pads` two non-negative ones,
      each smaller than the kernel.
    - (C3) `grad` has the shape `bb.max_pool` gives for `input`.

    Example:
    ```mlir
    %dx = bb.max_pool_grad %x, %dy {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
            pads = array<i64: 1, 1, 1, 1>} : tensor<1x16x32x32xf32>, tensor<1x16x16x16xf32> -> tensor<1x16x32x32xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$input, Bb_FloatTensor:$grad,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       UnitAttr:$ceil_mode);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($input) `,` type($grad) `->` type($output)";
  let extraClassDeclaration = [{
    /// One comparison per window tap, as the forward op.
    int64_t getFlops();
  }];
}

def Bb_AvgPoolGradOp : Bb_Op<"avg_pool_grad", []> {
  let summary = "gradient of bb.avg_pool with respect to its input";
  let description = [{
    Given `grad`, the gradient of a `bb.avg_pool` result, computes the
    gradient with respect to that op's input, of the result type: each
    `grad` element divided by its window's divisor (as `bb.avg_pool`
    counts it: the window's size within the padded input with
    `count_include_pad`, otherwise the number of input elements it covers)
    is added to every input position of the window. The attributes are the
    forward op's; the result type is explicit because several input sizes
    give the same output size.

    Constraints:
    - (C1) the result has rank >= 3; `grad` has its rank and element type.
    - (C2) as `bb.avg_pool` (C2): `kernel_shape` and `strides` have one
      positive entry per spatial dimension and `pads` two non-negative ones,
      each smaller than the kernel.
    - (C3) `grad` has the shape `bb.avg_pool` gives for an input of the
      result type.

    Example:
    ```mlir
    %dx = bb.avg_pool_grad %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
            pads = array<i64: 0, 0, 0, 0>} : tensor<1x40x4x4xf32> -> tensor<1x40x8x8xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$grad, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       UnitAttr:$ceil_mode, UnitAttr:$count_include_pad);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$grad attr-dict `:` type($grad) `->` type($output)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// One addition per window tap, as the forward op.
    int64_t getFlops();
  }];
}

def Bb_SliceGradOp : Bb_Op<"slice_grad", []> {
  let summary = "gradient of bb.slice: scatter into zeros";
  let description = [{
    The transpose of `bb.slice` with the same `starts`, `limits` and
    `strides`: the result (of the result type, the sliced tensor's) is zeros
    except at the positions the slice reads, where it holds `grad`:
    `output[starts + i * strides] = grad[i]` (per dimension, strides of
    either sign). Slices never read a position twice, so nothing
    accumulates.

    Constraints:
    - (C1) `starts`, `limits`, `strides` have one entry per dimension;
      `grad` and the result have the same rank and element type.
    - (C2) as `bb.slice` (C2), against the result's dimensions.
    - (C3) `grad` has the shape `bb.slice` gives for an input of the result
      type.

    Example:
    ```mlir
    %dx = bb.slice_grad %dy {starts = array<i64: 0, 5>, limits = array<i64: 4, -1>, strides = array<i64: 1, -2>}
          : tensor<4x3xf32> -> tensor<4x6xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$grad, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$limits, DenseI64ArrayAttr:$strides);
  let results = (outs Bb_FloatTensor:$output);
  let assemblyFormat = "$grad attr-dict `:` type($grad) `->` type($output)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getFlops() { return 0; }
  }];
}

//===----------------------------------------------------------------------===//
// Training: optimizer updates
//===----------------------------------------------------------------------===//

// Rank-0 f32 tensors: learning rate, step number, gradient scale.
def Bb_F32Scalar : TensorRankOf<[F32], [0]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;

def Bb_SgdUpdateOp : Bb_Op<"sgd_update", [
    AllTypesMatch<["param", "grad", "momentum_buffer", "new_param",
                   "new_momentum_buffer"]>]> {
  let summary = "one SGD step with momentum and weight decay (torch.optim.SGD)";
  let description = [{
    With `g = grad * grad_scale + weight_decay * param`:
    `new_momentum_buffer = momentum * momentum_buffer + g`, and
    `new_param = param - lr * (nesterov ? g + momentum * new_momentum_buffer
    : new_momentum_buffer)`. This is PyTorch's SGD with dampening 0 (its
    first-step buffer `g` equals ours, which starts from zeros). `lr` and
    `grad_scale` (the gradient clipping factor, 1 without clipping, divided
    by the loss scale under loss scaling) are runtime scalars, so a
    learning-rate schedule needs no recompilation. A non-finite `grad_scale`
    skips the step: the results are `param` and `momentum_buffer` unchanged
    (dynamic loss scaling's step whose gradients overflowed).
    Parameters and optimizer state are explicit values: the op returns the
    new ones; bufferization updates them in place.

    Constraints:
    - (C1) `param`, `grad`, `momentum_buffer` and both results have one type.
    - (C2) `lr` and `grad_scale` are rank-0 f32 tensors.

    Example:
    ```mlir
    %p1, %b1 = bb.sgd_update %p, %g, %b, %lr, %scale {momentum = 9.0e-01 : f32, weight_decay = 0.0 : f32} : tensor<64x32xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$param, Bb_FloatTensor:$grad,
                       Bb_FloatTensor:$momentum_buffer, Bb_F32Scalar:$lr,
                       Bb_F32Scalar:$grad_scale,
                       DefaultValuedAttr<F32Attr, "0.0f">:$momentum,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay,
                       UnitAttr:$nesterov);
  let results = (outs Bb_FloatTensor:$new_param,
                      Bb_FloatTensor:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum_buffer `,` $lr `,` $grad_scale attr-dict
    `:` type($param)
  }];
  let extraClassDeclaration = [{
    /// Scale, decay, momentum, step: about 6 operations per element.
    int64_t getFlops() { return 6 * getParam().getType().getNumElements(); }
    /// The parameter and its buffer are updated where they are.
    bool updatesInPlace() { return true; }
  }];
}

def Bb_AdamwUpdateOp : Bb_Op<"adamw_update", [
    AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq", "new_param",
                   "new_exp_avg", "new_exp_avg_sq"]>]> {
  let summary = "one AdamW step (torch.optim.AdamW)";
  let description = [{
    With `g = grad * grad_scale` and `t = step` (1-based):
    `new_exp_avg = beta1 * exp_avg + (1 - beta1) * g`,
    `new_exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g`,
    `new_param = param * (1 - lr * weight_decay) - lr / (1 - beta1^t) *
    new_exp_avg / (sqrt(new_exp_avg_sq) / sqrt(1 - beta2^t) + epsilon)`.
    `lr`, `step` and `grad_scale` (the gradient clipping factor, divided by
    the loss scale under loss scaling) are runtime scalars; the bias
    corrections are computed in double precision, as PyTorch does. A
    non-finite `grad_scale` skips the step: the results are `param`,
    `exp_avg` and `exp_avg_sq` unchanged (bb-train-step's dynamic loss
    scaling passes NaN when the gradients overflowed). Parameters and
    moments are explicit values: the op returns the new ones; bufferization
    updates them in place.

    Constraints:
    - (C1) `param`, `grad`, both moments and the three results have one type.
    - (C2) `lr`, `step` and `grad_scale` are rank-0 f32 tensors.

    Example:
    ```mlir
    %p1, %m1, %v1 = bb.adamw_update %p, %g, %m, %v, %lr, %t, %scale {beta1 = 9.0e-01 : f32, beta2 = 0.999 : f32, epsilon = 1.0e-08 : f32, weight_decay = 0.1 : f32} : tensor<64x32xf32>
    ```
  }];
  let arguments = (ins Bb_FloatTensor:$param, Bb_FloatTensor:$grad,
                       Bb_FloatTensor:$exp_avg, Bb_FloatTensor:$exp_avg_sq,
                       Bb_F32Scalar:$lr, Bb_F32Scalar:$step,
                       Bb_F32Scalar:$grad_scale,
                       DefaultValuedAttr<F32Attr, "0.9f">:$beta1,
                       DefaultValuedAttr<F32Attr, "0.999f">:$beta2,
                       DefaultValuedAttr<F32Attr, "1e-8f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay);
  let results = (outs Bb_FloatTensor:$new_param, Bb_FloatTensor:$new_exp_avg,
                      Bb_FloatTensor:$new_exp_avg_sq);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `,` $lr `,` $step `,`
    $grad_scale attr-dict `:` type($param)
  }];
  let extraClassDeclaration = [{
    /// Scale, two moment updates, decay, sqrt, divide, step: about 12
    /// operations per element.
    int64_t getFlops() { return 12 * getParam().getType().getNumElements(); }
    /// The parameter and both moments are updated where they are.
    bool updatesInPlace() { return true; }
  }];
}

//===----------------------------------------------------------------------===//
// Fused elementwise chains
//===----------------------------------------------------------------------===//

def Bb_FusedElementwiseOp : Bb_Op<"fused_elementwise",
    [IsolatedFromAbove, SingleBlock]> {
  let summary = "a chain of elementwise ops as one kernel: a scalar body at every element";
  let description = [{
    `output[i] = body(inputs[0][i], ..., inputs[n-1][i])` at every index `i`
    of the result, where each input broadcasts to the result's shape (NumPy
    rules: shapes align on the right, size-1 and missing dimensions stretch).
    The body is one block with a scalar argument per input (of the input's
    element type) and `arith` and `math` ops, ended by `bb.yield` of a value
    of the result's element type.

    bb-fuse-elementwise makes these from chains of elementwise bb ops on the
    per-rank program, after sharding: the chain then reads its inputs and
    writes its result once, instead of writing and reading back every
    intermediate tensor. Code generation writes the body as a C++ function
    and instantiates the runtime's fused kernel (bbrt/fused.h) with it, a
    loop on the CPU and a CUDA kernel on GPUs.

    Constraints:
    - (C1) the body has one argument per input, of the input's element type.
    - (C2) every input's shape broadcasts to the result's shape.
    - (C3) the body ends with `bb.yield` of the result's element type.

    Example (`x + b` and its exact GELU, the bias along the last dimension):
    ```mlir
    %y = bb.fused_elementwise %x, %b : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32> {
    ^bb0(%v: f32, %c: f32):
      %s = arith.addf %v, %c : f32
      %k = arith.constant 0.707106769 : f32
      %h = arith.constant 5.000000e-01 : f32
      %one = arith.constant 1.000000e+00 : f32
      %t = arith.mulf %s, %k : f32
      %e = math.erf %t : f32
      %u = arith.addf %e, %one : f32
      %p = arith.mulf %s, %h : f32
      %r = arith.mulf %p, %u : f32
      bb.yield %r : f32
    }
    ```
  }];
  let arguments = (ins Variadic<Bb_Tensor>:$inputs);
  let results = (outs Bb_Tensor:$output);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat =
      "$inputs attr-dict `:` type($inputs) `->` type($output) $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// One operation per body op and result element.
    int64_t getFlops();
  }];
}

def Bb_FusedReduceOp : Bb_Op<"fused_reduce", [IsolatedFromAbove, SingleBlock]> {
  let summary = "a chain of elementwise ops summed over some axes, as one kernel";
  let description = [{
    The sum (or with `mean`, the mean) over `axes` of `body(inputs...)`
    evaluated at every index of the iteration shape, the broadcast of the
    inputs' shapes (NumPy rules); with `keepdims` the reduced dimensions
    stay with size 1. The body is as in `bb.fused_elementwise`. Sums are
    accumulated in double, as `bb.reduce_sum` does.

    bb-fuse-elementwise makes these from a `bb.reduce_sum` or
    `bb.reduce_mean` of a chain of elementwise ops (the sum of squares of
    a gradient, a layer norm's row statistics): the chain's values are
    summed as they are computed, never stored. The runtimes sum over
    leading axes, trailing axes or all of them (after merging dimensions),
    which are the only `axes` the pass makes.

    Constraints:
    - (C1) the body has one argument per input, of the input's element type.
    - (C2) the inputs' shapes are broadcast-compatible.
    - (C3) the body ends with `bb.yield` of the result's element type.
    - (C4) `axes` are sorted, unique and in `[0, rank)` of the iteration
      shape, and the result is the iteration shape reduced over them.

    Example (a row's sum of squares):
    ```mlir
    %s = bb.fused_reduce %x {axes = array<i64: 1>, keepdims} : tensor<8x64xf32> -> tensor<8x1xf32> {
    ^bb0(%v: f32):
      %q = arith.mulf %v, %v : f32
      bb.yield %q : f32
    }
    ```
  }];
  let arguments = (ins Variadic<Bb_Tensor>:$inputs, DenseI64ArrayAttr:$axes,
                       UnitAttr:$keepdims, UnitAttr:$mean);
  let results = (outs Bb_Tensor:$output);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat =
      "$inputs attr-dict `:` type($inputs) `->` type($output) $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The broadcast of the inputs' shapes, over which the body runs
    /// (failure when they do not broadcast: C2).
    FailureOr<SmallVector<int64_t>> getIterationShape();
    /// One operation per body op and iteration element, plus the sum.
    int64_t getFlops();
  }];
}

def Bb_YieldOp : Op<Bb_Dialect, "yield", [Pure, Terminator, ReturnLike]> {
  let summary = "the value of a bb.fused_elementwise body at one element";
  let description = [{
    Ends the body of `bb.fused_elementwise` and `bb.fused_reduce` (and of
    their bufferized forms in bbrt) with the element's value.
    Example: `bb.yield %r : f32`
  }];
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // BB_OPS_TD
