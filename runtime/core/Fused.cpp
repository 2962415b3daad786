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

FusedPlan planFused(const Tensor &out, const Tensor *ins, int count) {
  const char *k = "fusedElementwise";
  if (count < 1 || count > kMaxFusedInputs)
    fail("%s: %d inputs, expected 1 to %d", k, count, kMaxFusedInputs);
  checkDType(k, "output", out, DType::F32);
  checkData(k, "output", out);
  const int rank = out.shape.rank;
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
      if (size != 1 && size != out.shape.d[d])
        fits = false;
      strides[i][d] = size == 1 ? 0 : stride;
      stride *= size;
    }
    if (!fits)
      fail("%s: input %d of shape %s does not broadcast to the output's %s", k,
           i, formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  }
  FusedPlan plan;
  plan.numel = out.numel();
  for (int d = 0; d < rank; ++d) {
    const int64_t size = out.shape.d[d];
    if (size == 1)
      continue;
    bool merge = plan.rank > 0;
    for (int i = 0; merge && i < count; ++i)
      merge = plan.strides[i][plan.rank - 1] == strides[i][d] * size;
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
  if (plan.rank == 0) { // one element (or a rank-0 output)
    plan.rank = 1;
    plan.dims[0] = 1;
  }
  return plan;
}

} // namespace bbrt
