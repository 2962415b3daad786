//===- Fused.cpp - the plan of the compiler's fused elementwise kernels ---===//
//
// Both runtimes' fused kernels (bbrt/fused.h) walk the output with each
// input's strides along its dimensions (0 where the input broadcasts);
// merging adjacent dimensions wherever every input allows it leaves the
// common cases (same shapes, a bias along the last dimension, a row
// statistic) with one or two dimensions.
//
//===----------------------------------------------------------------------===//
#include "bbrt/fused.h"
#include "runtime/core/Util.h"

namespace bbrt {

namespace {

/// The walk over `shape` (rank r): each input's strides, adjacent dimensions
/// merged where every input allows it and `group` (0 or 1 per dimension:
/// summed or kept, for reductions) is the same.
FusedPlan planWalk(const char *k, const Dims &shape, const Tensor *ins,
                   int count, const int *group) {
  if (count < 1 || count > kMaxFusedInputs)
    fail("%s: %d inputs, expected 1 to %d", k, count, kMaxFusedInputs);
  const int rank = shape.rank;
  int64_t strides[kMaxFusedInputs][kMaxRank] = {};
  for (int i = 0; i < count; ++i) {
    const Tensor &in = ins[i];
    checkDType(k, "input", in, DType::F32);
    checkData(k, "input", in);
    const int lead = rank - in.shape.rank;
    bool fits = lead >= 0;
    int64_t stride = 1;
    for (int d = rank - 1; fits && d >= 0; --d) {
      const int64_t size = d >= lead ? in.shape.d[d - lead] : 1;
      if (size != 1 && size != shape.d[d])
        fits = false;
      strides[i][d] = size == 1 ? 0 : stride;
      stride *= size;
    }
    if (!fits)
      fail("%s: input %d of shape %s does not broadcast to %s", k, i,
           formatDims(in.shape).c_str(), formatDims(shape).c_str());
  }
  FusedPlan plan;
  plan.numel = shape.numel();
  int lastGroup = -1;
  for (int d = 0; d < rank; ++d) {
    const int64_t size = shape.d[d];
    if (size == 1)
      continue;
    bool merge = plan.rank > 0 && group[d] == lastGroup;
    for (int i = 0; merge && i < count; ++i)
      merge = plan.strides[i][plan.rank - 1] == strides[i][d] * size;
    lastGroup = group[d];
    if (merge) {
      plan.dims[plan.rank - 1] *= size;
      for (int i = 0; i < count; ++i)
        plan.strides[i][plan.rank - 1] = strides[i][d];
      continue;
    }
    plan.dims[plan.rank] = size;
    for (int i = 0; i < count; ++i)
      plan.strides[i][plan.rank] = strides[i][d];
    ++plan.rank;
  }
  if (plan.rank == 0) { // one element (or a rank-0 shape)
    plan.rank = 1;
    plan.dims[0] = 1;
  }
  return plan;
}

} // namespace

FusedPlan planFused(const Tensor &out, const Tensor *ins, int count) {
  const char *k = "fusedElementwise";
  checkDType(k, "output", out, DType::F32);
  checkData(k, "output", out);
  const int same[kMaxRank] = {};
  FusedPlan plan = planWalk(k, out.shape, ins, count, same);
  return plan;
}

FusedReducePlan planFusedReduce(const Tensor &out, const Dims &shape,
                                const Dims &axes, bool mean, const Tensor *ins,
                                int count) {
  const char *k = "fusedReduce";
  checkDType(k, "output", out, DType::F32);
  checkData(k, "output", out);
  int summed[kMaxRank] = {};
  for (int i = 0; i < axes.rank; ++i) {
    const int64_t a = axes.d[i];
    if (a < 0 || a >= shape.rank || (i > 0 && a <= axes.d[i - 1]))
      fail("%s: axes %s are not sorted axes of shape %s", k,
           formatDims(axes).c_str(), formatDims(shape).c_str());
    summed[a] = 1;
  }
  const bool leading = axes.rank > 0 && axes.d[axes.rank - 1] == axes.rank - 1;
  const bool trailing = axes.rank > 0 && axes.d[0] == shape.rank - axes.rank;
  if (!leading && !trailing)
    fail("%s: axes %s of shape %s are neither leading nor trailing", k,
         formatDims(axes).c_str(), formatDims(shape).c_str());
  FusedReducePlan plan;
  plan.walk = planWalk(k, shape, ins, count, summed);
  plan.trailing = trailing;
  for (int d = 0; d < shape.rank; ++d)
    (summed[d] ? plan.reduced : plan.kept) *= shape.d[d];
  if (out.numel() != plan.kept)
    fail("%s: the output has %lld elements, the kept axes of %s %lld", k,
         (long long)out.numel(), formatDims(shape).c_str(),
         (long long)plan.kept);
  plan.scale = mean && plan.reduced ? 1.0 / static_cast<double>(plan.reduced) : 1.0;
  return plan;
}

} // namespace bbrt
