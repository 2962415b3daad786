//===- Attention.cpp - scaled dot-product attention and its gradients -----===//
//
// Each problem (an index of the leading dims) runs in blocks of kBlock
// queries: their scores against the keys (one GEMM into a per-thread
// scratch of kBlock x S floats), the masked softmax row by row (as
// bbrt::softmax computes it: the row's maximum subtracted, simd::expf, the
// sum in double), then the product with the values. The scores go only as
// far as the last key that a query of the block keeps, so a causal mask
// (boolean, or an additive bias of -inf) skips the upper triangle's blocks.
// The backward pass recomputes the probabilities from the scores and lse;
// it runs the blocks of one problem in order, since every block adds to the
// problem's key and value gradients.
// With reduced-precision products the operands of each product are rounded
// copies (the probabilities and dS rounded after the softmax and its
// gradient have used them in f32).
//
//===----------------------------------------------------------------------===//
#include "runtime/core/Float16.h"
#include "runtime/core/KernelArgs.h"
#include "runtime/core/TF32.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/Simd.h"

#include <cmath>
#include <limits>

namespace bbrt {

using namespace cpu;

namespace {

constexpr int64_t kBlock = 64;

/// The row of query t of problem b in a mask or bias (stride o.s), or null.
template <typename T>
const T *scoreRow(const AttentionShape &a, const ScoreOperand &o,
                  const Tensor &t, int64_t b, int64_t q) {
  if (!o.present)
    return nullptr;
  return static_cast<const T *>(t.data) + a.offset(o, b) + q * o.t;
}

/// One past the last key that any of queries [t0, t1) keeps: not removed
/// by the mask, and not given a bias of -inf (an additive causal mask).
int64_t keysUsed(const AttentionShape &a, const Tensor &mask, const Tensor &bias,
                 int64_t b, int64_t t0, int64_t t1) {
  if (!a.mask.present && !a.bias.present)
    return a.S;
  int64_t used = 0;
  for (int64_t t = t0; t < t1 && used < a.S; ++t) {
    const bool *m = scoreRow<bool>(a, a.mask, mask, b, t);
    const float *x = scoreRow<float>(a, a.bias, bias, b, t);
    for (int64_t j = a.S - 1; j >= used; --j)
      if ((!m || !m[j * a.mask.s]) &&
          (!x || x[j * a.bias.s] != -std::numeric_limits<float>::infinity())) {
        used = j + 1;
        break;
      }
  }
  return used;
}

/// Scales one row of n scores, adds the bias row (stride bS) and sets the
/// removed ones to -inf.
BBRT_CLONES void scaleAndMask(float *s, int64_t n, float scale,
                              const float *bias, int64_t bS, const bool *m,
                              int64_t mS) {
  for (int64_t j = 0; j < n; ++j)
    s[j] *= scale;
  if (bias)
    for (int64_t j = 0; j < n; ++j)
      s[j] += bias[j * bS];
  if (m)
    for (int64_t j = 0; j < n; ++j)
      if (m[j * mS])
        s[j] = -std::numeric_limits<float>::infinity();
}

/// Softmax of one row in place; returns its log-sum-exp (-inf, and a row
/// of 0, when every score is removed).
BBRT_CLONES float softmaxRow(float *s, int64_t n) {
  const float mx = simd::maxOf(s, n);
  if (mx == -std::numeric_limits<float>::infinity()) {
    std::fill(s, s + n, 0.f);
    return mx;
  }
  for (int64_t j = 0; j < n; ++j)
    s[j] = simd::expf(s[j] - mx);
  const double sum = simd::sumToDouble(s, n);
  const float inv = float(1.0 / sum);
  for (int64_t j = 0; j < n; ++j)
    s[j] *= inv;
  return mx + float(std::log(sum));
}

/// The probabilities of one row from its scaled, masked scores and lse.
BBRT_CLONES void probabilitiesRow(float *s, int64_t n, float lse) {
  if (lse == -std::numeric_limits<float>::infinity()) {
    std::fill(s, s + n, 0.f);
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    s[j] = simd::expf(s[j] - lse);
}

/// dB = P (dP - sum(P dP)) over one row, into `db` when given, and
/// dS = dB scale into dp.
BBRT_CLONES void scoreGradRow(const float *p, float *dp, int64_t n, float scale,
                              float *db) {
  double dot = 0;
  for (int64_t j = 0; j < n; ++j)
    dot += double(p[j]) * double(dp[j]);
  const float d = float(dot);
  if (db)
    for (int64_t j = 0; j < n; ++j)
      db[j] = p[j] * (dp[j] - d);
  for (int64_t j = 0; j < n; ++j)
    dp[j] = p[j] * (dp[j] - d) * scale;
}

/// x rounded to `p` and back to f32.
inline float rounded(Products p, float x) {
  switch (p) {
  case Products::TF32: return roundToTf32(x);
  case Products::BF16: return bf16BitsToFloat(floatToBf16Bits(x));
  case Products::F16: return halfBitsToFloat(floatToHalfBits(x));
  case Products::F32: break;
  }
  return x;
}

/// n values of `src` rounded to `p` into `dst` (may be `src`); returns dst.
float *roundInto(Products p, const float *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = rounded(p, src[i]);
  return dst;
}

} // namespace

void attention(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor bias,
               Tensor out, Tensor lse, float scale, Products products) {
  const AttentionShape a =
      checkAttention("attention", q, k, v, mask, bias, out, lse);
  const float *qp = static_cast<const float *>(q.data);
  const float *kp = static_cast<const float *>(k.data);
  const float *vp = static_cast<const float *>(v.data);
  float *op = static_cast<float *>(out.data);
  float *lp = static_cast<float *>(lse.data);
  const int64_t blocks = (a.T + kBlock - 1) / kBlock;
  // Tasks: (problem, block of queries). With fewer tasks than threads, one
  // at a time and the GEMMs split instead.
  const bool parallel = a.batch * blocks >= maxThreads();
  parallelForDynamic(a.batch * blocks, parallel, [&](int64_t task) {
    const int64_t b = task / blocks, t0 = task % blocks * kBlock;
    const int64_t t1 = std::min(a.T, t0 + kBlock), rows = t1 - t0;
    const int64_t used = keysUsed(a, mask, bias, b, t0, t1);
    float *o = op + (b * a.T + t0) * a.E;
    if (used == 0) {
      std::fill(o, o + rows * a.E, 0.f);
      std::fill(lp + b * a.T + t0, lp + b * a.T + t1,
                -std::numeric_limits<float>::infinity());
      return;
    }
    float *s = scratch<float>(0, rows * used);
    const float *qb = qp + (b * a.T + t0) * a.D, *kb = kp + b * a.S * a.D,
                *vb = vp + b * a.S * a.E;
    if (products != Products::F32) { // rounded copies of the operands
      float *copies = scratch<float>(1, rows * a.D + used * (a.D + a.E));
      qb = roundInto(products, qb, copies, rows * a.D);
      kb = roundInto(products, kb, copies + rows * a.D, used * a.D);
      vb = roundInto(products, vb, copies + rows * a.D + used * a.D, used * a.E);
    }
    gemm(false, true, rows, used, a.D, qb, a.D, kb, a.D, 0.f, s, used);
    for (int64_t t = t0; t < t1; ++t) {
      float *row = s + (t - t0) * used;
      scaleAndMask(row, used, scale, scoreRow<float>(a, a.bias, bias, b, t),
                   a.bias.s, scoreRow<bool>(a, a.mask, mask, b, t), a.mask.s);
      lp[b * a.T + t] = softmaxRow(row, used);
    }
    if (products != Products::F32)
      roundInto(products, s, s, rows * used);
    gemm(false, false, rows, a.E, used, s, used, vb, a.E, 0.f, o, a.E);
  });
}

void attentionGrad(Tensor q, Tensor k, Tensor v, Tensor lse, Tensor dout,
                   Tensor mask, Tensor bias, Tensor dq, Tensor dk, Tensor dv,
                   Tensor dbias, float scale, Products products) {
  const AttentionShape a =
      checkAttention("attentionGrad", q, k, v, mask, bias, dout, lse);
  checkAttentionGrads(a, q, k, v, dq, dk, dv, dbias);
  float *dbp = static_cast<float *>(dbias.data);
  const float *qp = static_cast<const float *>(q.data);
  const float *kp = static_cast<const float *>(k.data);
  const float *vp = static_cast<const float *>(v.data);
  const float *lp = static_cast<const float *>(lse.data);
  const float *gp = static_cast<const float *>(dout.data);
  float *dqp = static_cast<float *>(dq.data);
  float *dkp = static_cast<float *>(dk.data);
  float *dvp = static_cast<float *>(dv.data);
  const int64_t blocks = (a.T + kBlock - 1) / kBlock;
  const bool parallel = a.batch >= maxThreads();
  const bool round = products != Products::F32;
  parallelForDynamic(a.batch, parallel, [&](int64_t b) {
    const float *qb = qp + b * a.T * a.D, *kb = kp + b * a.S * a.D,
                *vb = vp + b * a.S * a.E, *gb = gp + b * a.T * a.E;
    float *dkb = dkp + b * a.S * a.D, *dvb = dvp + b * a.S * a.E;
    std::fill(dkb, dkb + a.S * a.D, 0.f);
    std::fill(dvb, dvb + a.S * a.E, 0.f);
    // Rounded copies of the problem's operands (reduced-precision products).
    if (round) {
      float *copies = scratch<float>(2, (a.T + a.S) * (a.D + a.E));
      qb = roundInto(products, qb, copies, a.T * a.D);
      gb = roundInto(products, gb, copies + a.T * a.D, a.T * a.E);
      kb = roundInto(products, kb, copies + a.T * (a.D + a.E), a.S * a.D);
      vb = roundInto(products, vb, copies + a.T * (a.D + a.E) + a.S * a.D,
                     a.S * a.E);
    }
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t t0 = blk * kBlock, t1 = std::min(a.T, t0 + kBlock);
      const int64_t rows = t1 - t0;
      const int64_t used = keysUsed(a, mask, bias, b, t0, t1);
      float *dqr = dqp + (b * a.T + t0) * a.D;
      // The scores' gradient: 0 beyond the keys the block uses.
      float *dbr = dbp ? dbp + (b * a.T + t0) * a.S : nullptr;
      if (dbr)
        for (int64_t r = 0; r < rows; ++r)
          std::fill(dbr + r * a.S + used, dbr + (r + 1) * a.S, 0.f);
      if (used == 0) {
        std::fill(dqr, dqr + rows * a.D, 0.f);
        continue;
      }
      float *p = scratch<float>(0, rows * used);
      float *dp = scratch<float>(1, rows * used);
      // P, recomputed.
      gemm(false, true, rows, used, a.D, qb + t0 * a.D, a.D, kb, a.D, 0.f, p,
           used);
      for (int64_t t = t0; t < t1; ++t) {
        float *row = p + (t - t0) * used;
        scaleAndMask(row, used, scale, scoreRow<float>(a, a.bias, bias, b, t),
                     a.bias.s, scoreRow<bool>(a, a.mask, mask, b, t), a.mask.s);
        probabilitiesRow(row, used, lp[b * a.T + t]);
      }
      // dP = dO V^T; dS = P (dP - rowsum(P dP)) scale; dV += P^T dO.
      gemm(false, true, rows, used, a.E, gb + t0 * a.E, a.E, vb, a.E, 0.f, dp,
           used);
      for (int64_t r = 0; r < rows; ++r)
        scoreGradRow(p + r * used, dp + r * used, used, scale,
                     dbr ? dbr + r * a.S : nullptr);
      if (round) {
        roundInto(products, p, p, rows * used);
        roundInto(products, dp, dp, rows * used);
      }
      gemm(true, false, used, a.E, rows, p, used, gb + t0 * a.E, a.E, 1.f, dvb,
           a.E);
      // dQ = dS K; dK += dS^T Q.
      gemm(false, false, rows, a.D, used, dp, used, kb, a.D, 0.f, dqr, a.D);
      gemm(true, false, used, a.D, rows, dp, used, qb + t0 * a.D, a.D, 1.f, dkb,
           a.D);
    }
  });
}

} // namespace bbrt
