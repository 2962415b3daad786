// attention and attentionGrad against a double-precision reference: several
// query blocks (T = 70 > 64), S != T, no mask, a causal mask (whose blocks
// stop at the last kept key), a mask broadcast over the heads with a query
// whose keys are all removed, a bias per head (broadcast over the batch)
// with the scores' gradient, and the operand errors.
#include "TestUtil.h"

#include <cmath>

using namespace bbrt;
using namespace bbrt::test;

namespace {

constexpr int64_t B = 2, H = 3, T = 70, S = 90, D = 16, E = 12;
constexpr float kScale = 0.25f;

/// CausalBias: no boolean mask; the bias is -inf after query t + 20.
enum class MaskKind { None, Causal, RandomPerBatch, CausalBias };

/// Mask of shape [T, S] (causal: key j removed after query t + 20) or
/// [B, 1, T, S] (random, with query 5 of batch 1 removing every key).
HostTensor makeMask(MaskKind kind) {
  if (kind == MaskKind::Causal) {
    HostTensor m = zeros(DType::Bool, {T, S});
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < S; ++j)
        ptr<bool>(m)[t * S + j] = j > t + 20;
    return m;
  }
  HostTensor m = zeros(DType::Bool, {B, 1, T, S});
  HostTensor r = random(DType::F32, {B, 1, T, S}, 0, 1);
  for (int64_t i = 0; i < B * T * S; ++i)
    ptr<bool>(m)[i] = ptr<float>(r)[i] < 0.3f;
  for (int64_t j = 0; j < S; ++j)
    ptr<bool>(m)[(1 * T + 5) * S + j] = true;
  return m;
}

bool isRemoved(MaskKind kind, const HostTensor &m, int64_t b, int64_t t,
               int64_t j) {
  if (kind == MaskKind::None || kind == MaskKind::CausalBias)
    return false;
  if (kind == MaskKind::Causal)
    return ptr<bool>(m)[t * S + j];
  return ptr<bool>(m)[(b * T + t) * S + j];
}

void checkAttention(MaskKind kind, bool withBias) {
  HostTensor q = random(DType::F32, {B, H, T, D}, -2, 2);
  HostTensor k = random(DType::F32, {B, H, S, D}, -2, 2);
  HostTensor v = random(DType::F32, {B, H, S, E});
  HostTensor g = random(DType::F32, {B, H, T, E});
  HostTensor mask = makeMask(kind);
  Tensor maskView =
      kind == MaskKind::None || kind == MaskKind::CausalBias ? none() : mask.view();
  HostTensor bias = random(DType::F32, {H, T, S}, -1, 1);
  if (kind == MaskKind::CausalBias)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = t + 21; j < S; ++j)
          ptr<float>(bias)[(h * T + t) * S + j] = -INFINITY;
  Tensor biasView = withBias ? bias.view() : none();
  HostTensor out = zeros(DType::F32, {B, H, T, E}), lse = zeros(DType::F32, {B, H, T});
  HostTensor dq = zeros(DType::F32, {B, H, T, D}), dk = zeros(DType::F32, {B, H, S, D}),
             dv = zeros(DType::F32, {B, H, S, E}), db = zeros(DType::F32, {B, H, T, S});
  attention(q.view(), k.view(), v.view(), maskView, biasView, out.view(),
            lse.view(), kScale);
  attentionGrad(q.view(), k.view(), v.view(), lse.view(), g.view(), maskView,
                biasView, dq.view(), dk.view(), dv.view(),
                withBias ? db.view() : none(), kScale);

  std::vector<double> rOut(B * H * T * E, 0.0), rLse(B * H * T, 0.0),
      rDq(B * H * T * D, 0.0), rDk(B * H * S * D, 0.0), rDv(B * H * S * E, 0.0),
      rDb(B * H * T * S, 0.0);
  std::vector<double> p(S), dp(S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t n = b * H + h;
      for (int64_t t = 0; t < T; ++t) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < S; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += at(q, (n * T + t) * D + d) * at(k, (n * S + j) * D + d);
          const double add = withBias ? at(bias, (h * T + t) * S + j) : 0.0;
          p[j] = isRemoved(kind, mask, b, t, j) ? -INFINITY : s * kScale + add;
          mx = std::max(mx, p[j]);
        }
        if (mx == -INFINITY) { // every key removed: 0 out, 0 gradients
          rLse[n * T + t] = -INFINITY;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < S; ++j)
          sum += std::exp(p[j] - mx);
        rLse[n * T + t] = mx + std::log(sum);
        for (int64_t j = 0; j < S; ++j)
          p[j] = std::exp(p[j] - mx) / sum;
        double dot = 0;
        for (int64_t j = 0; j < S; ++j) {
          double gv = 0;
          for (int64_t e = 0; e < E; ++e) {
            rOut[(n * T + t) * E + e] += p[j] * at(v, (n * S + j) * E + e);
            gv += at(g, (n * T + t) * E + e) * at(v, (n * S + j) * E + e);
            rDv[(n * S + j) * E + e] += p[j] * at(g, (n * T + t) * E + e);
          }
          dp[j] = gv;
          dot += p[j] * gv;
        }
        for (int64_t j = 0; j < S; ++j) {
          rDb[(n * T + t) * S + j] = p[j] * (dp[j] - dot);
          const double ds = p[j] * (dp[j] - dot) * kScale;
          for (int64_t d = 0; d < D; ++d) {
            rDq[(n * T + t) * D + d] += ds * at(k, (n * S + j) * D + d);
            rDk[(n * S + j) * D + d] += ds * at(q, (n * T + t) * D + d);
          }
        }
      }
    }
  requireClose(out, rOut, 1e-5, 1e-4);
  for (int64_t i = 0; i < B * H * T; ++i) {
    if (rLse[i] == -INFINITY)
      REQUIRE(at(lse, i) == -INFINITY);
    else
      REQUIRE(std::fabs(at(lse, i) - rLse[i]) <= 1e-5 + 1e-5 * std::fabs(rLse[i]));
  }
  requireClose(dq, rDq, 1e-5, 1e-4);
  requireClose(dk, rDk, 1e-5, 1e-4);
  requireClose(dv, rDv, 1e-5, 1e-4);
  if (withBias)
    requireClose(db, rDb, 1e-5, 1e-4);
}

/// attention and attentionGrad (scale 0.5, no bias) of q [n, t, d], k and
/// v [n, s, d] and [n, s, e], the output's gradient g and a mask [t, s].
struct MaskedRun {
  HostTensor out, lse, dq, dk, dv;
};
MaskedRun runMasked(const HostTensor &q, const HostTensor &k, const HostTensor &v,
                    const HostTensor &g, const HostTensor &mask) {
  const int64_t n = q.shape.d[0], t = q.shape.d[1], e = v.shape.d[2];
  MaskedRun r{zeros(DType::F32, {n, t, e}), zeros(DType::F32, {n, t}),
              zeros(DType::F32, q.shape), zeros(DType::F32, k.shape),
              zeros(DType::F32, v.shape)};
  attention(q.view(), k.view(), v.view(), mask.view(), none(), r.out.view(),
            r.lse.view(), 0.5f);
  attentionGrad(q.view(), k.view(), v.view(), r.lse.view(), g.view(),
                mask.view(), none(), r.dq.view(), r.dk.view(), r.dv.view(),
                none(), 0.5f);
  return r;
}

} // namespace

TEST_CASE("attention and its gradients", "[attention]") {
  SECTION("no mask") { checkAttention(MaskKind::None, false); }
  SECTION("causal mask, blocks stop at the last kept key") {
    checkAttention(MaskKind::Causal, false);
  }
  SECTION("mask per batch, broadcast over heads, a fully removed query") {
    checkAttention(MaskKind::RandomPerBatch, false);
  }
  SECTION("bias per head and the scores' gradient") {
    checkAttention(MaskKind::None, true);
  }
  SECTION("bias and causal mask") { checkAttention(MaskKind::Causal, true); }
  SECTION("additive causal mask (-inf in the bias)") {
    checkAttention(MaskKind::CausalBias, true);
  }
}

TEST_CASE("attention checks its operands", "[attention]") {
  HostTensor q = random(DType::F32, {2, 4, 8}), k = random(DType::F32, {2, 6, 8}),
             v = random(DType::F32, {2, 6, 5});
  HostTensor out = zeros(DType::F32, {2, 4, 5}), lse = zeros(DType::F32, {2, 4});
  HostTensor badMask = zeros(DType::Bool, {4, 5});
  REQUIRE_THROWS_WITH(attention(q.view(), k.view(), v.view(), badMask.view(),
                                none(), out.view(), lse.view(), 1.f),
                      "attention: mask 4x5 does not broadcast to the scores");
  HostTensor k3 = random(DType::F32, {3, 6, 8});
  REQUIRE_THROWS_WITH(
      attention(q.view(), k3.view(), v.view(), none(), none(), out.view(),
                lse.view(), 1.f),
      "attention: query 2x4x8, key 3x6x8, value 2x6x5 differ in their "
      "leading dims");
  HostTensor badOut = zeros(DType::F32, {2, 4, 8});
  REQUIRE_THROWS_WITH(attention(q.view(), k.view(), v.view(), none(), none(),
                                badOut.view(), lse.view(), 1.f),
                      "attention: output 2x4x8, expected 2x4x5");
  HostTensor badBias = zeros(DType::F32, {3, 4, 6});
  REQUIRE_THROWS_WITH(attention(q.view(), k.view(), v.view(), none(),
                                badBias.view(), out.view(), lse.view(), 1.f),
                      "attention: bias 3x4x6 does not broadcast to the scores");
}

TEST_CASE("attention split over the queries adds up to the whole",
          "[attention]") {
  // What the sharding rule's query loop relies on: each half of the queries
  // with its rows of the (causal) mask and the whole k and v gives its rows
  // of the output and dq, and dk, dv are the sums of the halves'.
  constexpr int64_t n = 2, t = 96, s = 96, d = 8;
  HostTensor q = random(DType::F32, {n, t, d}), k = random(DType::F32, {n, s, d}),
             v = random(DType::F32, {n, s, d}), g = random(DType::F32, {n, t, d});
  HostTensor mask = zeros(DType::Bool, {t, s});
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = i + 1; j < s; ++j)
      ptr<bool>(mask)[i * s + j] = true;
  const auto [out, lse, dq, dk, dv] = runMasked(q, k, v, g, mask);
  std::vector<double> sumDk(n * s * d, 0.0), sumDv(n * s * d, 0.0);
  for (int64_t half = 0; half < 2; ++half) {
    const int64_t h = t / 2, t0 = half * h;
    // The half's rows of a [n, t, w] tensor.
    auto rows = [&](const HostTensor &x, int64_t w) {
      HostTensor r = zeros(DType::F32, {n, h, w});
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < h * w; ++i)
          ptr<float>(r)[b * h * w + i] = ptr<float>(x)[(b * t + t0) * w + i];
      return r;
    };
    HostTensor qh = rows(q, d), gh = rows(g, d), mh = zeros(DType::Bool, {h, s});
    for (int64_t i = 0; i < h * s; ++i)
      ptr<bool>(mh)[i] = ptr<bool>(mask)[t0 * s + i];
    const auto [oh, lh, dqh, dkh, dvh] = runMasked(qh, k, v, gh, mh);
    HostTensor ow = rows(out, d), dqw = rows(dq, d);
    std::vector<double> wantO, wantDq;
    for (int64_t i = 0; i < n * h * d; ++i) {
      wantO.push_back(at(ow, i));
      wantDq.push_back(at(dqw, i));
    }
    requireClose(oh, wantO, 1e-6, 1e-5);
    requireClose(dqh, wantDq, 1e-6, 1e-5);
    for (int64_t i = 0; i < n * s * d; ++i) {
      sumDk[i] += at(dkh, i);
      sumDv[i] += at(dvh, i);
    }
  }
  requireClose(dk, sumDk, 1e-6, 1e-5);
  requireClose(dv, sumDv, 1e-6, 1e-5);
}
