//===- BbAutodiffInterfaceImpl.cpp - vector-Jacobian products of bb ops ----===//
//
// Each model builds, from the gradients of an op's results, the gradients of
// its operands in bb ops. Broadcasting binary ops sum the gradient back over
// the broadcast dimensions ("unbroadcast"). Ops without a model (conv, pools,
// batch_norm, trilu, compare, ...) are reported by the autodiff pass when a
// gradient must flow through them.
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

/// Layer norm over dims [axis, rank): recomputes mean and 1/std.
LogicalResult layerNormVjp(LayerNormOp op, OpBuilder &b, Value g,
                           ArrayRef<bool> needed, SmallVectorImpl<Value> &out) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto type = typeOf(x);
  int64_t axis = op.getNormalizedAxis();
  SmallVector<int64_t> norm, batch;
  for (int64_t d = 0; d < type.getRank(); ++d)
    (d >= axis ? norm : batch).push_back(d);
  Value mean = b.create<ReduceMeanOp>(loc, x, norm, true);
  Value xc = b.create<SubOp>(loc, x, mean);
  Value var = b.create<ReduceMeanOp>(loc, mul(b, loc, xc, xc), norm, true);
  Value eps = scalar(b, loc, x, op.getEpsilon().convertToDouble());
  Value rstd = b.create<DivOp>(
      loc, scalar(b, loc, x, 1.0),
      b.create<SqrtOp>(loc, b.create<AddOp>(loc, var, eps)));
  Value xhat = mul(b, loc, xc, rstd);
  Value gx, gscale, gbias;
  if (needed[0]) {
    Value dxhat = mul(b, loc, g, op.getScale());
    Value m1 = b.create<ReduceMeanOp>(loc, dxhat, norm, true);
    Value m2 = b.create<ReduceMeanOp>(loc, mul(b, loc, dxhat, xhat), norm, true);
    Value inner = b.create<SubOp>(loc, b.create<SubOp>(loc, dxhat, m1),
                                  mul(b, loc, xhat, m2));
    gx = mul(b, loc, inner, rstd);
  }
  auto sumBatch = [&](Value v) -> Value {
    if (batch.empty())
      return v;
    return b.create<ReduceSumOp>(loc, v, batch, false);
  };
  if (needed.size() > 1 && needed[1])
    gscale = sumBatch(mul(b, loc, g, xhat));
  if (needed.size() > 2 && needed[2])
    gbias = sumBatch(g);
  out.push_back(gx);
  out.push_back(gscale);
  if (op.getBias())
    out.push_back(gbias);
  return success();
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
      .Case([&](GeluOp o) -> LogicalResult {
        if (o.getApproximation() != GeluApproximation::none)
          return o.emitError("autodiff: tanh-approximated GELU has no VJP yet");
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
      .Case([&](SliceOp o) -> LogicalResult {
        // Unit strides: pad the gradient back with zeros, one dim at a time.
        if (llvm::any_of(o.getStrides(), [](int64_t s) { return s != 1; }))
          return o.emitError("autodiff: strided bb.slice has no VJP yet");
        auto in = typeOf(o.getInput());
        Value grad = g;
        for (int64_t d = 0; d < in.getRank(); ++d) {
          int64_t before = o.getStarts()[d];
          int64_t after = in.getDimSize(d) - o.getLimits()[d];
          if (!before && !after)
            continue;
          SmallVector<Value> parts;
          auto zeros = [&](int64_t n) {
            SmallVector<int64_t> shape(typeOf(grad).getShape());
            shape[d] = n;
            auto t = RankedTensorType::get(shape, in.getElementType());
            return b.create<ConstantOp>(
                loc, DenseElementsAttr::get(t, b.getFloatAttr(in.getElementType(), 0.0)));
          };
          if (before)
            parts.push_back(zeros(before));
          parts.push_back(grad);
          if (after)
            parts.push_back(zeros(after));
          grad = b.create<ConcatOp>(loc, parts, d);
        }
        out.push_back(grad);
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
            TanhOp, SigmoidOp, ErfOp, ReluOp, AbsOp, GeluOp, MatMulOp,
            ReshapeOp, TransposeOp, BroadcastToOp, ConvertOp, ReduceSumOp,
            ReduceMeanOp, ReduceMaxOp, SoftmaxOp, LogSoftmaxOp, LayerNormOp,
            GatherOp, SelectOp, ConcatOp, SliceOp, CrossEntropyOp>(context);
}
