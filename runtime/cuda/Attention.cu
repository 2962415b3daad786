//===- Attention.cu - scaled dot-product attention on the GPU -------------===//
//
// Semantics of runtime/cpu/Attention.cpp. The problems run in chunks whose
// scores fit a scratch of kScratchBytes: the scores of a chunk are one
// strided-batched product (bbrt::matmul, cuBLASLt), the masked softmax a
// block per query row (maximum subtracted, the sum in double, lse written),
// the output one more product. The backward pass recomputes the
// probabilities the same way, then dV = P^T dO, dP = dO V^T,
// dS = P (dP - rowsum(P dP)) scale (a block per row), dQ = dS K,
// dK = dS^T Q, each product one call per chunk. Reduced-precision products
// (bb.attention's `products`) are cuBLASLt's f32 products that round their
// operands on the tensor cores (matmulRounded). Unlike the CPU runtime it
// computes the masked upper triangle of a causal mask too.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Reduce.cuh"

#include <algorithm>

namespace bbrt {
namespace cuda {
namespace {

constexpr size_t kScratchBytes = size_t(256) << 20;

/// Whether score (t, j) of problem b is removed.
__device__ bool removed(const AttentionShape &a, const bool *mask, int64_t b,
                        int64_t t, int64_t j) {
  return a.mask.present &&
         mask[a.offset(a.mask, b) + t * a.mask.t + j * a.mask.s];
}

/// Scaled score (t, j) of problem b with its bias added (-inf if removed).
__device__ float scaled(const AttentionShape &a, const bool *mask,
                        const float *bias, int64_t b, int64_t t, int64_t j,
                        float s, float scale) {
  if (removed(a, mask, b, t, j))
    return -INFINITY;
  s *= scale;
  if (a.bias.present)
    s += bias[a.offset(a.bias, b) + t * a.bias.t + j * a.bias.s];
  return s;
}

/// One block per query row of problems [b0, b0 + count): scales and masks
/// the row's scores in `s` and turns them into probabilities; writes lse.
__global__ void softmaxScoresKernel(AttentionShape a, const bool *mask,
                                    const float *bias, int64_t b0, float *s,
                                    float *lse, float scale) {
  __shared__ double sharedD[32];
  __shared__ float sharedF[32];
  const int64_t row = blockIdx.x; // within the chunk
  const int64_t b = b0 + row / a.T, t = row % a.T;
  float *r = s + row * a.S;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < a.S; j += blockDim.x) {
    const float v = scaled(a, mask, bias, b, t, j, r[j], scale);
    r[j] = v;
    m = (v > m || isnan(v)) ? v : m;
  }
  m = blockMax(m, sharedF);
  if (m == -INFINITY) { // every key removed
    for (int64_t j = threadIdx.x; j < a.S; j += blockDim.x)
      r[j] = 0.f;
    if (threadIdx.x == 0)
      lse[b * a.T + t] = -INFINITY;
    return;
  }
  double sum = 0;
  for (int64_t j = threadIdx.x; j < a.S; j += blockDim.x) {
    const float e = expf(r[j] - m);
    r[j] = e;
    sum += e;
  }
  sum = blockSum(sum, sharedD);
  const float inv = float(1.0 / sum);
  for (int64_t j = threadIdx.x; j < a.S; j += blockDim.x)
    r[j] *= inv;
  if (threadIdx.x == 0)
    lse[b * a.T + t] = m + float(::log(sum));
}

/// P = exp(scale s + bias - lse) (0 where removed) over the chunk's scores.
__global__ void probabilitiesKernel(AttentionShape a, const bool *mask,
                                    const float *bias, int64_t b0,
                                    int64_t count, float *s, const float *lse,
                                    float scale) {
  BBRT_GRID_LOOP(i, count * a.T * a.S) {
    const int64_t row = i / a.S, j = i % a.S;
    const int64_t b = b0 + row / a.T, t = row % a.T;
    const float l = lse[b * a.T + t];
    const float v = scaled(a, mask, bias, b, t, j, s[i], scale);
    s[i] = v == -INFINITY || l == -INFINITY ? 0.f : expf(v - l);
  }
}

/// dB = P (dP - rowsum(P dP)) into db (when given), dS = dB scale in dp; a
/// block per row.
__global__ void scoreGradKernel(int64_t S, const float *p, float *dp,
                                float *db, float scale) {
  __shared__ double shared[32];
  const float *pr = p + blockIdx.x * S;
  float *dr = dp + blockIdx.x * S;
  double dot = 0;
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x)
    dot += double(pr[j]) * double(dr[j]);
  const float d = float(blockSum(dot, shared));
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) {
    const float g = pr[j] * (dr[j] - d);
    if (db)
      db[blockIdx.x * S + j] = g;
    dr[j] = g * scale;
  }
}

/// Problems per chunk: as many as fit kScratchBytes of scores, at least 1.
int64_t chunkOf(const AttentionShape &a) {
  const int64_t perProblem = std::max<int64_t>(1, a.T * a.S) * int64_t(sizeof(float));
  return std::max<int64_t>(1, std::min<int64_t>(a.batch,
                                                int64_t(kScratchBytes) / perProblem));
}

/// Problems [b0, b0 + n) of a [batch, rows, cols] f32 tensor.
Tensor slab(const Tensor &t, int64_t b0, int64_t n, int64_t rows, int64_t cols) {
  return Tensor(static_cast<float *>(t.data) + b0 * rows * cols, DType::F32,
                {n, rows, cols});
}

} // namespace
} // namespace cuda

using namespace cuda;

void attention(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor bias,
               Tensor out, Tensor lse, float scale, Products products) {
  const AttentionShape a =
      checkAttention("attention", q, k, v, mask, bias, out, lse);
  if (a.batch == 0 || a.T == 0)
    return;
  const int64_t chunk = chunkOf(a);
  float *s = static_cast<float *>(
      cuda::scratch(size_t(chunk) * a.T * a.S * sizeof(float), 0));
  for (int64_t b0 = 0; b0 < a.batch; b0 += chunk) {
    const int64_t n = std::min(chunk, a.batch - b0);
    Tensor scores(s, DType::F32, {n, a.T, a.S});
    matmulRounded(slab(q, b0, n, a.T, a.D), slab(k, b0, n, a.S, a.D), scores,
                  false, true, products);
    softmaxScoresKernel<<<static_cast<unsigned>(n * a.T), kThreads, 0,
                          stream()>>>(a, static_cast<const bool *>(mask.data),
                                      static_cast<const float *>(bias.data), b0,
                                      s, static_cast<float *>(lse.data), scale);
    checkLaunch("attention");
    matmulRounded(scores, slab(v, b0, n, a.S, a.E), slab(out, b0, n, a.T, a.E),
                  false, false, products);
  }
}

void attentionGrad(Tensor q, Tensor k, Tensor v, Tensor lse, Tensor dout,
                   Tensor mask, Tensor bias, Tensor dq, Tensor dk, Tensor dv,
                   Tensor dbias, float scale, Products products) {
  const AttentionShape a =
      checkAttention("attentionGrad", q, k, v, mask, bias, dout, lse);
  checkAttentionGrads(a, q, k, v, dq, dk, dv, dbias);
  if (a.batch == 0)
    return;
  if (a.T == 0 || a.S == 0) {
    // No query or no key: every gradient is zero (and a grid of n * T
    // blocks would be empty, which CUDA refuses).
    for (Tensor *t : {&dq, &dk, &dv, &dbias})
      if (!t->empty() && t->nbytes() > 0)
        cuda::check(cudaMemsetAsync(t->data, 0, t->nbytes(), stream()),
                    "attentionGrad");
    return;
  }
  const int64_t chunk = chunkOf(a);
  const size_t bytes = size_t(chunk) * a.T * a.S * sizeof(float);
  float *p = static_cast<float *>(cuda::scratch(bytes, 0));
  float *dp = static_cast<float *>(cuda::scratch(bytes, 1));
  for (int64_t b0 = 0; b0 < a.batch; b0 += chunk) {
    const int64_t n = std::min(chunk, a.batch - b0);
    Tensor P(p, DType::F32, {n, a.T, a.S}), dP(dp, DType::F32, {n, a.T, a.S});
    Tensor qc = slab(q, b0, n, a.T, a.D), kc = slab(k, b0, n, a.S, a.D),
           vc = slab(v, b0, n, a.S, a.E), gc = slab(dout, b0, n, a.T, a.E);
    matmulRounded(qc, kc, P, false, true, products);
    probabilitiesKernel<<<blocksFor(n * a.T * a.S), kThreads, 0, stream()>>>(
        a, static_cast<const bool *>(mask.data),
        static_cast<const float *>(bias.data), b0, n, p,
        static_cast<const float *>(lse.data), scale);
    checkLaunch("attentionGrad");
    matmulRounded(P, gc, slab(dv, b0, n, a.S, a.E), true, false, products);
    matmulRounded(gc, vc, dP, false, true, products);
    scoreGradKernel<<<static_cast<unsigned>(n * a.T), kThreads, 0, stream()>>>(
        a.S, p, dp,
        dbias.empty() ? nullptr : static_cast<float *>(dbias.data) + b0 * a.T * a.S,
        scale);
    checkLaunch("attentionGrad");
    matmulRounded(dP, kc, slab(dq, b0, n, a.T, a.D), false, false, products);
    matmulRounded(dP, qc, slab(dk, b0, n, a.S, a.D), true, false, products);
  }
}

} // namespace bbrt
