//===- KernelArgs.cpp - checked operands of kernels of both runtimes ------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/core/Util.h"

#include <initializer_list>
#include <utility>

namespace bbrt {

GatherShape checkGather(const Tensor &data, const Tensor &indices,
                        const Tensor &out, int64_t axis) {
  const char *k = "gather";
  checkDType(k, "output", out, data.dtype);
  if (indices.dtype != DType::I64 && indices.dtype != DType::I32)
    fail("%s: indices have dtype %s, expected i64 or i32", k,
         dtypeName(indices.dtype));
  const int r = data.shape.rank;
  if (r < 1)
    fail("%s: data must have rank >= 1", k);
  GatherShape g;
  g.axis = static_cast<int>(normAxis(k, axis, r));
  // out = data[:a] + indices.shape + data[a+1:]
  const int orank = r - 1 + indices.shape.rank;
  bool ok = orank == out.shape.rank && orank <= kMaxRank;
  if (ok) {
    int j = 0;
    for (int i = 0; i < g.axis; ++i)
      ok &= out.shape.d[j++] == data.shape.d[i];
    for (int i = 0; i < indices.shape.rank; ++i)
      ok &= out.shape.d[j++] == indices.shape.d[i];
    for (int i = g.axis + 1; i < r; ++i)
      ok &= out.shape.d[j++] == data.shape.d[i];
  }
  if (!ok)
    fail("%s: output %s does not match data %s, indices %s, axis %lld", k,
         formatDims(out.shape).c_str(), formatDims(data.shape).c_str(),
         formatDims(indices.shape).c_str(), (long long)axis);
  g.A = data.shape.d[g.axis];
  for (int i = 0; i < g.axis; ++i)
    g.outer *= data.shape.d[i];
  for (int i = g.axis + 1; i < r; ++i)
    g.inner *= data.shape.d[i];
  g.n = indices.numel();
  return g;
}

NormRows checkLayerNorm(const Tensor &x, const Tensor &scale,
                        const Tensor &bias, const Tensor &out, int64_t axis,
                        const char *k) {
  if (x.shape != out.shape || x.dtype != out.dtype)
    fail("%s: output %s %s differs from input %s %s", k, dtypeName(out.dtype),
         formatDims(out.shape).c_str(), dtypeName(x.dtype),
         formatDims(x.shape).c_str());
  const int a = static_cast<int>(normAxis(k, axis, x.shape.rank));
  NormRows n;
  for (int i = a; i < x.shape.rank; ++i)
    n.D *= x.shape.d[i];
  n.rows = n.D == 0 ? 0 : x.numel() / n.D;
  if (scale.numel() != n.D)
    fail("%s: scale has %lld elements, the normalized dims %lld", k,
         (long long)scale.numel(), (long long)n.D);
  checkDType(k, "scale", scale, x.dtype);
  if (!bias.empty()) {
    if (bias.numel() != n.D)
      fail("%s: bias has %lld elements, the normalized dims %lld", k,
           (long long)bias.numel(), (long long)n.D);
    checkDType(k, "bias", bias, x.dtype);
  }
  return n;
}

NormRows checkLayerNormGrad(const Tensor &x, const Tensor &scale,
                            const Tensor &dy, const Tensor &dx,
                            const Tensor &dscale, const Tensor &dbias,
                            int64_t axis) {
  const char *k = "layerNormGrad";
  const NormRows n = checkLayerNorm(x, scale, none(), dx, axis, k);
  checkDType(k, "input", x, DType::F32);
  if (dy.shape != x.shape)
    fail("%s: output gradient %s differs from input %s", k,
         formatDims(dy.shape).c_str(), formatDims(x.shape).c_str());
  checkDType(k, "output gradient", dy, DType::F32);
  for (const auto &[what, t] : {std::pair("scale gradient", &dscale),
                                std::pair("bias gradient", &dbias)}) {
    if (t->numel() != n.D)
      fail("%s: %s has %lld elements, the normalized dims %lld", k, what,
           (long long)t->numel(), (long long)n.D);
    checkDType(k, what, *t, DType::F32);
  }
  for (const auto &[what, t] :
       {std::pair("input", &x), std::pair("scale", &scale),
        std::pair("output gradient", &dy), std::pair("input gradient", &dx),
        std::pair("scale gradient", &dscale), std::pair("bias gradient", &dbias)})
    checkData(k, what, *t);
  return n;
}

ReduceDims checkReduce(const char *k, const Tensor &x, const Tensor &out,
                       const Dims &axes) {
  checkDType(k, "output", out, x.dtype);
  ReduceDims r;
  for (int i = 0; i < axes.rank; ++i) {
    const int64_t a = axes.d[i];
    if (a < 0 || a >= x.shape.rank || (i > 0 && a <= axes.d[i - 1]))
      fail("%s: axes must be sorted, unique and in [0, %d), got %s", k,
           x.shape.rank, formatDims(axes).c_str());
    r.reduced[a] = true;
  }
  for (int i = 0; i < x.shape.rank; ++i)
    (r.reduced[i] ? r.count : r.kept) *= x.shape.d[i];
  if (out.numel() != r.kept)
    fail("%s: output %s does not hold the kept dims of %s (axes %s)", k,
         formatDims(out.shape).c_str(), formatDims(x.shape).c_str(),
         formatDims(axes).c_str());
  return r;
}

namespace {

/// f32 with data, each operand named in the errors.
void checkF32(const char *k,
              std::initializer_list<std::pair<const char *, const Tensor *>> ts) {
  for (const auto &[what, t] : ts) {
    checkDType(k, what, *t, DType::F32);
    checkData(k, what, *t);
  }
}

} // namespace

bool checkLinearBias(const Tensor &bias, const Tensor &out) {
  const char *k = "linear";
  checkData(k, "bias", bias);
  checkData(k, "output", out);
  const bool addend = bias.shape == out.shape;
  if ((out.dtype != DType::F32 && out.dtype != DType::F64) ||
      bias.dtype != out.dtype ||
      (!addend && (bias.shape.rank != 1 || out.shape.rank < 1 ||
                   bias.shape.d[0] != out.shape.d[out.shape.rank - 1])))
    fail("%s: bias %s %s does not fit output %s %s (a vector of the output's "
         "f32 or f64 dtype along its last dimension, or an addend of its "
         "shape)",
         k, dtypeName(bias.dtype), formatDims(bias.shape).c_str(),
         dtypeName(out.dtype), formatDims(out.shape).c_str());
  return addend;
}

Geom checkPool(const char *k, const Tensor &x, const Tensor &out,
               const Dims &kernel, const Dims &strides, const Dims &pads,
               const Dims &dilations) {
  if (x.dtype != out.dtype)
    fail("%s: output dtype %s differs from input dtype %s", k,
         dtypeName(out.dtype), dtypeName(x.dtype));
  checkData(k, "input", x);
  checkData(k, "output", out);
  return checkedPoolGeom(k, "output", x, out, kernel, strides, pads,
                         dilations);
}

Geom checkConvInputGrad(const Tensor &dy, const Tensor &w, const Tensor &dx,
                        const Dims &strides, const Dims &pads,
                        const Dims &dilations, int64_t group) {
  const char *k = "convInputGrad";
  checkF32(k,
           {{"output gradient", &dy}, {"weight", &w}, {"input gradient", &dx}});
  return checkedConvGeom(k, "output gradient", dx, w, dy, strides, pads,
                         dilations, group);
}

Geom checkConvWeightGrad(const Tensor &x, const Tensor &dy, const Tensor &dw,
                         const Dims &strides, const Dims &pads,
                         const Dims &dilations, int64_t group) {
  const char *k = "convWeightGrad";
  checkF32(k,
           {{"input", &x}, {"output gradient", &dy}, {"weight gradient", &dw}});
  return checkedConvGeom(k, "output gradient", x, dw, dy, strides, pads,
                         dilations, group);
}

Geom checkMaxPoolGrad(const Tensor &x, const Tensor &dy, const Tensor &dx,
                      const Dims &kernel, const Dims &strides,
                      const Dims &pads) {
  const char *k = "maxPoolGrad";
  checkF32(k,
           {{"input", &x}, {"output gradient", &dy}, {"input gradient", &dx}});
  if (dx.shape != x.shape)
    fail("%s: input gradient %s differs from input %s", k,
         formatDims(dx.shape).c_str(), formatDims(x.shape).c_str());
  return checkedPoolGeom(k, "output gradient", x, dy, kernel, strides, pads,
                         Dims());
}

Geom checkAvgPoolGrad(const Tensor &dy, const Tensor &dx, const Dims &kernel,
                      const Dims &strides, const Dims &pads) {
  const char *k = "avgPoolGrad";
  checkF32(k, {{"output gradient", &dy}, {"input gradient", &dx}});
  return checkedPoolGeom(k, "output gradient", dx, dy, kernel, strides, pads,
                         Dims());
}


namespace {

/// The strides of `t` (kernel operand `what`), right-aligned with the
/// scores [..., T, S]; 0 where it broadcasts.
ScoreOperand scoreOperand(const char *k, const char *what, const Tensor &t,
                          const Tensor &q, const AttentionShape &a) {
  ScoreOperand o;
  if (t.empty())
    return o;
  const int r = q.shape.rank, tr = t.shape.rank;
  if (tr > r)
    fail("%s: %s %s has more dims than the scores", k, what,
         formatDims(t.shape).c_str());
  int64_t stride = 1;
  int64_t strides[kMaxRank] = {};
  for (int d = r - 1; d >= 0; --d) {
    const int td = d - (r - tr);
    const int64_t want = d == r - 1 ? a.S : d == r - 2 ? a.T : q.shape.d[d];
    if (td < 0)
      continue;
    const int64_t have = t.shape.d[td];
    if (have != want && have != 1)
      fail("%s: %s %s does not broadcast to the scores", k, what,
           formatDims(t.shape).c_str());
    strides[d] = have == 1 ? 0 : stride;
    stride *= have;
  }
  for (int d = 0; d < r - 2; ++d)
    o.batchStride[d] = strides[d];
  o.t = strides[r - 2];
  o.s = strides[r - 1];
  o.present = true;
  return o;
}

} // namespace

AttentionShape checkAttention(const char *k, const Tensor &q, const Tensor &key,
                              const Tensor &v, const Tensor &mask,
                              const Tensor &bias, const Tensor &out,
                              const Tensor &lse) {
  checkDType(k, "query", q, DType::F32);
  checkDType(k, "key", key, DType::F32);
  checkDType(k, "value", v, DType::F32);
  const int r = q.shape.rank;
  auto shapes = [&] {
    return strformat("query %s, key %s, value %s", formatDims(q.shape).c_str(),
                     formatDims(key.shape).c_str(), formatDims(v.shape).c_str());
  };
  if (r < 2 || key.shape.rank != r || v.shape.rank != r)
    fail("%s: %s need one rank >= 2", k, shapes().c_str());
  AttentionShape a;
  a.batchDims = r - 2;
  for (int d = 0; d < r - 2; ++d) {
    if (key.shape.d[d] != q.shape.d[d] || v.shape.d[d] != q.shape.d[d])
      fail("%s: %s differ in their leading dims", k, shapes().c_str());
    a.batchSize[d] = q.shape.d[d];
    a.batch *= q.shape.d[d];
  }
  a.T = q.shape.d[r - 2];
  a.D = q.shape.d[r - 1];
  a.S = key.shape.d[r - 2];
  a.E = v.shape.d[r - 1];
  if (key.shape.d[r - 1] != a.D || v.shape.d[r - 2] != a.S)
    fail("%s: %s are not [..., T, D], [..., S, D], [..., S, E]", k,
         shapes().c_str());
  Dims o = q.shape;
  o.d[r - 1] = a.E;
  if (out.shape != o)
    fail("%s: output %s, expected %s", k, formatDims(out.shape).c_str(),
         formatDims(o).c_str());
  checkDType(k, "output", out, DType::F32);
  Dims l = q.shape;
  l.rank = r - 1;
  if (lse.shape != l)
    fail("%s: logsumexp %s, expected %s", k, formatDims(lse.shape).c_str(),
         formatDims(l).c_str());
  checkDType(k, "logsumexp", lse, DType::F32);
  if (!mask.empty())
    checkDType(k, "mask", mask, DType::Bool);
  if (!bias.empty())
    checkDType(k, "bias", bias, DType::F32);
  a.mask = scoreOperand(k, "mask", mask, q, a);
  a.bias = scoreOperand(k, "bias", bias, q, a);
  return a;
}

void checkAttentionGrads(const AttentionShape &a, const Tensor &q,
                         const Tensor &k, const Tensor &v, const Tensor &dq,
                         const Tensor &dk, const Tensor &dv,
                         const Tensor &dbias) {
  const char *kn = "attentionGrad";
  auto same = [&](const char *what, const Tensor &t, const Dims &like) {
    if (t.shape != like)
      fail("%s: %s %s, expected %s", kn, what, formatDims(t.shape).c_str(),
           formatDims(like).c_str());
    checkDType(kn, what, t, DType::F32);
  };
  same("query gradient", dq, q.shape);
  same("key gradient", dk, k.shape);
  same("value gradient", dv, v.shape);
  if (!dbias.empty()) {
    Dims scores = q.shape;
    scores.d[scores.rank - 1] = a.S;
    same("scores gradient", dbias, scores);
  }
}

} // namespace bbrt
