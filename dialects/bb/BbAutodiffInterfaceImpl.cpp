//===- BbAutodiffInterfaceImpl.cpp - vector-Jacobian products of bb ops ----===//
//
// Each model builds, from the gradients of an op's results, the gradients of
// its operands in bb ops. Broadcasting binary ops sum the gradient back over
// the broadcast dimensions ("unbroadcast"). Convolution, pooling and slices
// have gradient ops of their own (bb.conv_input_grad, bb.conv_weight_grad,
// bb.max_pool_grad, bb.avg_pool_grad, bb.slice_grad); everything else is
// composed of forward ops. Ops without a model (compare, the loss gradient,
// the optimizer updates and the gradient ops themselves) are reported by the
// autodiff pass when a gradient must flow through them.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bb;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A scalar constant of `v`'s element type (broadcasts in binary ops).
Value scalar(OpBuilder &b, Location loc, Value like, double x) {
  Type elt = typeOf(like).getElementType();
  auto type = RankedTensorType::get({}, elt);
  return b.create<ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getFloatAttr(elt, x)));
}

/// Sums `g` over the dimensions that broadcasting added to reach its shape
/// from `target`'s.
Value unbroadcast(OpBuilder &b, Location loc, Value g, RankedTensorType target) {
  auto gt = typeOf(g);
  if (gt.getShape() == target.getShape())
    return g;
  int64_t offset = gt.getRank() - target.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < gt.getRank(); ++d)
    if (d < offset || (target.getDimSize(d - offset) == 1 && gt.getDimSize(d) != 1))
      axes.push_back(d);
  Value sum = g;
  if (!axes.empty())
    sum = b.create<ReduceSumOp>(loc, g, axes, /*keepdims=*/true);
  if (typeOf(sum).getShape() == target.getShape())
    return sum;
  return b.create<ReshapeOp>(
      loc, RankedTensorType::get(target.getShape(), gt.getElementType()), sum);
}

/// `v` (of a reduced shape) broadcast back to `type` after re-inserting the
/// reduced `axes` as size-1 dimensions.
Value expandTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes,
               RankedTensorType type) {
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < type.getRank(); ++d)
    kept.push_back(llvm::is_contained(axes, d) ? 1 : type.getDimSize(d));
  auto keptType = RankedTensorType::get(kept, type.getElementType());
  if (typeOf(v) != keptType)
    v = b.create<ReshapeOp>(loc, keptType, v);
  if (keptType == type)
    return v;
  return b.create<BroadcastToOp>(loc, type, v);
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return b.create<MulOp>(loc, x, y);
}

/// The gradient of a unary op: g * f'(x, y).
template <typename Fn>
LogicalResult unaryVjp(Operation *op, OpBuilder &b, ArrayRef<Value> gs,
                       SmallVectorImpl<Value> &out, Fn derivative) {
  Location loc = op->getLoc();
  Value x = op->getOperand(0), y = op->getResult(0);
  out.push_back(mul(b, loc, gs[0], derivative(loc, x, y)));
  return success();
}

/// Matmul: C = op(A) op(B) with op = optional transpose of the last two dims.
LogicalResult matmulVjp(MatMulOp op, OpBuilder &b, Value g,
                        ArrayRef<bool> needed, SmallVectorImpl<Value> &out) {
  Location loc = op.getLoc();
  Value a = op.getLhs(), w = op.getRhs();
  bool ta = op.getTransposeLhs(), tb = op.getTransposeRhs();
  auto mm = [&](Value x, Value y, bool tx, bool ty) -> Value {
    return b.create<MatMulOp>(loc, x, y, tx, ty);
  };
  Value ga, gb;
  if (needed[0]) {
    // dA = dC op(B)^T, transposed back if A was used transposed.
    ga = ta ? mm(w, g, tb, true) : mm(g, w, false, !tb);
    ga = unbroadcast(b, loc, ga, typeOf(a));
  }
  if (needed[1]) {
    gb = tb ? mm(g, a, true, ta) : mm(a, g, !ta, false);
    gb = unbroadcast(b, loc, gb, typeOf(w));
  }
  out.push_back(ga);
  out.push_back(gb);
  return success();
}

/// Softmax along `axis`: dx = y * (g - sum(g * y)).
Value softmaxVjp(OpBuilder &b, Location loc, Value y, Value g, int64_t axis) {
  Value gy = mul(b, loc, g, y);
  Value s = b.create<ReduceSumOp>(loc, gy, ArrayRef<int64_t>{axis}, true);
  return mul(b, loc, y, b.create<SubOp>(loc, g, s));
}

/// Layer norm over dims [axis, rank): one bb.layer_norm_grad, which
/// recomputes the statistics (the bias gradient is one of its results).
LogicalResult layerNormVjp(LayerNormOp op, OpBuilder &b, Value g,
                           ArrayRef<bool> needed, SmallVectorImpl<Value> &out) {
  auto grad = b.create<LayerNormGradOp>(op.getLoc(), op.getInput(),
                                        op.getScale(), g, op.getAxisAttr(),
                                        op.getEpsilonAttr());
  out.push_back(needed[0] ? grad.getInputGrad() : Value());
  out.push_back(needed.size() > 1 && needed[1] ? grad.getScaleGrad() : Value());
  if (op.getBias())
    out.push_back(needed.size() > 2 && needed[2] ? grad.getBiasGrad() : Value());
  return success();
}

/// Batch norm with fixed statistics (the inference form ONNX exports):
/// y = (x - mean) * rstd * scale + bias per channel, rstd = 1/sqrt(var + eps).
/// The statistics are buffers, not trained: they get no gradient.
LogicalResult batchNormVjp(BatchNormOp op, OpBuilder &b, Value g,
                           ArrayRef<bool> needed, SmallVectorImpl<Value> &out) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto type = typeOf(x);
  // [C] as [C, 1, ...] so that it broadcasts along dimension 1.
  SmallVector<int64_t> chanShape = {type.getDimSize(1)};
  chanShape.append(type.getRank() - 2, 1);
  auto chanType = RankedTensorType::get(chanShape, type.getElementType());
  auto perChannel = [&](Value v) -> Value {
    return typeOf(v) == chanType ? v : b.create<ReshapeOp>(loc, chanType, v);
  };
  SmallVector<int64_t> others = {0};
  for (int64_t d = 2; d < type.getRank(); ++d)
    others.push_back(d);
  Value eps = scalar(b, loc, x, op.getEpsilon().convertToDouble());
  Value rstd = b.create<DivOp>(
      loc, scalar(b, loc, x, 1.0),
      b.create<SqrtOp>(loc, b.create<AddOp>(loc, op.getVariance(), eps)));
  Value gx, gscale, gbias;
  if (needed[0])
    gx = mul(b, loc, g, perChannel(mul(b, loc, op.getScale(), rstd)));
  if (needed[1]) { // rstd * sum(g * (x - mean)) per channel
    Value xc = b.create<SubOp>(loc, x, perChannel(op.getMean()));
    Value s = b.create<ReduceSumOp>(loc, mul(b, loc, g, xc), others, false);
    gscale = mul(b, loc, s, rstd);
  }
  if (needed[2])
    gbias = b.create<ReduceSumOp>(loc, g, others, false);
  out.append({gx, gscale, gbias, Value(), Value()});
  return success();
}

/// Convolution: the input and weight gradients are ops of their own; the
/// bias gradient sums over images and output positions.
LogicalResult convVjp(ConvOp op, OpBuilder &b, Value g, ArrayRef<bool> needed,
                      SmallVectorImpl<Value> &out) {
  if (op.getRelu())
    return op.emitError("a convolution fused with its ReLU (bb-fuse-conv-relu, "
                        "an inference pass) has no gradient here");
  Location loc = op.getLoc();
  Value gx, gw, gbias;
  if (needed[0])
    gx = b.create<ConvInputGradOp>(loc, op.getInput().getType(), g,
                                   op.getWeight(), op.getStridesAttr(),
                                   op.getPadsAttr(), op.getDilationsAttr(),
                                   op.getGroupAttr());
  if (needed[1])
    gw = b.create<ConvWeightGradOp>(loc, op.getWeight().getType(),
                                    op.getInput(), g, op.getStridesAttr(),
                                    op.getPadsAttr(), op.getDilationsAttr(),
                                    op.getGroupAttr());
  out.push_back(gx);
  out.push_back(gw);
  if (op.getBias()) {
    if (needed[2]) {
      SmallVector<int64_t> axes = {0};
      for (int64_t d = 2; d < typeOf(g).getRank(); ++d)
        axes.push_back(d);
      gbias = b.create<ReduceSumOp>(loc, g, axes, false);
    }
    out.push_back(gbias);
  }
  return success();
}

/// tanh-approximated GELU, u = c (x + a x^3), t = tanh(u):
/// dy/dx = (1 + t) / 2 + x / 2 * (1 - t^2) * c (1 + 3 a x^2).
Value geluTanhDerivative(OpBuilder &b, Location l, Value x) {
  const double c = std::sqrt(2.0 / M_PI), a = 0.044715;
  Value one = scalar(b, l, x, 1.0), half = scalar(b, l, x, 0.5);
  Value x2 = mul(b, l, x, x);
  Value u = mul(b, l, mul(b, l, x, scalar(b, l, x, c)),
                b.create<AddOp>(l, one, mul(b, l, x2, scalar(b, l, x, a))));
  Value t = b.create<TanhOp>(l, u);
  Value left = mul(b, l, half, b.create<AddOp>(l, one, t));
  Value sech2 = b.create<SubOp>(l, one, mul(b, l, t, t));
  Value du = b.create<AddOp>(l, scalar(b, l, x, c),
                             mul(b, l, x2, scalar(b, l, x, 3 * a * c)));
  Value right = mul(b, l, mul(b, l, mul(b, l, x, half), sech2), du);
  return b.create<AddOp>(l, left, right);
}

LogicalResult buildVjpImpl(Operation *op, OpBuilder &b, ArrayRef<Value> gs,
                           ArrayRef<bool> needed, SmallVectorImpl<Value> &out) {
  Location loc = op->getLoc();
  Value g = gs.empty() ? Value() : gs[0];
  auto one = [&](Value like) { return scalar(b, loc, like, 1.0); };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](AddOp o) {
        out.push_back(unbroadcast(b, loc, g, typeOf(o.getLhs())));
        out.push_back(unbroadcast(b, loc, g, typeOf(o.getRhs())));
        return success();
      })
      .Case([&](SubOp o) {
        out.push_back(unbroadcast(b, loc, g, typeOf(o.getLhs())));
        out.push_back(needed[1] ? unbroadcast(b, loc, b.create<NegOp>(loc, g),
                                              typeOf(o.getRhs()))
                                : Value());
        return success();
      })
      .Case([&](MulOp o) {
        out.push_back(needed[0] ? unbroadcast(b, loc, mul(b, loc, g, o.getRhs()),
                                              typeOf(o.getLhs()))
                                : Value());
        out.push_back(needed[1] ? unbroadcast(b, loc, mul(b, loc, g, o.getLhs()),
                                              typeOf(o.getRhs()))
                                : Value());
        return success();
      })
      .Case([&](DivOp o) {
        Value ga, gb;
        if (needed[0])
          ga = unbroadcast(b, loc, b.create<DivOp>(loc, g, o.getRhs()),
                           typeOf(o.getLhs()));
        if (needed[1]) // -g * y / b
          gb = unbroadcast(
              b, loc,
              b.create<NegOp>(loc, b.create<DivOp>(loc, mul(b, loc, g, o.getOutput()),
                                                   o.getRhs())),
              typeOf(o.getRhs()));
        out.push_back(ga);
        out.push_back(gb);
        return success();
      })
      .Case([&](PowOp o) {
        Value ga, gb;
        if (needed[0]) { // g * e * x^(e-1)
          Value em1 = b.create<SubOp>(loc, o.getRhs(), one(o.getRhs()));
          ga = unbroadcast(b, loc,
                           mul(b, loc, g,
                               mul(b, loc, o.getRhs(),
                                   b.create<PowOp>(loc, o.getLhs(), em1))),
                           typeOf(o.getLhs()));
        }
        if (needed[1]) // g * y * ln(x)
          gb = unbroadcast(b, loc,
                           mul(b, loc, g,
                               mul(b, loc, o.getOutput(),
                                   b.create<LogOp>(loc, o.getLhs()))),
                           typeOf(o.getRhs()));
        out.push_back(ga);
        out.push_back(gb);
        return success();
      })
      .Case([&](NegOp o) {
        out.push_back(b.create<NegOp>(loc, g));
        return success();
      })
      .Case([&](ExpOp o) {
        return unaryVjp(o, b, gs, out, [&](Location, Value, Value y) { return y; });
      })
      .Case([&](LogOp o) {
        out.push_back(b.create<DivOp>(loc, g, o.getInput()));
        return success();
      })
      .Case([&](SqrtOp o) { // g / (2 y)
        out.push_back(b.create<DivOp>(
            loc, g, mul(b, loc, o.getOutput(), scalar(b, loc, g, 2.0))));
        return success();
      })
      .Case([&](TanhOp o) {
        return unaryVjp(o, b, gs, out, [&](Location l, Value, Value y) -> Value {
          return b.create<SubOp>(l, one(y), mul(b, l, y, y));
        });
      })
      .Case([&](SigmoidOp o) {
        return unaryVjp(o, b, gs, out, [&](Location l, Value, Value y) -> Value {
          return mul(b, l, y, b.create<SubOp>(l, one(y), y));
        });
      })
      .Case([&](ErfOp o) { // 2/sqrt(pi) exp(-x^2)
        return unaryVjp(o, b, gs, out, [&](Location l, Value x, Value) -> Value {
          Value e = b.create<ExpOp>(l, b.create<NegOp>(l, mul(b, l, x, x)));
          return mul(b, l, e, scalar(b, l, x, 2.0 / std::sqrt(M_PI)));
        });
      })
      .Case([&](ReluOp o) {
        Value zero = scalar(b, loc, g, 0.0);
        Value pos = b.create<CompareOp>(loc, ComparePredicate::gt, o.getInput(), zero);
        out.push_back(b.create<SelectOp>(loc, pos, g, zero));
        return success();
      })
      .Case([&](AbsOp o) {
        Value zero = scalar(b, loc, g, 0.0);
        Value pos = b.create<CompareOp>(loc, ComparePredicate::ge, o.getInput(), zero);
        out.push_back(b.create<SelectOp>(loc, pos, g, b.create<NegOp>(loc, g)));
        return success();
      })
      .Case([&](HardSigmoidOp o) { // alpha where 0 < alpha x + beta < 1
        Value zero = scalar(b, loc, g, 0.0);
        Value y = o.getOutput();
        Value ga = mul(b, loc, g, scalar(b, loc, g, o.getAlpha().convertToDouble()));
        Value below = b.create<CompareOp>(loc, ComparePredicate::lt, y,
                                          scalar(b, loc, y, 1.0));
        Value above = b.create<CompareOp>(loc, ComparePredicate::gt, y, zero);
        out.push_back(b.create<SelectOp>(
            loc, above, b.create<SelectOp>(loc, below, ga, zero), zero));
        return success();
      })
      .Case([&](HardSwishOp o) { // 0 below -3, x/3 + 1/2 up to 3, 1 above
        return unaryVjp(o, b, gs, out, [&](Location l, Value x, Value) -> Value {
          Value d = b.create<AddOp>(l, mul(b, l, x, scalar(b, l, x, 1.0 / 3.0)),
                                    scalar(b, l, x, 0.5));
          Value hi = b.create<CompareOp>(l, ComparePredicate::gt, x,
                                         scalar(b, l, x, 3.0));
          Value lo = b.create<CompareOp>(l, ComparePredicate::lt, x,
                                         scalar(b, l, x, -3.0));
          d = b.create<SelectOp>(l, hi, scalar(b, l, x, 1.0), d);
          return b.create<SelectOp>(l, lo, scalar(b, l, x, 0.0), d);
        });
      })
      .Case([&](GeluOp o) -> LogicalResult {
        if (o.getApproximation() == GeluApproximation::tanh)
          return unaryVjp(o, b, gs, out, [&](Location l, Value x, Value) {
            return geluTanhDerivative(b, l, x);
          });
        // d/dx x Phi(x) = Phi(x) + x phi(x)
        return unaryVjp(o, b, gs, out, [&](Location l, Value x, Value) -> Value {
          Value phiCdf = mul(
              b, l, scalar(b, l, x, 0.5),
              b.create<AddOp>(l, one(x),
                              b.create<ErfOp>(l, mul(b, l, x,
                                                     scalar(b, l, x, M_SQRT1_2)))));
          Value pdf = mul(b, l, scalar(b, l, x, 1.0 / std::sqrt(2.0 * M_PI)),
                          b.create<ExpOp>(l, mul(b, l, mul(b, l, x, x),
                                                 scalar(b, l, x, -0.5))));
          return b.create<AddOp>(l, phiCdf, mul(b, l, x, pdf));
        });
      })
      .Case([&](MatMulOp o) { return matmulVjp(o, b, g, needed, out); })
      .Case([&](ConvOp o) { return convVjp(o, b, g, needed, out); })
      .Case([&](MaxPoolOp o) {
        out.push_back(b.create<MaxPoolGradOp>(
            loc, o.getInput(), g, o.getKernelShapeAttr(), o.getStridesAttr(),
            o.getPadsAttr(), o.getCeilModeAttr()));
        return success();
      })
      .Case([&](AvgPoolOp o) {
        out.push_back(b.create<AvgPoolGradOp>(
            loc, o.getInput().getType(), g, o.getKernelShapeAttr(),
            o.getStridesAttr(), o.getPadsAttr(), o.getCeilModeAttr(),
            o.getCountIncludePadAttr()));
        return success();
      })
      .Case([&](BatchNormOp o) { return batchNormVjp(o, b, g, needed, out); })
      .Case([&](ReshapeOp o) {
        out.push_back(b.create<ReshapeOp>(loc, o.getInput().getType(), g));
        return success();
      })
      .Case([&](TransposeOp o) {
        ArrayRef<int64_t> perm = o.getPermutation();
        SmallVector<int64_t> inverse(perm.size());
        for (size_t i = 0; i < perm.size(); ++i)
          inverse[perm[i]] = i;
        out.push_back(b.create<TransposeOp>(loc, g, inverse));
        return success();
      })
      .Case([&](BroadcastToOp o) {
        out.push_back(unbroadcast(b, loc, g, typeOf(o.getInput())));
        return success();
      })
      .Case([&](ConvertOp o) -> LogicalResult {
        if (!isa<FloatType>(typeOf(o.getInput()).getElementType())) {
          out.push_back(Value());
          return success();
        }
        out.push_back(b.create<ConvertOp>(loc, o.getInput().getType(), g));
        return success();
      })
      .Case([&](ReduceSumOp o) {
        out.push_back(expandTo(b, loc, g, o.getAxes(), typeOf(o.getInput())));
        return success();
      })
      .Case([&](ReduceMeanOp o) {
        auto in = typeOf(o.getInput());
        int64_t count = in.getNumElements() / std::max<int64_t>(1, typeOf(o.getOutput()).getNumElements());
        Value scaled = mul(b, loc, g, scalar(b, loc, g, 1.0 / count));
        out.push_back(expandTo(b, loc, scaled, o.getAxes(), in));
        return success();
      })
      .Case([&](ReduceMaxOp o) { // to every position equal to the maximum
        auto in = typeOf(o.getInput());
        Value y = expandTo(b, loc, o.getOutput(), o.getAxes(), in);
        Value at = b.create<CompareOp>(loc, ComparePredicate::eq, o.getInput(), y);
        Value gexp = expandTo(b, loc, g, o.getAxes(), in);
        out.push_back(b.create<SelectOp>(loc, at, gexp, scalar(b, loc, g, 0.0)));
        return success();
      })
      .Case([&](SoftmaxOp o) {
        out.push_back(softmaxVjp(b, loc, o.getOutput(), g, o.getNormalizedAxis()));
        return success();
      })
      .Case([&](LogSoftmaxOp o) { // g - softmax * sum(g)
        int64_t axis = o.getNormalizedAxis();
        Value s = b.create<ReduceSumOp>(loc, g, ArrayRef<int64_t>{axis}, true);
        Value p = b.create<ExpOp>(loc, o.getOutput());
        out.push_back(b.create<SubOp>(loc, g, mul(b, loc, p, s)));
        return success();
      })
      .Case([&](LayerNormOp o) { return layerNormVjp(o, b, g, needed, out); })
      .Case([&](GatherOp o) {
        out.push_back(needed[0] ? Value(b.create<ScatterAddOp>(
                                      loc, o.getData().getType(), o.getIndices(),
                                      g, o.getAxisAttr()))
                                : Value());
        out.push_back(Value());
        return success();
      })
      .Case([&](SelectOp o) {
        Value zero = scalar(b, loc, g, 0.0);
        out.push_back(Value());
        out.push_back(needed[1] ? unbroadcast(b, loc,
                                              b.create<SelectOp>(loc, o.getCondition(), g, zero),
                                              typeOf(o.getOnTrue()))
                                : Value());
        out.push_back(needed[2] ? unbroadcast(b, loc,
                                              b.create<SelectOp>(loc, o.getCondition(), zero, g),
                                              typeOf(o.getOnFalse()))
                                : Value());
        return success();
      })
      .Case([&](ConcatOp o) {
        int64_t axis = o.getAxis(), offset = 0;
        auto gt = typeOf(g);
        for (Value in : o.getInputs()) {
          int64_t size = typeOf(in).getDimSize(axis);
          SmallVector<int64_t> starts(gt.getRank(), 0), limits(gt.getShape()),
              strides(gt.getRank(), 1);
          starts[axis] = offset;
          limits[axis] = offset + size;
          out.push_back(b.create<SliceOp>(loc, g, starts, limits, strides));
          offset += size;
        }
        return success();
      })
      .Case([&](SliceOp o) {
        out.push_back(b.create<SliceGradOp>(
            loc, o.getInput().getType(), g, o.getStartsAttr(), o.getLimitsAttr(),
            o.getStridesAttr()));
        return success();
      })
      .Case([&](TriluOp o) {
        out.push_back(b.create<TriluOp>(loc, g, o.getUpperAttr(), o.getKAttr()));
        return success();
      })
      .Case([&](ScatterAddOp o) {
        out.push_back(Value());
        out.push_back(b.create<GatherOp>(loc, g, o.getIndices(), o.getAxisAttr()));
        return success();
      })
      .Case([&](AttentionOp o) {
        // Only the output carries a gradient (logsumexp is for the backward);
        // a bias that needs one gets the scores' gradient summed over the
        // dimensions it broadcasts along.
        if (!g) {
          out.append(o->getNumOperands(), Value());
          return success();
        }
        const bool biasGrad = o.getBias() && needed.back();
        auto grad = b.create<AttentionGradOp>(
            loc, o.getQuery(), o.getKey(), o.getValue(), o.getLogsumexp(), g,
            o.getMask(), o.getBias(), o.getScaleAttr(), o.getProductsAttr(),
            biasGrad ? b.getUnitAttr() : UnitAttr());
        out.append({grad.getQueryGrad(), grad.getKeyGrad(), grad.getValueGrad()});
        if (o.getMask())
          out.push_back(Value());
        if (o.getBias())
          out.push_back(biasGrad ? unbroadcast(b, loc, grad.getBiasGrad(),
                                               typeOf(o.getBias()))
                                 : Value());
        return success();
      })
      .Case([&](CrossEntropyOp o) {
        out.push_back(needed[0] ? Value(b.create<CrossEntropyGradOp>(
                                      loc, o.getLogits(), o.getLabels(), g,
                                      o.getIgnoreIndexAttr()))
                                : Value());
        out.push_back(Value());
        return success();
      })
      .Default([](Operation *o) {
        return o->emitError("autodiff: no vector-Jacobian product for '")
               << o->getName() << "'";
      });
}

template <typename OpT>
struct BbAutodiffModel
    : public AutodiffOpInterface::ExternalModel<BbAutodiffModel<OpT>, OpT> {
  LogicalResult buildVjp(Operation *op, OpBuilder &builder,
                         ArrayRef<Value> resultGrads, ArrayRef<bool> needed,
                         SmallVectorImpl<Value> &operandGrads) const {
    return buildVjpImpl(op, builder, resultGrads, needed, operandGrads);
  }
};

template <typename... Ops> void attachAll(MLIRContext *ctx) {
  (Ops::template attachInterface<BbAutodiffModel<Ops>>(*ctx), ...);
}
} // namespace

void mlir::bb::attachAutodiffInterfaceModels(MLIRContext *context) {
  attachAll<AddOp, SubOp, MulOp, DivOp, PowOp, NegOp, ExpOp, LogOp, SqrtOp,
            TanhOp, SigmoidOp, ErfOp, ReluOp, AbsOp, HardSigmoidOp,
            HardSwishOp, GeluOp, MatMulOp, ConvOp, MaxPoolOp, AvgPoolOp,
            BatchNormOp, ReshapeOp, TransposeOp, BroadcastToOp, ConvertOp,
            ReduceSumOp, ReduceMeanOp, ReduceMaxOp, SoftmaxOp, LogSoftmaxOp,
            LayerNormOp, GatherOp, ScatterAddOp, SelectOp, ConcatOp, SliceOp,
            TriluOp, CrossEntropyOp, AttentionOp>(context);
}
