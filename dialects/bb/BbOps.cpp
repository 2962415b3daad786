//===- BbOps.cpp - shape inference, verifiers and costs of bb ops ----------===//
//
// Messages name the op's numbered constraint (see BbOps.td) so a user can look
// it up in docs/dialect/BbDialect.md.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::bb;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static std::string shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "[]";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleave(shape, os, "x");
  os << "]";
  return s;
}

static RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

FailureOr<SmallVector<int64_t>> mlir::bb::broadcastShapes(ArrayRef<int64_t> a,
                                                          ArrayRef<int64_t> b) {
  SmallVector<int64_t> result;
  if (!OpTrait::util::getBroadcastedShape(a, b, result))
    return failure();
  return result;
}

int64_t mlir::bb::windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                   int64_t padBegin, int64_t padEnd,
                                   int64_t dilation, bool ceilMode) {
  int64_t span = in + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // With ceil_mode a window must start inside the input or the begin padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

/// Normalizes `axis` against `rank`; failure when out of range.
static FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return failure();
  return axis < 0 ? axis + rank : axis;
}

static LogicalResult inferBroadcast(std::optional<Location> loc,
                                    StringRef opName, ArrayRef<Value> operands,
                                    Type elementType,
                                    SmallVectorImpl<Type> &inferred) {
  SmallVector<int64_t> shape;
  for (Value v : operands) {
    auto t = rankedType(v);
    auto joined = broadcastShapes(shape, t.getShape());
    if (failed(joined))
      return emitOptionalError(loc, opName, ": (C2) operand shapes ",
                               shapeStr(shape), " and ", shapeStr(t.getShape()),
                               " are not broadcast-compatible");
    shape = *joined;
  }
  inferred.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getValue().getType());
  return success();
}

LogicalResult ConstantOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getValue().getType());
  if (!type || !type.hasStaticShape())
    return emitOpError("(C1) value must have a statically shaped tensor type");
  return success();
}

//===----------------------------------------------------------------------===//
// Broadcasting elementwise ops
//===----------------------------------------------------------------------===//

#define BB_BROADCAST_BINARY_INFER(OP)                                          \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    Type lhsElt = getElementTypeOrSelf(adaptor.getLhs().getType());            \
    Type rhsElt = getElementTypeOrSelf(adaptor.getRhs().getType());            \
    if (lhsElt != rhsElt)                                                      \
      return emitOptionalError(loc, OP::getOperationName(),                    \
                               ": (C1) operand element types differ: ",        \
                               lhsElt, " vs ", rhsElt);                        \
    return inferBroadcast(loc, OP::getOperationName(),                         \
                          {adaptor.getLhs(), adaptor.getRhs()}, lhsElt,        \
                          inferred);                                           \
  }
BB_BROADCAST_BINARY_INFER(AddOp)
BB_BROADCAST_BINARY_INFER(SubOp)
BB_BROADCAST_BINARY_INFER(MulOp)
BB_BROADCAST_BINARY_INFER(DivOp)
BB_BROADCAST_BINARY_INFER(PowOp)
#undef BB_BROADCAST_BINARY_INFER

LogicalResult CompareOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  Type lhsElt = getElementTypeOrSelf(adaptor.getLhs().getType());
  Type rhsElt = getElementTypeOrSelf(adaptor.getRhs().getType());
  if (lhsElt != rhsElt)
    return emitOptionalError(loc, getOperationName(),
                             ": (C1) operand element types differ: ", lhsElt,
                             " vs ", rhsElt);
  return inferBroadcast(loc, getOperationName(),
                        {adaptor.getLhs(), adaptor.getRhs()},
                        IntegerType::get(context, 1), inferred);
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Type t = getElementTypeOrSelf(adaptor.getOnTrue().getType());
  Type f = getElementTypeOrSelf(adaptor.getOnFalse().getType());
  if (t != f)
    return emitOptionalError(loc, getOperationName(),
                             ": (C1) branch element types differ: ", t, " vs ",
                             f);
  return inferBroadcast(
      loc, getOperationName(),
      {adaptor.getCondition(), adaptor.getOnTrue(), adaptor.getOnFalse()}, t,
      inferred);
}

//===----------------------------------------------------------------------===//
// MatMulOp
//===----------------------------------------------------------------------===//

/// The type of a matrix product of `lhsValue` and `rhsValue` (C1-C3 of
/// bb.matmul; `opName` for the errors), for bb.matmul and bb.linear.
static LogicalResult inferProduct(std::optional<Location> loc, StringRef opName,
                                  Value lhsValue, Value rhsValue, bool ta,
                                  bool tb, SmallVectorImpl<Type> &inferred) {
  auto lhs = rankedType(lhsValue);
  auto rhs = rankedType(rhsValue);
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOptionalError(loc, opName,
                             ": (C1) operands must have rank >= 2, got ",
                             shapeStr(lhs.getShape()), " and ",
                             shapeStr(rhs.getShape()));
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, opName, ": (C1) operand element types differ");
  int64_t lr = lhs.getRank(), rr = rhs.getRank();
  int64_t m = lhs.getDimSize(ta ? lr - 1 : lr - 2);
  int64_t k1 = lhs.getDimSize(ta ? lr - 2 : lr - 1);
  int64_t k2 = rhs.getDimSize(tb ? rr - 1 : rr - 2);
  int64_t n = rhs.getDimSize(tb ? rr - 2 : rr - 1);
  if (k1 != k2)
    return emitOptionalError(loc, opName,
                             ": (C2) contracted dimensions differ: ", k1,
                             " vs ", k2, " (shapes ", shapeStr(lhs.getShape()),
                             " and ", shapeStr(rhs.getShape()), ")");
  auto batch = broadcastShapes(lhs.getShape().drop_back(2),
                               rhs.getShape().drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, opName,
                             ": (C3) batch dimensions are not "
                             "broadcast-compatible");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  inferred.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferProduct(loc, getOperationName(), adaptor.getLhs(),
                      adaptor.getRhs(), adaptor.getTransposeLhs(),
                      adaptor.getTransposeRhs(), inferred);
}

bool MatMulOp::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != 1 || actual.size() != 1)
    return false;
  if (inferred[0] == actual[0])
    return true;
  // (C4) 16-bit float operands may give an f32 result.
  auto want = dyn_cast<RankedTensorType>(inferred[0]);
  auto got = dyn_cast<RankedTensorType>(actual[0]);
  return want && got && want.getShape() == got.getShape() &&
         (want.getElementType().isBF16() || want.getElementType().isF16()) &&
         got.getElementType().isF32();
}

/// (C5) TF32 products take f32 operands.
static LogicalResult checkTf32(Operation *op, bool tf32, Value lhs) {
  if (tf32 && !cast<RankedTensorType>(lhs.getType()).getElementType().isF32())
    return op->emitOpError("(C5) tf32 needs f32 operands, not ")
           << lhs.getType();
  return success();
}

LogicalResult MatMulOp::verify() {
  return checkTf32(*this, getTf32(), getLhs());
}

int64_t MatMulOp::getContractionSize() {
  auto lhs = rankedType(getLhs());
  return lhs.getDimSize(getTransposeLhs() ? lhs.getRank() - 2
                                          : lhs.getRank() - 1);
}

int64_t MatMulOp::getFlops() {
  return 2 * rankedType(getOutput()).getNumElements() * getContractionSize();
}

LogicalResult LinearOp::verify() {
  SmallVector<Type, 1> product;
  if (failed(inferProduct(getLoc(), getOperationName(), getLhs(), getRhs(),
                          getTransposeLhs(), getTransposeRhs(), product)))
    return failure();
  if (!MatMulOp::isCompatibleReturnTypes(product, {getType()}))
    return emitOpError("(C1) the product is ")
           << product[0] << ", the output " << getType();
  auto bias = cast<RankedTensorType>(getBias().getType());
  auto out = cast<RankedTensorType>(getType());
  const bool addend = bias.getShape() == out.getShape();
  if (bias.getElementType() != out.getElementType() ||
      (!addend && (bias.getRank() != 1 ||
                   bias.getDimSize(0) != out.getDimSize(out.getRank() - 1))))
    return emitOpError("(C2) bias ")
           << bias << " does not fit the output " << out;
  return checkTf32(*this, getTf32(), getLhs());
}

int64_t LinearOp::getFlops() {
  auto out = rankedType(getOutput());
  auto lhs = rankedType(getLhs());
  int64_t k = lhs.getDimSize(getTransposeLhs() ? lhs.getRank() - 2 : lhs.getRank() - 1);
  return 2 * out.getNumElements() * k + out.getNumElements();
}

//===----------------------------------------------------------------------===//
// ConvOp and pooling
//===----------------------------------------------------------------------===//

/// Checks window attributes and computes spatial output sizes (C2, C3/C5).
static LogicalResult
inferWindow(std::optional<Location> loc, StringRef opName,
            ArrayRef<int64_t> inShape, ArrayRef<int64_t> kernel,
            ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
            ArrayRef<int64_t> dilations, bool ceilMode, StringRef sizeRule,
            SmallVectorImpl<int64_t> &outSpatial) {
  size_t n = inShape.size() - 2;
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n ||
      dilations.size() != n)
    return emitOptionalError(loc, opName,
                             ": (C2) window attributes must have one entry "
                             "per spatial dimension (",
                             n, ") and pads two");
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] <= 0 || dilations[i] <= 0 || kernel[i] <= 0 ||
        pads[i] < 0 || pads[n + i] < 0)
      return emitOptionalError(loc, opName,
                               ": (C2) strides, dilations and kernel sizes "
                               "must be positive and pads non-negative");
    int64_t o = windowOutputSize(inShape[2 + i], kernel[i], strides[i],
                                 pads[i], pads[n + i], dilations[i], ceilMode);
    if (o <= 0)
      return emitOptionalError(loc, opName, ": ", sizeRule,
                               " output spatial dimension ", i,
                               " would be empty (input ", shapeStr(inShape),
                               ")");
    outSpatial.push_back(o);
  }
  return success();
}

/// The result shape of a bb.conv of `in` with `w`: (C1) ranks, (C3)
/// groups, then the window (C2, and `emptyRule` for an empty output). The
/// bias (C4) is checked in between when given.
static LogicalResult inferConvShape(std::optional<Location> loc,
                                    StringRef opName, ArrayRef<int64_t> in,
                                    ArrayRef<int64_t> w,
                                    std::optional<ArrayRef<int64_t>> bias,
                                    int64_t group, ArrayRef<int64_t> strides,
                                    ArrayRef<int64_t> pads,
                                    ArrayRef<int64_t> dilations,
                                    StringRef emptyRule,
                                    SmallVectorImpl<int64_t> &shape) {
  if (in.size() < 3 || in.size() != w.size())
    return emitOptionalError(loc, opName, ": (C1) input ", shapeStr(in),
                             " and weight ", shapeStr(w),
                             " must have the same rank >= 3");
  int64_t c = in[1], f = w[0];
  if (group <= 0 || c % group || f % group || w[1] != c / group)
    return emitOptionalError(loc, opName, ": (C3) group ", group,
                             " does not fit ", c, " input channels, ", f,
                             " filters and weight ", shapeStr(w));
  if (bias && (bias->size() != 1 || (*bias)[0] != f))
    return emitOptionalError(loc, opName, ": (C4) bias shape ",
                             shapeStr(*bias), " is not [", f, "]");
  shape.assign({in[0], f});
  return inferWindow(loc, opName, in, w.drop_front(2), strides, pads,
                     dilations, /*ceilMode=*/false, emptyRule, shape);
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  std::optional<ArrayRef<int64_t>> bias;
  if (Value b = adaptor.getBias())
    bias = rankedType(b).getShape();
  SmallVector<int64_t> shape;
  if (failed(inferConvShape(loc, getOperationName(), in.getShape(),
                            rankedType(adaptor.getWeight()).getShape(), bias,
                            adaptor.getGroup(), adaptor.getStrides(),
                            adaptor.getPads(), adaptor.getDilations(), "(C5)",
                            shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

int64_t ConvOp::getFlops() {
  auto w = rankedType(getWeight());
  int64_t perOutput = 1;
  for (int64_t d : w.getShape().drop_front(1))
    perOutput *= d;
  return 2 * rankedType(getOutput()).getNumElements() * perOutput;
}

/// The result shape of a pooling op over `in` (C1, C2, C3).
static LogicalResult inferPoolShape(std::optional<Location> loc,
                                    StringRef opName, ArrayRef<int64_t> in,
                                    ArrayRef<int64_t> kernel,
                                    ArrayRef<int64_t> strides,
                                    ArrayRef<int64_t> pads, bool ceilMode,
                                    SmallVectorImpl<int64_t> &shape) {
  if (in.size() < 3)
    return emitOptionalError(loc, opName, ": (C1) input ", shapeStr(in),
                             " must have rank >= 3");
  SmallVector<int64_t> ones(in.size() - 2, 1);
  shape.assign({in[0], in[1]});
  size_t n = kernel.size();
  if (pads.size() == 2 * n)
    for (size_t i = 0; i < n; ++i)
      if (pads[i] >= kernel[i] || pads[n + i] >= kernel[i])
        return emitOptionalError(loc, opName,
                                 ": (C2) pads must be smaller than the kernel");
  return inferWindow(loc, opName, in, kernel, strides, pads, ones, ceilMode,
                     "(C3)", shape);
}

template <typename PoolAdaptor>
static LogicalResult inferPool(std::optional<Location> loc, StringRef opName,
                               PoolAdaptor adaptor,
                               SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  SmallVector<int64_t> shape;
  if (failed(inferPoolShape(loc, opName, in.getShape(),
                            adaptor.getKernelShape(), adaptor.getStrides(),
                            adaptor.getPads(), adaptor.getCeilMode(), shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, getOperationName(), adaptor, inferred);
}

static int64_t poolFlops(Value output, ArrayRef<int64_t> kernel) {
  int64_t window = 1;
  for (int64_t k : kernel)
    window *= k;
  return rankedType(output).getNumElements() * window;
}
int64_t MaxPoolOp::getFlops() { return poolFlops(getOutput(), getKernelShape()); }
int64_t AvgPoolOp::getFlops() { return poolFlops(getOutput(), getKernelShape()); }

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  if (in.getRank() < 2)
    return emitOptionalError(loc, getOperationName(),
                             ": (C1) input must have rank >= 2");
  int64_t c = in.getDimSize(1);
  for (Value v : {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(),
                  adaptor.getVariance()}) {
    auto t = rankedType(v);
    if (t.getRank() != 1 || t.getDimSize(0) != c)
      return emitOptionalError(loc, getOperationName(),
                               ": (C2) per-channel operand shape ",
                               shapeStr(t.getShape()), " is not [", c, "]");
  }
  inferred.push_back(in);
  return success();
}

/// C1 and C2 of bb.layer_norm (and bb.layer_norm_grad).
static LogicalResult checkLayerNorm(std::optional<Location> loc,
                                    StringRef opName, Value input, int64_t axis,
                                    ValueRange scaleAndBias) {
  auto in = rankedType(input);
  auto normalizedAxis = normalizeAxis(axis, in.getRank());
  if (failed(normalizedAxis))
    return emitOptionalError(loc, opName, ": (C1) axis ", axis,
                             " is out of range for rank ", in.getRank());
  ArrayRef<int64_t> normalized = in.getShape().drop_front(*normalizedAxis);
  for (Value v : scaleAndBias) {
    if (!v)
      continue;
    auto t = rankedType(v);
    if (t.getShape() != normalized)
      return emitOptionalError(loc, opName, ": (C2) scale/bias shape ",
                               shapeStr(t.getShape()),
                               " is not the normalized shape ",
                               shapeStr(normalized));
  }
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  if (failed(checkLayerNorm(loc, getOperationName(), adaptor.getInput(),
                            adaptor.getAxis(),
                            {adaptor.getScale(), adaptor.getBias()})))
    return failure();
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult LayerNormGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  if (failed(checkLayerNorm(loc, getOperationName(), adaptor.getInput(),
                            adaptor.getAxis(), {adaptor.getScale()})))
    return failure();
  if (adaptor.getGrad().getType() != adaptor.getInput().getType())
    return emitOptionalError(loc, getOperationName(), ": grad ",
                             adaptor.getGrad().getType(),
                             " must have the input's type ",
                             adaptor.getInput().getType());
  inferred.append({adaptor.getInput().getType(), adaptor.getScale().getType(),
                   adaptor.getScale().getType()});
  return success();
}

int64_t LayerNormGradOp::getNormalizedAxis() {
  return *normalizeAxis(getAxis(), rankedType(getInput()).getRank());
}

int64_t LayerNormOp::getNormalizedAxis() {
  return *normalizeAxis(getAxis(), rankedType(getInput()).getRank());
}

// mean, variance, normalize, scale, shift: about 8 operations per element.
int64_t LayerNormOp::getFlops() {
  return 8 * rankedType(getOutput()).getNumElements();
}

#define BB_SOFTMAX_METHODS(OP)                                                 \
  LogicalResult OP::verify() {                                                 \
    if (failed(normalizeAxis(getAxis(), getInput().getType().getRank())))      \
      return emitOpError("(C1) axis ")                                         \
             << static_cast<int64_t>(getAxis())                                \
             << " is out of range for rank "                                   \
             << getInput().getType().getRank();                                \
    return success();                                                          \
  }                                                                            \
  int64_t OP::getNormalizedAxis() {                                            \
    return *normalizeAxis(getAxis(), getInput().getType().getRank());          \
  }                                                                            \
  /* max, subtract, exp, sum, divide */                                        \
  int64_t OP::getFlops() {                                                     \
    return 5 * getOutput().getType().getNumElements();                         \
  }
BB_SOFTMAX_METHODS(SoftmaxOp)
BB_SOFTMAX_METHODS(LogSoftmaxOp)
#undef BB_SOFTMAX_METHODS

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename ReduceAdaptor>
static LogicalResult inferReduce(std::optional<Location> loc, StringRef opName,
                                 ReduceAdaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= in.getRank() || (i && axes[i] <= axes[i - 1]))
      return emitOptionalError(loc, opName,
                               ": (C1) axes must be sorted, unique and in "
                               "[0, ",
                               in.getRank(), ")");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(in.getDimSize(d));
    else if (adaptor.getKeepdims())
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

#define BB_REDUCE_INFER(OP)                                                    \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferReduce(loc, getOperationName(), adaptor, inferred);            \
  }
BB_REDUCE_INFER(ReduceSumOp)
BB_REDUCE_INFER(ReduceMeanOp)
BB_REDUCE_INFER(ReduceMaxOp)
#undef BB_REDUCE_INFER

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto data = rankedType(adaptor.getData());
  auto indices = rankedType(adaptor.getIndices());
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (axis < 0 || axis >= data.getRank())
    return emitOptionalError(loc, getOperationName(), ": (C1) axis ", axis,
                             " is out of range for rank ", data.getRank());
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getOutput().getType();
  if (in.getElementType() != out.getElementType() ||
      in.getNumElements() != out.getNumElements())
    return emitOpError("(C1) cannot reshape ")
           << in << " to " << out
           << ": element type and element count must be kept";
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  SmallVector<bool> seen(in.getRank(), false);
  bool valid = static_cast<int64_t>(perm.size()) == in.getRank();
  for (int64_t p : perm) {
    if (!valid || p < 0 || p >= in.getRank() || seen[p]) {
      valid = false;
      break;
    }
    seen[p] = true;
  }
  if (!valid)
    return emitOptionalError(loc, getOperationName(), ": (C1) permutation ",
                             shapeStr(perm), " is not a permutation of [0, ",
                             in.getRank(), ")");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in.getDimSize(p));
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, getOperationName(),
                             ": (C1) needs at least one input");
  auto first = rankedType(inputs.front());
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (axis < 0 || axis >= first.getRank())
    return emitOptionalError(loc, getOperationName(), ": (C2) axis ", axis,
                             " is out of range for rank ", first.getRank());
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : inputs) {
    auto t = rankedType(v);
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return emitOptionalError(loc, getOperationName(),
                               ": (C1) inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, getOperationName(), ": (C3) input ",
                                 shapeStr(t.getShape()), " does not match ",
                                 shapeStr(first.getShape()),
                                 " outside axis ", axis);
    shape[axis] += t.getDimSize(axis);
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

/// The result shape of a bb.slice of `in` (C1, C2).
static LogicalResult inferSliceShape(std::optional<Location> loc,
                                     StringRef opName, ArrayRef<int64_t> in,
                                     ArrayRef<int64_t> starts,
                                     ArrayRef<int64_t> limits,
                                     ArrayRef<int64_t> strides,
                                     SmallVectorImpl<int64_t> &shape) {
  size_t rank = in.size();
  if (starts.size() != rank || limits.size() != rank || strides.size() != rank)
    return emitOptionalError(loc, opName, ": (C1) starts, limits and strides need ",
                             rank, " entries");
  shape.clear();
  for (size_t d = 0; d < rank; ++d) {
    int64_t s = starts[d], l = limits[d], st = strides[d], n = in[d];
    bool ok = st > 0 ? (0 <= s && s <= l && l <= n)
                     : (st < 0 && -1 <= l && l <= s && s < n);
    if (!ok)
      return emitOptionalError(loc, opName, ": (C2) dimension ", d,
                               " of size ", n, " cannot be sliced from ", s,
                               " to ", l, " by ", st);
    shape.push_back(st > 0 ? (l - s + st - 1) / st : (s - l - st - 1) / -st);
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  SmallVector<int64_t> shape;
  if (failed(inferSliceShape(loc, getOperationName(), in.getShape(),
                             adaptor.getStarts(), adaptor.getLimits(),
                             adaptor.getStrides(), shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult BroadcastToOp::verify() {
  auto in = getInput().getType(), out = getOutput().getType();
  auto joined = broadcastShapes(in.getShape(), out.getShape());
  if (in.getElementType() != out.getElementType() || failed(joined) ||
      ArrayRef<int64_t>(*joined) != out.getShape())
    return emitOpError("(C1) ") << in << " does not broadcast to " << out;
  return success();
}

/// C1 and C3 of the fused ops: one body argument per input of its element
/// type, a bb.yield of `element`.
static LogicalResult verifyFusedBody(Operation *op, ValueRange inputs,
                                     Block &body, Type element) {
  if (body.getNumArguments() != inputs.size())
    return op->emitOpError("(C1) the body has ")
           << body.getNumArguments() << " arguments for " << inputs.size()
           << " inputs";
  for (auto [i, input] : llvm::enumerate(inputs)) {
    auto t = cast<RankedTensorType>(input.getType());
    if (body.getArgument(i).getType() != t.getElementType())
      return op->emitOpError("(C1) body argument ")
             << i << " has type " << body.getArgument(i).getType()
             << ", input " << i << " has elements of " << t.getElementType();
  }
  auto yield = body.empty() ? YieldOp() : dyn_cast<YieldOp>(body.back());
  if (!yield || yield.getValue().getType() != element)
    return op->emitOpError("(C3) the body must end with bb.yield of ")
           << element;
  return success();
}

LogicalResult FusedElementwiseOp::verify() {
  auto out = cast<RankedTensorType>(getOutput().getType());
  if (failed(verifyFusedBody(*this, getInputs(), getBody().front(),
                             out.getElementType())))
    return failure();
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    auto t = cast<RankedTensorType>(input.getType());
    auto joined = broadcastShapes(t.getShape(), out.getShape());
    if (failed(joined) || ArrayRef<int64_t>(*joined) != out.getShape())
      return emitOpError("(C2) input ")
             << i << " of type " << t << " does not broadcast to " << out;
  }
  return success();
}

FailureOr<SmallVector<int64_t>> FusedReduceOp::getIterationShape() {
  SmallVector<int64_t> shape;
  for (Value input : getInputs()) {
    auto joined = broadcastShapes(shape, rankedType(input).getShape());
    if (failed(joined))
      return failure();
    shape = *joined;
  }
  return shape;
}

LogicalResult FusedReduceOp::verify() {
  auto out = cast<RankedTensorType>(getOutput().getType());
  if (failed(verifyFusedBody(*this, getInputs(), getBody().front(),
                             out.getElementType())))
    return failure();
  FailureOr<SmallVector<int64_t>> iteration = getIterationShape();
  if (failed(iteration)) {
    std::string shapes;
    for (Value input : getInputs())
      shapes += (shapes.empty() ? "" : ", ") +
                shapeStr(rankedType(input).getShape());
    return emitOpError("(C2) input shapes ")
           << shapes << " are not broadcast-compatible";
  }
  ArrayRef<int64_t> shape = *iteration;
  ArrayRef<int64_t> axes = getAxes();
  SmallVector<int64_t> want;
  for (int64_t d = 0, k = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool reduced = k < static_cast<int64_t>(axes.size()) && axes[k] == d;
    if (reduced)
      ++k;
    if (!reduced || getKeepdims())
      want.push_back(reduced ? 1 : shape[d]);
  }
  bool sorted = llvm::all_of(axes, [&](int64_t a) {
    return a >= 0 && a < static_cast<int64_t>(shape.size());
  });
  for (size_t i = 1; i < axes.size(); ++i)
    sorted = sorted && axes[i - 1] < axes[i];
  if (!sorted || ArrayRef<int64_t>(want) != out.getShape())
    return emitOpError("(C4) reducing the iteration shape ")
           << shapeStr(shape) << " over axes [" << axes
           << "] does not give " << out;
  return success();
}

int64_t FusedReduceOp::getFlops() {
  int64_t ops = 1, n = 1;
  for (Operation &op : getBody().front().without_terminator())
    ops += !isa<arith::ConstantOp>(op);
  for (int64_t d : *getIterationShape())
    n *= d;
  return ops * n;
}

int64_t FusedElementwiseOp::getFlops() {
  int64_t ops = 0;
  for (Operation &op : getBody().front().without_terminator())
    ops += !isa<arith::ConstantOp>(op);
  return ops * cast<RankedTensorType>(getOutput().getType()).getNumElements();
}

LogicalResult TriluOp::verify() {
  if (getInput().getType().getRank() < 2)
    return emitOpError("(C1) input must have rank >= 2");
  return success();
}

//===----------------------------------------------------------------------===//
// Training ops
//===----------------------------------------------------------------------===//

LogicalResult ShardSliceOp::verify() {
  mesh::MeshShardingAttr sharding = getSharding();
  if (!sharding.getPartialAxes().empty())
    return emitOpError("(C1) a shard slice has no partial axes");
  auto meshOp = SymbolTable::lookupNearestSymbolFrom<mesh::MeshOp>(
      *this, sharding.getMesh());
  if (!meshOp)
    return emitOpError("(C1) no mesh.mesh named ") << sharding.getMesh();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getOutput().getType().getShape();
  ArrayRef<int64_t> meshShape = meshOp.getShape();
  if (in.size() != out.size() || sharding.getSplitAxes().size() > in.size())
    return emitOpError("(C2) rank mismatch");
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t parts = 1;
    if (d < sharding.getSplitAxes().size())
      for (int16_t a : sharding.getSplitAxes()[d].asArrayRef()) {
        if (a < 0 || a >= static_cast<int64_t>(meshShape.size()))
          return emitOpError("(C1) mesh axis ") << a << " out of range";
        parts *= meshShape[a];
      }
    if (in[d] % parts != 0 || out[d] != in[d] / parts)
      return emitOpError("(C2) dimension ")
             << d << ": " << in[d] << " split in " << parts << " parts is not "
             << out[d];
  }
  return success();
}

LogicalResult ScatterAddOp::verify() {
  auto out = getOutput().getType();
  auto upd = getUpdates().getType();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= out.getRank() ||
      upd.getElementType() != out.getElementType())
    return emitOpError("(C1) axis ")
           << axis << " out of range for rank " << out.getRank()
           << ", or element types differ";
  SmallVector<int64_t> expected(out.getShape().take_front(axis));
  llvm::append_range(expected, getIndices().getType().getShape());
  llvm::append_range(expected, out.getShape().drop_front(axis + 1));
  if (ArrayRef<int64_t>(expected) != upd.getShape())
    return emitOpError("(C2) updates shape ")
           << shapeStr(upd.getShape()) << " is not " << shapeStr(expected);
  return success();
}

static LogicalResult checkLabels(std::optional<Location> loc, StringRef opName,
                                 Value logits, Value labels) {
  auto l = rankedType(logits), t = rankedType(labels);
  if (l.getRank() < 1 || l.getShape().drop_back() != t.getShape())
    return emitOptionalError(loc, opName, ": (C1) labels shape ",
                             shapeStr(t.getShape()),
                             " is not the logits shape ",
                             shapeStr(l.getShape()),
                             " without its last dimension");
  return success();
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &inferred) {
  if (failed(checkLabels(loc, getOperationName(), adaptor.getLogits(),
                         adaptor.getLabels())))
    return failure();
  inferred.push_back(RankedTensorType::get(
      {}, rankedType(adaptor.getLogits()).getElementType()));
  return success();
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  if (failed(checkLabels(loc, getOperationName(), adaptor.getLogits(),
                         adaptor.getLabels())))
    return failure();
  if (rankedType(adaptor.getGrad()).getRank() != 0)
    return emitOptionalError(loc, getOperationName(),
                             ": the loss gradient must be a scalar");
  inferred.push_back(adaptor.getLogits().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// C1-C3 of bb.attention (and bb.attention_grad): the output type
/// [..., T, E], the logsumexp type [..., T] and the scores' [..., T, S].
static LogicalResult inferAttention(std::optional<Location> loc,
                                    StringRef opName, Value query, Value key,
                                    Value value, Value mask, Value bias,
                                    TypeAttr products, RankedTensorType &output,
                                    RankedTensorType &logsumexp,
                                    RankedTensorType &scoresType) {
  auto q = rankedType(query), k = rankedType(key), v = rankedType(value);
  auto fail = [&](const Twine &msg) {
    return emitOptionalError(loc, opName, ": ", msg);
  };
  if (products && !isa<FloatTF32Type, BFloat16Type, Float16Type>(products.getValue()))
    return fail("products must be tf32, bf16 or f16 (C3)");
  for (RankedTensorType t : {q, k, v})
    if (!t.getElementType().isF32())
      return fail("query, key and value must be f32 (C1)");
  int64_t rank = q.getRank();
  if (rank < 2 || k.getRank() != rank || v.getRank() != rank)
    return fail("query " + shapeStr(q.getShape()) + ", key " +
                shapeStr(k.getShape()) + " and value " +
                shapeStr(v.getShape()) + " need one rank >= 2 (C1)");
  ArrayRef<int64_t> qs = q.getShape(), ks = k.getShape(), vs = v.getShape();
  if (qs.drop_back(2) != ks.drop_back(2) || qs.drop_back(2) != vs.drop_back(2) ||
      ks.back() != qs.back() || vs[rank - 2] != ks[rank - 2])
    return fail("query " + shapeStr(qs) + ", key " + shapeStr(ks) +
                " and value " + shapeStr(vs) +
                " are not [..., T, D], [..., S, D] and [..., S, E] (C1)");
  SmallVector<int64_t> scores(qs.drop_back());
  scores.push_back(ks[rank - 2]);
  for (auto [operand, what] : {std::pair(mask, "mask"), std::pair(bias, "bias")}) {
    if (!operand)
      continue;
    auto t = rankedType(operand);
    if (bias == operand && !t.getElementType().isF32())
      return fail("bias must be f32 (C2)");
    ArrayRef<int64_t> ms = t.getShape();
    auto joined = broadcastShapes(scores, ms);
    if (static_cast<int64_t>(ms.size()) > rank || failed(joined) ||
        ArrayRef<int64_t>(*joined) != ArrayRef<int64_t>(scores))
      return fail(Twine(what) + " " + shapeStr(ms) +
                  " does not broadcast to the scores " + shapeStr(scores) +
                  " (C2)");
  }
  SmallVector<int64_t> out(qs.drop_back());
  out.push_back(vs.back());
  output = RankedTensorType::get(out, q.getElementType());
  logsumexp = RankedTensorType::get(qs.drop_back(), q.getElementType());
  scoresType = RankedTensorType::get(scores, q.getElementType());
  return success();
}

static int64_t attentionProducts(Value query, Value key, Value value) {
  auto q = rankedType(query);
  int64_t S = rankedType(key).getShape().drop_back().back();
  int64_t E = rankedType(value).getShape().back();
  int64_t rows = q.getNumElements() / q.getShape().back(); // batch x T
  return 2 * rows * S * (q.getShape().back() + E);
}

static int64_t attentionScores(Value query, Value key) {
  auto q = rankedType(query);
  return q.getNumElements() / q.getShape().back() *
         rankedType(key).getShape().drop_back().back();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  RankedTensorType out, lse, scores;
  if (failed(inferAttention(loc, getOperationName(), adaptor.getQuery(),
                            adaptor.getKey(), adaptor.getValue(),
                            adaptor.getMask(), adaptor.getBias(),
                            adaptor.getProductsAttr(), out, lse, scores)))
    return failure();
  inferred.append({out, lse});
  return success();
}

int64_t AttentionOp::getFlops() {
  return attentionProducts(getQuery(), getKey(), getValue()) +
         5 * attentionScores(getQuery(), getKey());
}

LogicalResult AttentionGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  RankedTensorType out, lse, scores;
  if (failed(inferAttention(loc, getOperationName(), adaptor.getQuery(),
                            adaptor.getKey(), adaptor.getValue(),
                            adaptor.getMask(), adaptor.getBias(),
                            adaptor.getProductsAttr(), out, lse, scores)))
    return failure();
  if (adaptor.getGrad().getType() != out || adaptor.getLogsumexp().getType() != lse)
    return emitOptionalError(loc, getOperationName(), ": grad must be ", out,
                             " and logsumexp ", lse);
  inferred.append({adaptor.getQuery().getType(), adaptor.getKey().getType(),
                   adaptor.getValue().getType()});
  if (adaptor.getWithBiasGrad()) // the scores' gradient
    inferred.push_back(scores);
  return success();
}

int64_t AttentionGradOp::getFlops() {
  // Scores, dP and dV are products over D, E and T: 5/2 of the forward's.
  return attentionProducts(getQuery(), getKey(), getValue()) * 5 / 2 +
         8 * attentionScores(getQuery(), getKey());
}

//===----------------------------------------------------------------------===//
// Gradient ops of conv, pooling and slice
//===----------------------------------------------------------------------===//

/// (C1) of the gradient ops: `a`, `b` and the result have one rank (at least
/// `minRank`) and one element type.
static LogicalResult checkSameRankAndType(Operation *op, StringRef what,
                                          Value a, Value b, int64_t minRank) {
  auto ta = rankedType(a), tb = rankedType(b),
       tr = rankedType(op->getResult(0));
  if (ta.getRank() < minRank || ta.getRank() != tb.getRank() ||
      ta.getRank() != tr.getRank() ||
      ta.getElementType() != tb.getElementType() ||
      ta.getElementType() != tr.getElementType())
    return emitOptionalError(op->getLoc(), op->getName().getStringRef(),
                             ": (C1) ", what, " ", shapeStr(ta.getShape()), ", ",
                             shapeStr(tb.getShape()), " and result ",
                             shapeStr(tr.getShape()),
                             " must have the same rank >= ", minRank,
                             " and element type");
  return success();
}

/// The last constraint of the gradient ops: `grad` has the forward op's
/// result shape `want`.
static LogicalResult checkGradShape(Operation *op, StringRef rule, Value grad,
                                    ArrayRef<int64_t> want, StringRef forward,
                                    ArrayRef<int64_t> forwardInput) {
  ArrayRef<int64_t> got = rankedType(grad).getShape();
  if (got != want)
    return emitOptionalError(op->getLoc(), op->getName().getStringRef(), ": ",
                             rule, " grad shape ", shapeStr(got), " is not ",
                             shapeStr(want), ", the result of ", forward,
                             " for input ", shapeStr(forwardInput));
  return success();
}

LogicalResult ConvInputGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSameRankAndType(op, "grad, weight", getGrad(), getWeight(), 3)))
    return failure();
  ArrayRef<int64_t> in = getOutput().getType().getShape();
  SmallVector<int64_t> shape;
  if (failed(inferConvShape(getLoc(), getOperationName(), in,
                            getWeight().getType().getShape(), std::nullopt,
                            getGroup(),
                            getStrides(), getPads(), getDilations(), "(C4)",
                            shape)))
    return failure();
  return checkGradShape(op, "(C4)", getGrad(), shape, "bb.conv", in);
}

int64_t ConvInputGradOp::getFlops() {
  auto w = rankedType(getWeight());
  int64_t perOutput = 1;
  for (int64_t d : w.getShape().drop_front(1))
    perOutput *= d;
  return 2 * rankedType(getGrad()).getNumElements() * perOutput;
}

LogicalResult ConvWeightGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSameRankAndType(op, "input, grad", getInput(), getGrad(), 3)))
    return failure();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  SmallVector<int64_t> shape;
  if (failed(inferConvShape(getLoc(), getOperationName(), in,
                            getOutput().getType().getShape(), std::nullopt,
                            getGroup(),
                            getStrides(), getPads(), getDilations(), "(C4)",
                            shape)))
    return failure();
  return checkGradShape(op, "(C4)", getGrad(), shape, "bb.conv", in);
}

int64_t ConvWeightGradOp::getFlops() {
  auto w = rankedType(getOutput());
  int64_t perOutput = 1;
  for (int64_t d : w.getShape().drop_front(1))
    perOutput *= d;
  return 2 * rankedType(getGrad()).getNumElements() * perOutput;
}

LogicalResult MaxPoolGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  auto in = rankedType(adaptor.getInput());
  auto grad = rankedType(adaptor.getGrad());
  if (in.getRank() < 3 || grad.getRank() != in.getRank() ||
      grad.getElementType() != in.getElementType())
    return emitOptionalError(loc, getOperationName(), ": (C1) input ",
                             shapeStr(in.getShape()), " and grad ",
                             shapeStr(grad.getShape()),
                             " must have the same rank >= 3 and element type");
  SmallVector<int64_t> shape;
  if (failed(inferPoolShape(loc, getOperationName(), in.getShape(),
                            adaptor.getKernelShape(), adaptor.getStrides(),
                            adaptor.getPads(), adaptor.getCeilMode(), shape)))
    return failure();
  if (ArrayRef<int64_t>(shape) != grad.getShape())
    return emitOptionalError(loc, getOperationName(), ": (C3) grad shape ",
                             shapeStr(grad.getShape()), " is not ",
                             shapeStr(shape), ", the result of bb.max_pool for "
                             "input ", shapeStr(in.getShape()));
  inferred.push_back(in);
  return success();
}

int64_t MaxPoolGradOp::getFlops() {
  return poolFlops(getGrad(), getKernelShape());
}

LogicalResult AvgPoolGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSameRankAndType(op, "grad", getGrad(), getGrad(), 3)))
    return failure();
  ArrayRef<int64_t> in = getOutput().getType().getShape();
  SmallVector<int64_t> shape;
  if (failed(inferPoolShape(getLoc(), getOperationName(), in, getKernelShape(),
                            getStrides(), getPads(), getCeilMode(), shape)))
    return failure();
  return checkGradShape(op, "(C3)", getGrad(), shape, "bb.avg_pool", in);
}

int64_t AvgPoolGradOp::getFlops() {
  return poolFlops(getGrad(), getKernelShape());
}

LogicalResult SliceGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSameRankAndType(op, "grad", getGrad(), getGrad(), 0)))
    return failure();
  ArrayRef<int64_t> in = getOutput().getType().getShape();
  SmallVector<int64_t> shape;
  if (failed(inferSliceShape(getLoc(), getOperationName(), in, getStarts(),
                             getLimits(), getStrides(), shape)))
    return failure();
  return checkGradShape(op, "(C3)", getGrad(), shape, "bb.slice", in);
}

//===----------------------------------------------------------------------===//
// Canonicalization patterns
//===----------------------------------------------------------------------===//

namespace {
/// reshape(reshape(x)) -> reshape(x)
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<ReshapeOp>();
    if (!producer)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(),
                                           producer.getInput());
    return success();
  }
};

/// transpose(transpose(x, p), q) -> transpose(x, p o q)
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<TransposeOp>();
    if (!producer)
      return failure();
    ArrayRef<int64_t> inner = producer.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t p : op.getPermutation())
      composed.push_back(inner[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, producer.getInput(),
                                             composed);
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<FoldReshapeChain>(context);
}

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeTransposes>(context);
}

#define GET_OP_CLASSES
#include "dialects/bb/BbOps.cpp.inc"
