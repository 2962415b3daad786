//===- Optimizer.cpp - training kernels: SGD and AdamW parameter updates --===//
//
// The compiler updates parameters and optimizer state in place, so each
// output may be the very buffer of its input (never a partial overlap). The
// loops read every element of an index before writing that index and carry
// nothing from one index to the next, which is what `omp simd` asserts: it
// vectorizes them without the runtime alias checks that would otherwise send
// the in-place case down the scalar path.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/Common.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace bbrt {
namespace {

/// Checks an F32 operand with param's element count.
void checkLike(const char *k, const char *what, const Tensor &t,
               const Tensor &param) {
  checkDType(k, what, t, DType::F32);
  checkData(k, what, t);
  if (t.shape != param.shape)
    fail("%s: %s has shape %s, the parameter %s", k, what,
         formatDims(t.shape).c_str(), formatDims(param.shape).c_str());
}

float scalarOf(const char *k, const char *what, const Tensor &t) {
  checkDType(k, what, t, DType::F32);
  if (t.numel() != 1 || !t.data)
    fail("%s: %s must be an f32 scalar, got %s", k, what,
         formatDims(t.shape).c_str());
  return *static_cast<const float *>(t.data);
}

/// A non-finite gradient scale skips the update (dynamic loss scaling's
/// step whose gradients overflowed): the outputs are the inputs. Returns
/// whether it did.
bool skipped(float scale, std::initializer_list<std::pair<Tensor, Tensor>> io) {
  if (std::isfinite(scale))
    return false;
  for (const auto &[in, out] : io)
    if (out.data != in.data)
      std::memcpy(out.data, in.data, static_cast<size_t>(in.nbytes()));
  return true;
}

} // namespace

void sgdUpdate(Tensor param, Tensor grad, Tensor buf, Tensor lr,
               Tensor gradScale, Tensor paramOut, Tensor bufOut,
               float momentum, float weightDecay, bool nesterov) {
  const char *k = "sgdUpdate";
  checkDType(k, "param", param, DType::F32);
  checkData(k, "param", param);
  checkLike(k, "grad", grad, param);
  checkLike(k, "momentum buffer", buf, param);
  checkLike(k, "param output", paramOut, param);
  checkLike(k, "momentum buffer output", bufOut, param);
  const float rate = scalarOf(k, "lr", lr);
  const float scale = scalarOf(k, "gradScale", gradScale);
  if (skipped(scale, {{param, paramOut}, {buf, bufOut}}))
    return;
  const float *p = static_cast<const float *>(param.data);
  const float *g = static_cast<const float *>(grad.data);
  const float *b = static_cast<const float *>(buf.data);
  float *po = static_cast<float *>(paramOut.data);
  float *bo = static_cast<float *>(bufOut.data);
  const float mu = momentum, wd = weightDecay;
  auto update = [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float pi = p[i];
      const float gi = g[i] * scale + wd * pi;
      const float bi = mu * b[i] + gi;
      bo[i] = bi;
      po[i] = pi - rate * (nesterov ? gi + mu * bi : bi);
    }
  };
  cpu::parallelRange(param.numel(), param.numel() >= cpu::kParallelMin,
                     update);
}

void adamwUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor lr,
                 Tensor step, Tensor gradScale, Tensor paramOut, Tensor mOut,
                 Tensor vOut, float beta1, float beta2, float eps,
                 float weightDecay) {
  const char *k = "adamwUpdate";
  checkDType(k, "param", param, DType::F32);
  checkData(k, "param", param);
  checkLike(k, "grad", grad, param);
  checkLike(k, "exp_avg", m, param);
  checkLike(k, "exp_avg_sq", v, param);
  checkLike(k, "param output", paramOut, param);
  checkLike(k, "exp_avg output", mOut, param);
  checkLike(k, "exp_avg_sq output", vOut, param);
  const double rate = scalarOf(k, "lr", lr);
  const double t = scalarOf(k, "step", step);
  const float scale = scalarOf(k, "gradScale", gradScale);
  if (skipped(scale, {{param, paramOut}, {m, mOut}, {v, vOut}}))
    return;
  if (!(t >= 1))
    fail("%s: step %g is not a 1-based step number", k, t);
  // Per-step factors in double, then rounded once to float, as
  // torch.optim.AdamW computes them (Python floats) before its float kernels.
  const float decay = static_cast<float>(1.0 - rate * weightDecay);
  const float stepSize =
      static_cast<float>(rate / (1.0 - std::pow(double(beta1), t)));
  const float bc2Sqrt =
      static_cast<float>(std::sqrt(1.0 - std::pow(double(beta2), t)));
  const float b1 = beta1, b2 = beta2;
  const float omb1 = static_cast<float>(1.0 - double(beta1));
  const float omb2 = static_cast<float>(1.0 - double(beta2));
  const float epsilon = eps;
  const float *p = static_cast<const float *>(param.data);
  const float *g = static_cast<const float *>(grad.data);
  const float *mi = static_cast<const float *>(m.data);
  const float *vi = static_cast<const float *>(v.data);
  float *po = static_cast<float *>(paramOut.data);
  float *mo = static_cast<float *>(mOut.data);
  float *vo = static_cast<float *>(vOut.data);
  auto update = [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i] * scale;
      const float mn = b1 * mi[i] + omb1 * gi;
      const float vn = b2 * vi[i] + omb2 * (gi * gi);
      const float denom = std::sqrt(vn) / bc2Sqrt + epsilon;
      po[i] = p[i] * decay - stepSize * (mn / denom);
      mo[i] = mn;
      vo[i] = vn;
    }
  };
  // sqrt and a division per element: parallel from fewer elements than SGD.
  cpu::parallelRange(param.numel(), param.numel() >= cpu::kParallelMinHeavy,
                     update);
}

} // namespace bbrt
