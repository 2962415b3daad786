//===- Optimizer.cu - SGD and AdamW updates on the GPU ---------------------===//
//
// The formulas of runtime/cpu/Optimizer.cpp, elementwise in f32; the scalar
// inputs (lr, step, gradScale) live in device memory, so each thread reads
// them and AdamW's per-step factors are computed in double per block, as
// the CPU runtime computes them once per call. A non-finite gradScale skips
// the update (the outputs are the inputs; dynamic loss scaling's overflowed
// steps), decided on the device, so the host never waits for it.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/Common.cuh"

namespace bbrt {
namespace cuda {
namespace {

/// out = in, unless they are one buffer (the in-place update).
__device__ void keep(const float *in, float *out, int64_t i) {
  if (out != in)
    out[i] = in[i];
}

__global__ void sgdKernel(const float *p, const float *g, const float *b,
                          const float *lr, const float *gradScale, float *po,
                          float *bo, int64_t n, float mu, float wd,
                          bool nesterov) {
  const float rate = *lr, scale = *gradScale;
  if (!isfinite(scale)) {
    BBRT_GRID_LOOP(i, n) {
      keep(p, po, i);
      keep(b, bo, i);
    }
    return;
  }
  BBRT_GRID_LOOP(i, n) {
    const float pi = p[i];
    const float gi = g[i] * scale + wd * pi;
    const float bi = mu * b[i] + gi;
    bo[i] = bi;
    po[i] = pi - rate * (nesterov ? gi + mu * bi : bi);
  }
}

__global__ void adamwKernel(const float *p, const float *g, const float *m,
                            const float *v, const float *lr, const float *step,
                            const float *gradScale, float *po, float *mo,
                            float *vo, int64_t n, float beta1, float beta2,
                            float eps, float weightDecay, KernelError *err) {
  const double rate = *lr, t = *step;
  const float scale = *gradScale;
  // The CPU runtime's check: step 0 (or NaN) would divide by 1 - beta1^0 =
  // 0 and turn every parameter into inf or NaN. Reported, state kept.
  const bool badStep = isfinite(scale) && !(t >= 1);
  if (badStep && blockIdx.x == 0 && threadIdx.x == 0) {
    long long bits;
    memcpy(&bits, &t, sizeof bits);
    report(err, kAdamStep, bits, 0, 0);
  }
  if (!isfinite(scale) || badStep) {
    BBRT_GRID_LOOP(i, n) {
      keep(p, po, i);
      keep(m, mo, i);
      keep(v, vo, i);
    }
    return;
  }
  const float decay = static_cast<float>(1.0 - rate * weightDecay);
  const float stepSize = static_cast<float>(rate / (1.0 - pow(double(beta1), t)));
  const float bc2Sqrt = static_cast<float>(sqrt(1.0 - pow(double(beta2), t)));
  const float omb1 = static_cast<float>(1.0 - double(beta1));
  const float omb2 = static_cast<float>(1.0 - double(beta2));
  BBRT_GRID_LOOP(i, n) {
    const float gi = g[i] * scale;
    const float mn = beta1 * m[i] + omb1 * gi;
    const float vn = beta2 * v[i] + omb2 * (gi * gi);
    const float denom = sqrtf(vn) / bc2Sqrt + eps;
    po[i] = p[i] * decay - stepSize * (mn / denom);
    mo[i] = mn;
    vo[i] = vn;
  }
}

void checkLike(const char *k, const char *what, const Tensor &t,
               const Tensor &param) {
  checkDType(k, what, t, DType::F32);
  if (t.shape != param.shape)
    fail("%s: %s has shape %s, the parameter %s", k, what,
         formatDims(t.shape).c_str(), formatDims(param.shape).c_str());
}

void checkScalar(const char *k, const char *what, const Tensor &t) {
  checkDType(k, what, t, DType::F32);
  if (t.numel() != 1 || !t.data)
    fail("%s: %s must be an f32 scalar, got %s", k, what,
         formatDims(t.shape).c_str());
}

} // namespace
} // namespace cuda

using namespace cuda;

void sgdUpdate(Tensor param, Tensor grad, Tensor buf, Tensor lr,
               Tensor gradScale, Tensor paramOut, Tensor bufOut,
               float momentum, float weightDecay, bool nesterov) {
  const char *k = "sgdUpdate";
  checkDType(k, "param", param, DType::F32);
  checkLike(k, "grad", grad, param);
  checkLike(k, "momentum buffer", buf, param);
  checkLike(k, "param output", paramOut, param);
  checkLike(k, "momentum buffer output", bufOut, param);
  checkScalar(k, "lr", lr);
  checkScalar(k, "gradScale", gradScale);
  const int64_t n = param.numel();
  if (n == 0)
    return;
  sgdKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
      static_cast<const float *>(param.data),
      static_cast<const float *>(grad.data),
      static_cast<const float *>(buf.data), static_cast<const float *>(lr.data),
      static_cast<const float *>(gradScale.data),
      static_cast<float *>(paramOut.data), static_cast<float *>(bufOut.data), n,
      momentum, weightDecay, nesterov);
  checkLaunch(k);
}

void adamwUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor lr,
                 Tensor step, Tensor gradScale, Tensor paramOut, Tensor mOut,
                 Tensor vOut, float beta1, float beta2, float eps,
                 float weightDecay) {
  const char *k = "adamwUpdate";
  checkDType(k, "param", param, DType::F32);
  checkLike(k, "grad", grad, param);
  checkLike(k, "exp_avg", m, param);
  checkLike(k, "exp_avg_sq", v, param);
  checkLike(k, "param output", paramOut, param);
  checkLike(k, "exp_avg output", mOut, param);
  checkLike(k, "exp_avg_sq output", vOut, param);
  checkScalar(k, "lr", lr);
  checkScalar(k, "step", step);
  checkScalar(k, "gradScale", gradScale);
  const int64_t n = param.numel();
  if (n == 0)
    return;
  adamwKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
      static_cast<const float *>(param.data),
      static_cast<const float *>(grad.data), static_cast<const float *>(m.data),
      static_cast<const float *>(v.data), static_cast<const float *>(lr.data),
      static_cast<const float *>(step.data),
      static_cast<const float *>(gradScale.data),
      static_cast<float *>(paramOut.data), static_cast<float *>(mOut.data),
      static_cast<float *>(vOut.data), n, beta1, beta2, eps, weightDecay,
      kernelError());
  checkLaunch(k);
}

} // namespace bbrt
