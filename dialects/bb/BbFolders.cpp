//===- BbFolders.cpp - constant folding of bb ops --------------------------===//
//
// Folders serve two masters: canonicalization, and the ONNX importer, which
// builds every op with createOrFold so shape arithmetic (Shape -> Gather ->
// Concat -> Reshape chains) collapses to constants while the graph is read.
// Only dense attributes up to kMaxFoldElements are folded; model weights are
// dense_resource blobs and are never copied by a folder.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bb;

namespace {
constexpr int64_t kMaxFoldElements = 1 << 16;

DenseElementsAttr foldable(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return {};
  return dense;
}

/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Linear index into `inShape` of the element that broadcasting maps to the
/// output element at linear index `outIndex` of `outShape`.
int64_t broadcastSource(int64_t outIndex, ArrayRef<int64_t> outShape,
                        ArrayRef<int64_t> inShape) {
  SmallVector<int64_t> outStrides = stridesOf(outShape);
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  int64_t offset = outShape.size() - inShape.size();
  int64_t src = 0;
  for (size_t d = 0; d < outShape.size(); ++d) {
    int64_t coord = (outIndex / outStrides[d]) % outShape[d];
    int64_t id = static_cast<int64_t>(d) - offset;
    if (id >= 0 && inShape[id] != 1)
      src += coord * inStrides[id];
  }
  return src;
}

/// Elements of a dense attribute as doubles (floats) or int64 (integers).
struct Values {
  bool isFloat = false;
  SmallVector<double> f;
  SmallVector<int64_t> i;
  ArrayRef<int64_t> shape;

  static Values of(DenseElementsAttr attr) {
    Values v;
    v.shape = attr.getType().getShape();
    Type elt = attr.getElementType();
    if (isa<FloatType>(elt)) {
      v.isFloat = true;
      for (APFloat x : attr.getValues<APFloat>())
        v.f.push_back(x.convertToDouble());
    } else {
      bool isUnsigned = elt.isUnsignedInteger() || elt.isInteger(1);
      for (APInt x : attr.getValues<APInt>())
        v.i.push_back(isUnsigned ? static_cast<int64_t>(x.getZExtValue())
                                 : x.getSExtValue());
    }
    return v;
  }
  double asDouble(int64_t k) const { return isFloat ? f[k] : double(i[k]); }
  int64_t asInt(int64_t k) const { return isFloat ? int64_t(f[k]) : i[k]; }
};

/// Builds a dense attribute of `type` from doubles or integers.
DenseElementsAttr makeDense(ShapedType type, ArrayRef<double> f,
                            ArrayRef<int64_t> i) {
  Type elt = type.getElementType();
  if (auto ft = dyn_cast<FloatType>(elt)) {
    SmallVector<APFloat> vals;
    for (double x : f) {
      APFloat a(x);
      bool lost;
      a.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(a);
    }
    return DenseElementsAttr::get(type, vals);
  }
  unsigned width = elt.getIntOrFloatBitWidth();
  SmallVector<APInt> vals;
  for (int64_t x : i)
    vals.push_back(width == 1 ? APInt(1, x != 0)
                              : APInt(64, x, /*isSigned=*/true).sextOrTrunc(width));
  return DenseElementsAttr::get(type, vals);
}

/// Folds a unary float op elementwise.
OpFoldResult foldUnary(Attribute operand, Type resultType,
                       llvm::function_ref<double(double)> fn) {
  DenseElementsAttr in = foldable(operand);
  if (!in || !isa<FloatType>(in.getElementType()))
    return {};
  Values v = Values::of(in);
  SmallVector<double> out;
  for (double x : v.f)
    out.push_back(fn(x));
  return makeDense(cast<ShapedType>(resultType), out, {});
}

/// Folds a broadcasting binary op; `ff` for floats, `fi` for integers
/// (returns nullopt to refuse, e.g. division by zero).
OpFoldResult
foldBinary(ArrayRef<Attribute> operands, Type resultType,
           llvm::function_ref<double(double, double)> ff,
           llvm::function_ref<std::optional<int64_t>(int64_t, int64_t)> fi) {
  DenseElementsAttr a = foldable(operands[0]), b = foldable(operands[1]);
  auto type = cast<ShapedType>(resultType);
  if (!a || !b || type.getNumElements() > kMaxFoldElements)
    return {};
  Values va = Values::of(a), vb = Values::of(b);
  SmallVector<double> f;
  SmallVector<int64_t> i;
  for (int64_t k = 0, e = type.getNumElements(); k < e; ++k) {
    int64_t ka = broadcastSource(k, type.getShape(), va.shape);
    int64_t kb = broadcastSource(k, type.getShape(), vb.shape);
    if (va.isFloat) {
      f.push_back(ff(va.f[ka], vb.f[kb]));
    } else {
      std::optional<int64_t> r = fi(va.i[ka], vb.i[kb]);
      if (!r)
        return {};
      i.push_back(*r);
    }
  }
  return makeDense(type, f, i);
}

/// Folds an op that only moves elements: output element k is input element
/// `source(k)` of the single constant operand.
OpFoldResult foldMove(Attribute operand, Type resultType,
                      llvm::function_ref<int64_t(int64_t)> source) {
  DenseElementsAttr in = foldable(operand);
  auto type = cast<ShapedType>(resultType);
  if (!in || type.getNumElements() > kMaxFoldElements)
    return {};
  if (in.isSplat())
    return SplatElementsAttr::get(type, in.getSplatValue<Attribute>());
  auto values = llvm::to_vector(in.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t k = 0, e = type.getNumElements(); k < e; ++k)
    out.push_back(values[source(k)]);
  return DenseElementsAttr::get(type, out);
}

double erfGelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double tanhGelu(double x) {
  return 0.5 * x *
         (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define BB_UNARY_FOLD(OP, EXPR)                                                \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldUnary(adaptor.getInput(), getType(),                            \
                     [&](double x) -> double { return EXPR; });                \
  }
BB_UNARY_FOLD(NegOp, -x)
BB_UNARY_FOLD(AbsOp, std::fabs(x))
BB_UNARY_FOLD(SqrtOp, std::sqrt(x))
BB_UNARY_FOLD(ExpOp, std::exp(x))
BB_UNARY_FOLD(LogOp, std::log(x))
BB_UNARY_FOLD(ErfOp, std::erf(x))
BB_UNARY_FOLD(TanhOp, std::tanh(x))
BB_UNARY_FOLD(SigmoidOp, 1.0 / (1.0 + std::exp(-x)))
BB_UNARY_FOLD(ReluOp, x > 0 ? x : 0.0)
BB_UNARY_FOLD(HardSwishOp, x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5)))
BB_UNARY_FOLD(HardSigmoidOp,
              std::max(0.0, std::min(1.0, getAlpha().convertToDouble() * x +
                                              getBeta().convertToDouble())))
BB_UNARY_FOLD(GeluOp, getApproximation() == GeluApproximation::tanh
                          ? tanhGelu(x)
                          : erfGelu(x))
#undef BB_UNARY_FOLD

/// x + 0, x * 1 style identities are left to later passes: with broadcasting
/// they can change the result shape, and models rarely contain them.
OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(), [](double a, double b) { return a + b; },
      [](int64_t a, int64_t b) -> std::optional<int64_t> { return a + b; });
}
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(), [](double a, double b) { return a - b; },
      [](int64_t a, int64_t b) -> std::optional<int64_t> { return a - b; });
}
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(), [](double a, double b) { return a * b; },
      [](int64_t a, int64_t b) -> std::optional<int64_t> { return a * b; });
}
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(), [](double a, double b) { return a / b; },
      [](int64_t a, int64_t b) -> std::optional<int64_t> {
        if (b == 0)
          return std::nullopt;
        return a / b;
      });
}
OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](double a, double b) { return std::pow(a, b); },
      [](int64_t a, int64_t b) -> std::optional<int64_t> {
        if (b < 0)
          return std::nullopt;
        uint64_t r = 1, base = static_cast<uint64_t>(a); // wraps like the runtime
        for (uint64_t e = static_cast<uint64_t>(b); e; e >>= 1) {
          if (e & 1)
            r *= base;
          base *= base;
        }
        return static_cast<int64_t>(r);
      });
}

OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr a = foldable(adaptor.getLhs()),
                    b = foldable(adaptor.getRhs());
  auto type = getType();
  if (!a || !b || type.getNumElements() > kMaxFoldElements)
    return {};
  Values va = Values::of(a), vb = Values::of(b);
  ComparePredicate pred = getPredicate();
  SmallVector<int64_t> out;
  for (int64_t k = 0, e = type.getNumElements(); k < e; ++k) {
    int64_t ka = broadcastSource(k, type.getShape(), va.shape);
    int64_t kb = broadcastSource(k, type.getShape(), vb.shape);
    // Integers compare exactly (doubles lose bits above 2^53).
    auto cmp = [&](auto x, auto y) {
      switch (pred) {
      case ComparePredicate::eq: return x == y;
      case ComparePredicate::ne: return x != y;
      case ComparePredicate::lt: return x < y;
      case ComparePredicate::le: return x <= y;
      case ComparePredicate::gt: return x > y;
      case ComparePredicate::ge: return x >= y;
      }
      return false;
    };
    out.push_back(va.isFloat ? cmp(va.f[ka], vb.f[kb]) : cmp(va.i[ka], vb.i[kb]));
  }
  return makeDense(type, {}, out);
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr c = foldable(adaptor.getCondition());
  DenseElementsAttr t = foldable(adaptor.getOnTrue());
  DenseElementsAttr f = foldable(adaptor.getOnFalse());
  auto type = getType();
  if (!c || type.getNumElements() > kMaxFoldElements)
    return {};
  // A uniform condition picks one branch whole when it already has the type.
  if (c.isSplat()) {
    Value pick = c.getSplatValue<bool>() ? getOnTrue() : getOnFalse();
    if (pick.getType() == type)
      return pick;
  }
  if (!t || !f)
    return {};
  auto cv = llvm::to_vector(c.getValues<bool>());
  auto tv = llvm::to_vector(t.getValues<Attribute>());
  auto fv = llvm::to_vector(f.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t k = 0, e = type.getNumElements(); k < e; ++k) {
    bool cond = cv[broadcastSource(k, type.getShape(), c.getType().getShape())];
    out.push_back(
        cond ? tv[broadcastSource(k, type.getShape(), t.getType().getShape())]
             : fv[broadcastSource(k, type.getShape(), f.getType().getShape())]);
  }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult ConvertOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr in = foldable(adaptor.getInput());
  if (!in)
    return {};
  Values v = Values::of(in);
  auto type = cast<ShapedType>(getType());
  int64_t n = in.getNumElements();
  SmallVector<double> f;
  SmallVector<int64_t> i;
  for (int64_t k = 0; k < n; ++k) {
    if (isa<FloatType>(type.getElementType()))
      f.push_back(v.asDouble(k));
    else if (type.getElementType().isInteger(1))
      i.push_back(v.asDouble(k) != 0.0);
    else
      i.push_back(v.asInt(k));
  }
  return makeDense(type, f, i);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr data = foldable(adaptor.getData());
  DenseElementsAttr indices = foldable(adaptor.getIndices());
  if (!data || !indices)
    return {};
  ArrayRef<int64_t> dShape = data.getType().getShape();
  int64_t axis = getAxis(), axisSize = dShape[axis];
  int64_t inner = 1;
  for (int64_t d : dShape.drop_front(axis + 1))
    inner *= d;
  SmallVector<int64_t> idx = Values::of(indices).i;
  for (int64_t &x : idx) {
    if (x < 0)
      x += axisSize;
    if (x < 0 || x >= axisSize)
      return {}; // Out of range: leave it for the runtime to report.
  }
  int64_t nIdx = idx.size();
  return foldMove(data, getType(), [&](int64_t k) {
    int64_t innerPos = k % inner;
    int64_t rest = k / inner;
    int64_t j = rest % nIdx;
    int64_t outer = rest / nIdx;
    return (outer * axisSize + idx[j]) * inner + innerPos;
  });
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (DenseElementsAttr in = foldable(adaptor.getInput()))
    return in.reshape(getType());
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  bool identity = true;
  for (int64_t i = 0, e = perm.size(); i < e; ++i)
    identity &= perm[i] == i;
  if (identity)
    return getInput();
  auto inShape = getInput().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  SmallVector<int64_t> outStrides = stridesOf(outShape);
  return foldMove(adaptor.getInput(), getType(), [&](int64_t k) {
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      src += ((k / outStrides[d]) % outShape[d]) * inStrides[perm[d]];
    return src;
  });
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : adaptor.getInputs()) {
    DenseElementsAttr d = foldable(a);
    if (!d)
      return {};
    parts.push_back(d);
  }
  auto type = getType();
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  int64_t axis = getAxis();
  int64_t outer = 1;
  for (int64_t d : type.getShape().take_front(axis))
    outer *= d;
  SmallVector<SmallVector<Attribute>> values;
  for (DenseElementsAttr d : parts)
    values.push_back(llvm::to_vector(d.getValues<Attribute>()));
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t p = 0; p < parts.size(); ++p) {
      int64_t chunk = parts[p].getNumElements() / std::max<int64_t>(outer, 1);
      for (int64_t c = 0; c < chunk; ++c)
        out.push_back(values[p][o * chunk + c]);
    }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      llvm::all_of(getStrides(), [](int64_t s) { return s == 1; }))
    return getInput();
  auto inShape = getInput().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  SmallVector<int64_t> outStrides = stridesOf(outShape);
  ArrayRef<int64_t> starts = getStarts(), steps = getStrides();
  return foldMove(adaptor.getInput(), getType(), [&](int64_t k) {
    int64_t src = 0;
    for (size_t d = 0; d < outShape.size(); ++d)
      src += (starts[d] + ((k / outStrides[d]) % outShape[d]) * steps[d]) *
             inStrides[d];
    return src;
  });
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto inShape = getInput().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  return foldMove(adaptor.getInput(), getType(), [&](int64_t k) {
    return broadcastSource(k, outShape, inShape);
  });
}

OpFoldResult TriluOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr in = foldable(adaptor.getInput());
  if (!in)
    return {};
  auto type = getType();
  int64_t rows = type.getDimSize(type.getRank() - 2);
  int64_t cols = type.getDimSize(type.getRank() - 1);
  Attribute zero = isa<FloatType>(type.getElementType())
                       ? Attribute(FloatAttr::get(type.getElementType(), 0.0))
                       : Attribute(IntegerAttr::get(type.getElementType(), 0));
  auto values = llvm::to_vector(in.getValues<Attribute>());
  bool upper = getUpper();
  int64_t k = getK();
  for (int64_t idx = 0, e = values.size(); idx < e; ++idx) {
    int64_t c = idx % cols, r = (idx / cols) % rows;
    bool keep = upper ? (c - r >= k) : (c - r <= k);
    if (!keep)
      values[idx] = zero;
  }
  return DenseElementsAttr::get(type, values);
}
