//===- OpImporters.cpp - one conversion per ONNX op type
//--------------------===//
//
// Each function reads the current node of a GraphImporter and emits bb ops.
// Opset differences (attributes that became inputs, changed defaults) are
// handled where they occur, keyed on im.opset().
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/GraphImporter.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::bb::frontend;
namespace bbd = mlir::bb;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// `dst = *v` when `v` succeeded; the failure otherwise.
LogicalResult assign(Value &dst, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  dst = *v;
  return success();
}

/// Normalizes a possibly negative axis; fails naming the attribute.
FailureOr<int64_t> axisOf(GraphImporter &im, int64_t axis, int64_t rank,
                          StringRef what = "axis") {
  if (axis < -rank || axis >= rank)
    return im.fail(what + " " + Twine(axis) + " is out of range for rank " +
                   Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

FailureOr<SmallVector<int64_t>> axesOf(GraphImporter &im,
                                       ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    FailureOr<int64_t> n = axisOf(im, a, rank, "axes entry");
    if (failed(n))
      return failure();
    out.push_back(*n);
  }
  llvm::sort(out);
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    return im.fail("axes contain a duplicate");
  return out;
}

NamedAttribute named(GraphImporter &im, StringRef name, Attribute value) {
  return im.builder.getNamedAttr(name, value);
}

/// Emits `OpT` over the node's inputs [0, n) and makes it output 0, where
/// `minInputs <= n <= maxInputs` (optional trailing inputs may be omitted).
template <typename OpT>
LogicalResult simple(GraphImporter &im, ArrayRef<NamedAttribute> attrs,
                     size_t minInputs, size_t maxInputs) {
  size_t n = 0;
  for (size_t i = 0; i < im.numInputs(); ++i)
    if (im.hasInput(i))
      n = i + 1;
  if (n < minInputs || n > maxInputs)
    return im.fail("takes " + Twine(minInputs) +
                   (minInputs == maxInputs ? "" : " to " + Twine(maxInputs)) +
                   " inputs, got " + Twine(n));
  SmallVector<Value> operands;
  for (size_t i = 0; i < n; ++i) {
    FailureOr<Value> v = im.input(i);
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  return im.setOutput(0, im.create<OpT>(operands, attrs));
}

/// Ops whose operands are exactly the node's `count` inputs.
template <typename OpT>
LogicalResult simple(GraphImporter &im, ArrayRef<NamedAttribute> attrs = {},
                     size_t count = 1) {
  return simple<OpT>(im, attrs, count, count);
}

template <typename OpT> OpImporter unary() {
  return [](GraphImporter &im) { return simple<OpT>(im); };
}

template <typename OpT> OpImporter binary() {
  return [](GraphImporter &im) -> LogicalResult {
    FailureOr<Value> a = im.input(0), b = im.input(1);
    if (failed(a) || failed(b))
      return failure();
    return im.setOutput(0, im.create<OpT>(ValueRange{*a, *b}));
  };
}

OpImporter compare(bbd::ComparePredicate pred) {
  return [pred](GraphImporter &im) -> LogicalResult {
    auto attr = bbd::ComparePredicateAttr::get(&im.ctx, pred);
    return simple<bbd::CompareOp>(im, {named(im, "predicate", attr)}, 2);
  };
}

LogicalResult importPow(GraphImporter &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b))
    return failure();
  Value exponent = *b;
  Type elt = typeOf(*a).getElementType();
  if (typeOf(exponent).getElementType() != elt) {
    if (failed(assign(exponent, im.create<bbd::ConvertOp>(
                                    exponent, {},
                                    RankedTensorType::get(
                                        typeOf(exponent).getShape(), elt)))))
      return failure();
  }
  return im.setOutput(0, im.create<bbd::PowOp>(ValueRange{*a, exponent}));
}

LogicalResult importHardSigmoid(GraphImporter &im) {
  return simple<bbd::HardSigmoidOp>(
      im, {named(im, "alpha",
                 im.builder.getF32FloatAttr(im.floatAttr("alpha", 0.2f))),
           named(im, "beta",
                 im.builder.getF32FloatAttr(im.floatAttr("beta", 0.5f)))});
}

LogicalResult importGelu(GraphImporter &im) {
  std::string approx = im.stringAttr("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return im.fail("approximate='" + approx + "' is not 'none' or 'tanh'");
  auto attr = bbd::GeluApproximationAttr::get(
      &im.ctx, approx == "tanh" ? bbd::GeluApproximation::tanh
                                : bbd::GeluApproximation::none);
  return simple<bbd::GeluOp>(im, {named(im, "approximation", attr)});
}

LogicalResult importIdentity(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  im.setOutput(0, *x);
  return success();
}

LogicalResult importDropout(GraphImporter &im) {
  // Opset 12+: an optional training_mode input; only inference is supported.
  if (im.hasInput(2)) {
    auto mode = im.intsInput(2, "training_mode");
    if (failed(mode))
      return failure();
    if (!mode->empty() && (*mode)[0] != 0)
      return im.fail("training-mode dropout is not supported in an inference "
                     "graph");
  }
  if (im.intAttr("training_mode", 0))
    return im.fail(
        "training-mode dropout is not supported in an inference graph");
  if (im.outputUsed(1)) {
    // Inference: nothing is dropped, the mask is all true.
    FailureOr<Value> x = im.input(0);
    if (failed(x))
      return failure();
    auto maskType =
        RankedTensorType::get(typeOf(*x).getShape(), im.builder.getI1Type());
    im.setOutput(1, im.constant(DenseElementsAttr::get(maskType, true)));
  }
  return importIdentity(im);
}

LogicalResult importCast(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  const auto *to = im.attr("to");
  if (!to)
    return im.fail("missing required attribute 'to'");
  FailureOr<Type> elt = im.elementType(to->i(), "attribute 'to'");
  if (failed(elt))
    return failure();
  return im.setOutput(
      0, im.create<bbd::ConvertOp>(
             *x, {}, RankedTensorType::get(typeOf(*x).getShape(), *elt)));
}

/// Softmax before opset 13 works on the input coerced to 2-D at `axis`.
template <typename OpT> OpImporter softmax() {
  return [](GraphImporter &im) -> LogicalResult {
    FailureOr<Value> x = im.input(0);
    if (failed(x))
      return failure();
    int64_t rank = typeOf(*x).getRank();
    bool legacy = im.opset() < 13;
    FailureOr<int64_t> axis =
        axisOf(im, im.intAttr("axis", legacy ? 1 : -1), rank);
    if (failed(axis))
      return failure();
    Value in = *x;
    ArrayRef<int64_t> shape = typeOf(*x).getShape();
    bool coerce = legacy && *axis != rank - 1;
    if (coerce) {
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < rank; ++d)
        (d < *axis ? outer : inner) *= shape[d];
      if (failed(assign(in, im.reshape(in, {outer, inner}))))
        return failure();
    }
    int64_t opAxis = coerce ? 1 : *axis;
    Value out;
    if (failed(assign(
            out,
            im.create<OpT>(in, {named(im, "axis",
                                      im.builder.getI64IntegerAttr(opAxis))}))))
      return failure();
    if (coerce) {
      if (failed(assign(out, im.reshape(out, shape))))
        return failure();
    }
    im.setOutput(0, out);
    return success();
  };
}

LogicalResult importMatMul(GraphImporter &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b))
    return failure();
  Value lhs = *a, rhs = *b;
  bool lhsVec = typeOf(lhs).getRank() == 1, rhsVec = typeOf(rhs).getRank() == 1;
  if (lhsVec) {
    if (failed(assign(lhs, im.reshape(lhs, {1, typeOf(lhs).getDimSize(0)}))))
      return failure();
  }
  if (rhsVec) {
    if (failed(assign(rhs, im.reshape(rhs, {typeOf(rhs).getDimSize(0), 1}))))
      return failure();
  }
  FailureOr<Value> r = im.create<bbd::MatMulOp>(ValueRange{lhs, rhs});
  if (failed(r))
    return failure();
  Value out = *r;
  if (lhsVec || rhsVec) {
    SmallVector<int64_t> shape(typeOf(out).getShape());
    if (rhsVec)
      shape.erase(shape.end() - 1);
    if (lhsVec)
      shape.erase(shape.end() - (rhsVec ? 1 : 2));
    if (failed(assign(out, im.reshape(out, shape))))
      return failure();
  }
  im.setOutput(0, out);
  return success();
}

LogicalResult importGemm(GraphImporter &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b))
    return failure();
  if (typeOf(*a).getRank() != 2 || typeOf(*b).getRank() != 2)
    return im.fail("A and B must be matrices");
  SmallVector<NamedAttribute> attrs;
  if (im.intAttr("transA", 0))
    attrs.push_back(named(im, "transpose_lhs", im.builder.getUnitAttr()));
  if (im.intAttr("transB", 0))
    attrs.push_back(named(im, "transpose_rhs", im.builder.getUnitAttr()));
  FailureOr<Value> r = im.create<bbd::MatMulOp>(ValueRange{*a, *b}, attrs);
  if (failed(r))
    return failure();
  Value out = *r;
  Type elt = typeOf(out).getElementType();
  float alpha = im.floatAttr("alpha", 1.0f), beta = im.floatAttr("beta", 1.0f);
  if (alpha != 1.0f) {
    if (failed(assign(out, im.create<bbd::MulOp>(
                               ValueRange{out, im.scalar(elt, alpha)}))))
      return failure();
  }
  if (im.hasInput(2) && beta != 0.0f) {
    FailureOr<Value> c = im.input(2);
    if (failed(c))
      return failure();
    Value bias = *c;
    if (beta != 1.0f) {
      if (failed(assign(bias, im.create<bbd::MulOp>(
                                  ValueRange{bias, im.scalar(elt, beta)}))))
        return failure();
    }
    FailureOr<Value> sum = im.create<bbd::AddOp>(ValueRange{out, bias});
    if (failed(sum))
      return failure();
    if (typeOf(*sum) != typeOf(out))
      return im.fail("bias C does not broadcast to the product's shape");
    out = *sum;
  }
  im.setOutput(0, out);
  return success();
}

/// Window attributes shared by Conv and the pools, with auto_pad resolved.
struct Window {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};

FailureOr<Window> windowAttrs(GraphImporter &im, Value x,
                              ArrayRef<int64_t> kernel) {
  int64_t n = typeOf(x).getRank() - 2;
  if (n < 1)
    return im.fail("input must have rank >= 3 (N, C, spatial...)");
  Window w;
  w.kernel.assign(kernel.begin(), kernel.end());
  if (static_cast<int64_t>(w.kernel.size()) != n)
    return im.fail("kernel has " + Twine(w.kernel.size()) +
                   " spatial dimensions, input has " + Twine(n));
  w.strides = im.intsAttr("strides").value_or(SmallVector<int64_t>(n, 1));
  w.dilations = im.intsAttr("dilations").value_or(SmallVector<int64_t>(n, 1));
  w.pads = im.intsAttr("pads").value_or(SmallVector<int64_t>(2 * n, 0));
  if (static_cast<int64_t>(w.strides.size()) != n ||
      static_cast<int64_t>(w.dilations.size()) != n ||
      static_cast<int64_t>(w.pads.size()) != 2 * n)
    return im.fail("strides/dilations need " + Twine(n) + " entries and pads " +
                   Twine(2 * n));
  std::string autoPad = im.stringAttr("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    w.pads.assign(2 * n, 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < n; ++i) {
      int64_t in = typeOf(x).getDimSize(2 + i);
      int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.strides[i] +
                                   w.dilations[i] * (w.kernel[i] - 1) + 1 - in);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : big;
      w.pads[n + i] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad != "NOTSET") {
    return im.fail("auto_pad '" + autoPad +
                   "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  }
  return w;
}

LogicalResult importConv(GraphImporter &im) {
  FailureOr<Value> x = im.input(0), wt = im.input(1);
  if (failed(x) || failed(wt))
    return failure();
  if (typeOf(*wt).getRank() < 3)
    return im.fail("weight must have rank >= 3");
  SmallVector<int64_t> kernel(typeOf(*wt).getShape().drop_front(2));
  if (auto k = im.intsAttr("kernel_shape");
      k && ArrayRef<int64_t>(*k) != ArrayRef<int64_t>(kernel))
    return im.fail("kernel_shape does not match the weight's shape");
  FailureOr<Window> w = windowAttrs(im, *x, kernel);
  if (failed(w))
    return failure();
  SmallVector<Value> operands = {*x, *wt};
  if (im.hasInput(2)) {
    FailureOr<Value> b = im.input(2);
    if (failed(b))
      return failure();
    operands.push_back(*b);
  }
  FailureOr<Value> r = im.create<bbd::ConvOp>(
      operands,
      {named(im, "strides", im.builder.getDenseI64ArrayAttr(w->strides)),
       named(im, "pads", im.builder.getDenseI64ArrayAttr(w->pads)),
       named(im, "dilations", im.builder.getDenseI64ArrayAttr(w->dilations)),
       named(im, "group",
             im.builder.getI64IntegerAttr(im.intAttr("group", 1)))});
  if (failed(r))
    return failure();
  im.setOutput(0, *r);
  return success();
}

template <typename OpT> OpImporter pool() {
  return [](GraphImporter &im) -> LogicalResult {
    FailureOr<Value> x = im.input(0);
    if (failed(x))
      return failure();
    auto kernel = im.intsAttr("kernel_shape");
    if (!kernel)
      return im.fail("missing required attribute 'kernel_shape'");
    if (im.outputUsed(1))
      return im.fail("the Indices output is not supported");
    FailureOr<Window> w = windowAttrs(im, *x, *kernel);
    if (failed(w))
      return failure();
    if (llvm::any_of(w->dilations, [](int64_t d) { return d != 1; }))
      return im.fail("dilated pooling is not supported");
    if (im.intAttr("storage_order", 0) != 0)
      return im.fail("storage_order=1 is not supported");
    SmallVector<NamedAttribute> attrs = {
        named(im, "kernel_shape", im.builder.getDenseI64ArrayAttr(w->kernel)),
        named(im, "strides", im.builder.getDenseI64ArrayAttr(w->strides)),
        named(im, "pads", im.builder.getDenseI64ArrayAttr(w->pads))};
    if (im.intAttr("ceil_mode", 0))
      attrs.push_back(named(im, "ceil_mode", im.builder.getUnitAttr()));
    if (std::is_same_v<OpT, bbd::AvgPoolOp> &&
        im.intAttr("count_include_pad", 0))
      attrs.push_back(named(im, "count_include_pad", im.builder.getUnitAttr()));
    return im.setOutput(0, im.create<OpT>(*x, attrs));
  };
}

template <typename OpT>
FailureOr<Value> reduce(GraphImporter &im, Value x, ArrayRef<int64_t> axes,
                        bool keepdims) {
  SmallVector<NamedAttribute> attrs = {
      named(im, "axes", im.builder.getDenseI64ArrayAttr(axes))};
  if (keepdims)
    attrs.push_back(named(im, "keepdims", im.builder.getUnitAttr()));
  return im.create<OpT>(x, attrs);
}

template <typename OpT> OpImporter globalPool() {
  return [](GraphImporter &im) -> LogicalResult {
    FailureOr<Value> x = im.input(0);
    if (failed(x))
      return failure();
    int64_t rank = typeOf(*x).getRank();
    if (rank < 3)
      return im.fail("input must have rank >= 3");
    SmallVector<int64_t> axes;
    for (int64_t d = 2; d < rank; ++d)
      axes.push_back(d);
    return im.setOutput(0, reduce<OpT>(im, *x, axes, /*keepdims=*/true));
  };
}

/// ReduceX: axes are an attribute before `axesInputSince`, an input after.
template <typename OpT> OpImporter reduction(int64_t axesInputSince) {
  return [axesInputSince](GraphImporter &im) -> LogicalResult {
    FailureOr<Value> x = im.input(0);
    if (failed(x))
      return failure();
    int64_t rank = typeOf(*x).getRank();
    SmallVector<int64_t> axes;
    if (im.opset() >= axesInputSince) {
      if (im.hasInput(1)) {
        auto a = im.intsInput(1, "axes");
        if (failed(a))
          return failure();
        axes = *a;
      }
    } else if (auto a = im.intsAttr("axes")) {
      axes = *a;
    }
    if (axes.empty()) {
      if (im.intAttr("noop_with_empty_axes", 0)) {
        im.setOutput(0, *x);
        return success();
      }
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    }
    auto normalized = axesOf(im, axes, rank);
    if (failed(normalized))
      return failure();
    return im.setOutput(
        0, reduce<OpT>(im, *x, *normalized, im.intAttr("keepdims", 1)));
  };
}

LogicalResult importBatchNorm(GraphImporter &im) {
  if (im.intAttr("training_mode", 0) || im.outputUsed(1) || im.outputUsed(2))
    return im.fail("training-mode batch normalization is not supported in "
                   "an inference graph");
  return simple<bbd::BatchNormOp>(
      im,
      {named(im, "epsilon",
             im.builder.getF32FloatAttr(im.floatAttr("epsilon", 1e-5f)))},
      5);
}

LogicalResult importLayerNorm(GraphImporter &im) {
  if (im.outputUsed(1) || im.outputUsed(2))
    return im.fail("the Mean and InvStdDev outputs are not supported");
  return simple<bbd::LayerNormOp>(
      im,
      {named(im, "axis", im.builder.getI64IntegerAttr(im.intAttr("axis", -1))),
       named(im, "epsilon",
             im.builder.getF32FloatAttr(im.floatAttr("epsilon", 1e-5f)))},
      2, 3);
}

LogicalResult importGather(GraphImporter &im) {
  FailureOr<Value> data = im.input(0), idx = im.input(1);
  if (failed(data) || failed(idx))
    return failure();
  FailureOr<int64_t> axis =
      axisOf(im, im.intAttr("axis", 0), typeOf(*data).getRank());
  if (failed(axis))
    return failure();
  // Constant indices are checked here, where the node can be named.
  DenseElementsAttr indices;
  if (matchPattern(*idx, m_Constant(&indices))) {
    int64_t size = typeOf(*data).getDimSize(*axis);
    for (APInt v : indices.getValues<APInt>())
      if (v.getSExtValue() < -size || v.getSExtValue() >= size)
        return im.fail("index " + Twine(v.getSExtValue()) +
                       " is out of range for dimension of size " + Twine(size));
  }
  return im.setOutput(
      0, im.create<bbd::GatherOp>(
             ValueRange{*data, *idx},
             {named(im, "axis", im.builder.getI64IntegerAttr(*axis))}));
}

LogicalResult reshapeTo(GraphImporter &im, Value x, ArrayRef<int64_t> shape) {
  return im.setOutput(0, im.reshape(x, shape));
}

LogicalResult importReshape(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  auto target = im.intsInput(1, "the target shape");
  if (failed(target))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  bool allowZero = im.intAttr("allowzero", 0);
  SmallVector<int64_t> shape;
  int64_t inferAt = -1, known = 1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t d = (*target)[i];
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return im.fail("target dimension " + Twine(i) +
                       " copies a dimension "
                       "the input does not have");
      d = in[i];
    }
    if (d == -1) {
      if (inferAt >= 0)
        return im.fail("the target shape has more than one -1");
      inferAt = i;
      shape.push_back(1);
      continue;
    }
    if (d < 0)
      return im.fail("invalid target dimension " + Twine(d));
    shape.push_back(d);
    known *= d;
  }
  int64_t total = typeOf(*x).getNumElements();
  if (inferAt >= 0) {
    if (known == 0 || total % known)
      return im.fail("cannot infer the -1 dimension: " + Twine(total) +
                     " elements do not divide by " + Twine(known));
    shape[inferAt] = total / known;
  }
  if (std::accumulate(shape.begin(), shape.end(), int64_t(1),
                      std::multiplies<int64_t>()) != total)
    return im.fail("cannot reshape " + Twine(total) +
                   " elements to the target shape");
  return reshapeTo(im, *x, shape);
}

LogicalResult importFlatten(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  int64_t axis = im.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return im.fail("axis " + Twine(axis) + " is out of range for rank " +
                   Twine(rank));
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= typeOf(*x).getDimSize(d);
  return reshapeTo(im, *x, {outer, inner});
}

/// Axes of Squeeze/Unsqueeze: attribute before opset 13, input after.
FailureOr<SmallVector<int64_t>> squeezeAxes(GraphImporter &im) {
  if (im.opset() >= 13) {
    if (!im.hasInput(1))
      return SmallVector<int64_t>();
    return im.intsInput(1, "axes");
  }
  return im.intsAttr("axes").value_or(SmallVector<int64_t>());
}

LogicalResult importSqueeze(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  auto axes = squeezeAxes(im);
  if (failed(x) || failed(axes))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  SmallVector<int64_t> drop;
  if (axes->empty()) {
    for (size_t d = 0; d < in.size(); ++d)
      if (in[d] == 1)
        drop.push_back(d);
  } else {
    auto n = axesOf(im, *axes, in.size());
    if (failed(n))
      return failure();
    for (int64_t a : *n)
      if (in[a] != 1)
        return im.fail("cannot squeeze dimension " + Twine(a) + " of size " +
                       Twine(in[a]));
    drop = *n;
  }
  SmallVector<int64_t> shape;
  for (size_t d = 0; d < in.size(); ++d)
    if (!llvm::is_contained(drop, static_cast<int64_t>(d)))
      shape.push_back(in[d]);
  return reshapeTo(im, *x, shape);
}

LogicalResult importUnsqueeze(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  auto axes = squeezeAxes(im);
  if (failed(x) || failed(axes))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  int64_t outRank = in.size() + axes->size();
  auto n = axesOf(im, *axes, outRank);
  if (failed(n))
    return failure();
  SmallVector<int64_t> shape;
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    shape.push_back(llvm::is_contained(*n, d) ? 1 : in[next++]);
  return reshapeTo(im, *x, shape);
}

LogicalResult importTranspose(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  SmallVector<int64_t> perm;
  if (auto p = im.intsAttr("perm"))
    perm = *p;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  return simple<bbd::TransposeOp>(
      im, {named(im, "permutation", im.builder.getDenseI64ArrayAttr(perm))});
}

LogicalResult importConcat(GraphImporter &im) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < im.numInputs(); ++i) {
    FailureOr<Value> v = im.input(i);
    if (failed(v))
      return failure();
    // ONNX allows empty inputs (a zero-sized dim); they add nothing.
    if (typeOf(*v).getNumElements() == 0 && im.numInputs() > 1)
      continue;
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return im.fail("needs at least one input");
  const auto *axisAttr = im.attr("axis");
  if (!axisAttr)
    return im.fail("missing required attribute 'axis'");
  FailureOr<int64_t> axis =
      axisOf(im, axisAttr->i(), typeOf(inputs[0]).getRank());
  if (failed(axis))
    return failure();
  return im.setOutput(
      0, im.create<bbd::ConcatOp>(
             inputs, {named(im, "axis", im.builder.getI64IntegerAttr(*axis))}));
}

FailureOr<Value> sliceAlong(GraphImporter &im, Value x, int64_t axis,
                            int64_t start, int64_t limit, int64_t stride) {
  ArrayRef<int64_t> shape = typeOf(x).getShape();
  SmallVector<int64_t> starts(shape.size(), 0), limits(shape),
      strides(shape.size(), 1);
  starts[axis] = start;
  limits[axis] = limit;
  strides[axis] = stride;
  return im.create<bbd::SliceOp>(
      x, {named(im, "starts", im.builder.getDenseI64ArrayAttr(starts)),
          named(im, "limits", im.builder.getDenseI64ArrayAttr(limits)),
          named(im, "strides", im.builder.getDenseI64ArrayAttr(strides))});
}

LogicalResult importSplit(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  FailureOr<int64_t> axis =
      axisOf(im, im.intAttr("axis", 0), typeOf(*x).getRank());
  if (failed(axis))
    return failure();
  int64_t dim = typeOf(*x).getDimSize(*axis);
  int64_t outputs = im.node->output_size();
  SmallVector<int64_t> sizes;
  if (im.opset() >= 13 && im.hasInput(1)) {
    auto s = im.intsInput(1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = im.intsAttr("split")) {
    sizes = *s;
  } else {
    int64_t parts =
        im.attr("num_outputs") ? im.intAttr("num_outputs", outputs) : outputs;
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (static_cast<int64_t>(sizes.size()) != outputs ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
    return im.fail("split sizes do not add up to dimension " + Twine(*axis) +
                   " of size " + Twine(dim) + " over " + Twine(outputs) +
                   " outputs");
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    FailureOr<Value> part =
        sliceAlong(im, *x, *axis, offset, offset + sizes[i], 1);
    if (failed(part))
      return failure();
    im.setOutput(i, *part);
    offset += sizes[i];
  }
  return success();
}

LogicalResult importSlice(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = typeOf(*x).getShape();
  int64_t rank = shape.size();
  SmallVector<int64_t> startsIn, endsIn, axes, steps;
  if (im.opset() >= 10) {
    auto s = im.intsInput(1, "starts"), e = im.intsInput(2, "ends");
    if (failed(s) || failed(e))
      return failure();
    startsIn = *s;
    endsIn = *e;
    if (im.hasInput(3)) {
      auto a = im.intsInput(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (im.hasInput(4)) {
      auto st = im.intsInput(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  } else {
    startsIn = im.intsAttr("starts").value_or(SmallVector<int64_t>());
    endsIn = im.intsAttr("ends").value_or(SmallVector<int64_t>());
    axes = im.intsAttr("axes").value_or(SmallVector<int64_t>());
  }
  if (axes.empty())
    for (size_t i = 0; i < startsIn.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(startsIn.size(), 1);
  if (endsIn.size() != startsIn.size() || axes.size() != startsIn.size() ||
      steps.size() != startsIn.size())
    return im.fail("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> starts(rank, 0), limits(shape), strides(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> a = axisOf(im, axes[i], rank, "axes entry");
    if (failed(a))
      return failure();
    int64_t dim = shape[*a], step = steps[i];
    if (step == 0)
      return im.fail("steps must not be 0");
    int64_t s = startsIn[i], e = endsIn[i];
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      e = std::max(e, s);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      e = std::min(e, s);
    }
    starts[*a] = s;
    limits[*a] = e;
    strides[*a] = step;
  }
  return im.setOutput(
      0, im.create<bbd::SliceOp>(
             *x,
             {named(im, "starts", im.builder.getDenseI64ArrayAttr(starts)),
              named(im, "limits", im.builder.getDenseI64ArrayAttr(limits)),
              named(im, "strides", im.builder.getDenseI64ArrayAttr(strides))}));
}

LogicalResult importExpand(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  auto target = im.intsInput(1, "the target shape");
  if (failed(x) || failed(target))
    return failure();
  auto shape = bbd::broadcastShapes(typeOf(*x).getShape(), *target);
  if (failed(shape))
    return im.fail("input shape does not broadcast with the target shape");
  return im.setOutput(
      0,
      im.create<bbd::BroadcastToOp>(
          *x, {}, RankedTensorType::get(*shape, typeOf(*x).getElementType())));
}

LogicalResult importWhere(GraphImporter &im) {
  return simple<bbd::SelectOp>(im, {}, 3);
}

LogicalResult importTrilu(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  if (im.hasInput(1)) {
    auto kv = im.intsInput(1, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return im.fail("k must be a scalar");
    k = (*kv)[0];
  }
  return im.setOutput(
      0, im.create<bbd::TriluOp>(
             *x, {named(im, "upper",
                        im.builder.getBoolAttr(im.intAttr("upper", 1))),
                  named(im, "k", im.builder.getI64IntegerAttr(k))}));
}

LogicalResult importConstant(GraphImporter &im) {
  const auto &attrs = im.node->attribute();
  if (attrs.size() != 1)
    return im.fail("needs exactly one value attribute");
  const onnx::AttributeProto &a = attrs[0];
  Builder &b = im.builder;
  DenseElementsAttr value;
  if (a.name() == "value") {
    onnx::TensorProto tensor = a.t();
    FailureOr<ElementsAttr> attr = im.tensorAttr(tensor);
    if (failed(attr))
      return failure();
    if (auto dense = dyn_cast<DenseElementsAttr>(*attr)) {
      im.setOutput(0, im.constant(dense));
    } else {
      im.setOutput(0, im.builder.create<bbd::ConstantOp>(im.loc, *attr));
    }
    return success();
  }
  if (a.name() == "value_float")
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   a.f());
  else if (a.name() == "value_int")
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(a.i()));
  else if (a.name() == "value_floats")
    value = DenseElementsAttr::get(
        RankedTensorType::get({a.floats_size()}, b.getF32Type()),
        ArrayRef<float>(a.floats().data(), a.floats_size()));
  else if (a.name() == "value_ints")
    value = DenseElementsAttr::get(
        RankedTensorType::get({a.ints_size()}, b.getI64Type()),
        ArrayRef<int64_t>(a.ints().data(), a.ints_size()));
  else
    return im.fail("attribute '" + a.name() + "' is not supported");
  im.setOutput(0, im.constant(value));
  return success();
}

LogicalResult importConstantOfShape(GraphImporter &im) {
  auto shape = im.intsInput(0, "the shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return im.fail("negative dimension in the shape");
  Attribute fill = im.builder.getF32FloatAttr(0.0f);
  Type elt = im.builder.getF32Type();
  if (const auto *v = im.attr("value")) {
    onnx::TensorProto tensor = v->t();
    FailureOr<ElementsAttr> attr = im.tensorAttr(tensor);
    if (failed(attr))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*attr);
    if (!dense || dense.getNumElements() != 1)
      return im.fail("value must hold one element");
    elt = dense.getElementType();
    fill = dense.getValues<Attribute>()[0];
  }
  im.setOutput(0, im.constant(DenseElementsAttr::get(
                      RankedTensorType::get(*shape, elt), fill)));
  return success();
}

LogicalResult importShape(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = typeOf(*x).getShape();
  int64_t rank = shape.size();
  int64_t start = im.intAttr("start", 0), end = im.intAttr("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<int64_t> dims(shape.begin() + start, shape.begin() + end);
  im.setOutput(
      0, im.constant(DenseElementsAttr::get(
             RankedTensorType::get({end - start}, im.builder.getI64Type()),
             ArrayRef<int64_t>(dims))));
  return success();
}

LogicalResult importRange(GraphImporter &im) {
  FailureOr<DenseElementsAttr> s = im.constantInput(0, "start"),
                               l = im.constantInput(1, "limit"),
                               d = im.constantInput(2, "delta");
  if (failed(s) || failed(l) || failed(d))
    return failure();
  Type elt = s->getElementType();
  auto get = [](DenseElementsAttr a) {
    return isa<FloatType>(a.getElementType())
               ? a.getSplatValue<APFloat>().convertToDouble()
               : double(a.getSplatValue<APInt>().getSExtValue());
  };
  double start = get(*s), limit = get(*l), delta = get(*d);
  if (delta == 0)
    return im.fail("delta must not be 0");
  int64_t n = std::max<int64_t>(0, std::ceil((limit - start) / delta));
  auto type = RankedTensorType::get({n}, elt);
  SmallVector<Attribute> vals;
  for (int64_t i = 0; i < n; ++i) {
    double v = start + i * delta;
    vals.push_back(isa<FloatType>(elt)
                       ? Attribute(im.builder.getFloatAttr(elt, v))
                       : Attribute(im.builder.getIntegerAttr(elt, int64_t(v))));
  }
  im.setOutput(0, im.constant(DenseElementsAttr::get(type, vals)));
  return success();
}

LogicalResult importPad(GraphImporter &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  std::string mode = im.stringAttr("mode", "constant");
  SmallVector<int64_t> pads;
  if (im.opset() >= 11) {
    auto p = im.intsInput(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
  } else {
    pads = im.intsAttr("pads").value_or(SmallVector<int64_t>());
  }
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; })) {
    im.setOutput(0, *x);
    return success();
  }
  return im.fail("non-zero padding (mode '" + mode +
                 "') is not supported yet; only all-zero pads are");
}

} // namespace

const llvm::StringMap<OpImporter> &mlir::bb::frontend::opImporters() {
  static const llvm::StringMap<OpImporter> table = [] {
    llvm::StringMap<OpImporter> t;
    t["Add"] = binary<bbd::AddOp>();
    t["Sub"] = binary<bbd::SubOp>();
    t["Mul"] = binary<bbd::MulOp>();
    t["Div"] = binary<bbd::DivOp>();
    t["Pow"] = importPow;
    t["Neg"] = unary<bbd::NegOp>();
    t["Abs"] = unary<bbd::AbsOp>();
    t["Sqrt"] = unary<bbd::SqrtOp>();
    t["Exp"] = unary<bbd::ExpOp>();
    t["Log"] = unary<bbd::LogOp>();
    t["Erf"] = unary<bbd::ErfOp>();
    t["Tanh"] = unary<bbd::TanhOp>();
    t["Sigmoid"] = unary<bbd::SigmoidOp>();
    t["Relu"] = unary<bbd::ReluOp>();
    t["HardSwish"] = unary<bbd::HardSwishOp>();
    t["HardSigmoid"] = importHardSigmoid;
    t["Gelu"] = importGelu;
    t["Equal"] = compare(bbd::ComparePredicate::eq);
    t["Less"] = compare(bbd::ComparePredicate::lt);
    t["LessOrEqual"] = compare(bbd::ComparePredicate::le);
    t["Greater"] = compare(bbd::ComparePredicate::gt);
    t["GreaterOrEqual"] = compare(bbd::ComparePredicate::ge);
    t["Where"] = importWhere;
    t["Cast"] = importCast;
    t["Softmax"] = softmax<bbd::SoftmaxOp>();
    t["LogSoftmax"] = softmax<bbd::LogSoftmaxOp>();
    t["MatMul"] = importMatMul;
    t["Gemm"] = importGemm;
    t["Conv"] = importConv;
    t["MaxPool"] = pool<bbd::MaxPoolOp>();
    t["AveragePool"] = pool<bbd::AvgPoolOp>();
    t["GlobalAveragePool"] = globalPool<bbd::ReduceMeanOp>();
    t["GlobalMaxPool"] = globalPool<bbd::ReduceMaxOp>();
    t["BatchNormalization"] = importBatchNorm;
    t["LayerNormalization"] = importLayerNorm;
    t["ReduceMean"] = reduction<bbd::ReduceMeanOp>(18);
    t["ReduceSum"] = reduction<bbd::ReduceSumOp>(13);
    t["ReduceMax"] = reduction<bbd::ReduceMaxOp>(18);
    t["Gather"] = importGather;
    t["Reshape"] = importReshape;
    t["Flatten"] = importFlatten;
    t["Squeeze"] = importSqueeze;
    t["Unsqueeze"] = importUnsqueeze;
    t["Transpose"] = importTranspose;
    t["Concat"] = importConcat;
    t["Split"] = importSplit;
    t["Slice"] = importSlice;
    t["Expand"] = importExpand;
    t["Trilu"] = importTrilu;
    t["Range"] = importRange;
    t["Constant"] = importConstant;
    t["ConstantOfShape"] = importConstantOfShape;
    t["Shape"] = importShape;
    t["Identity"] = importIdentity;
    t["Dropout"] = importDropout;
    t["Pad"] = importPad;
    return t;
  }();
  return table;
}

std::vector<std::string> mlir::bb::frontend::supportedOpTypes() {
  std::vector<std::string> names;
  for (const auto &entry : opImporters())
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}
