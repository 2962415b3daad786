//===- Reduce.cpp - Sum, Mean, Max, Min, Prod over a set of axes -----------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Simd.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bbrt {
namespace cpu {
namespace {

template <typename T> struct AccOf {
  using type = typename std::conditional<std::is_floating_point<T>::value,
                                         double, uint64_t>::type;
};

template <typename T> struct SumOp {
  using Acc = typename AccOf<T>::type;
  static Acc init() { return Acc(0); }
  static Acc step(Acc a, T v) {
    if constexpr (std::is_floating_point<T>::value)
      return a + Acc(v);
    else
      return a + Acc(int64_t(v));
  }
  static T fin(Acc a, int64_t count, bool mean) {
    if constexpr (std::is_floating_point<T>::value)
      return T(mean ? a / double(count) : a);
    else
      return mean ? (count ? T(int64_t(a) / count) : T(0)) : T(int64_t(a));
  }
};

template <typename T> struct ProdOp {
  using Acc = typename AccOf<T>::type;
  static Acc init() { return Acc(1); }
  static Acc step(Acc a, T v) {
    if constexpr (std::is_floating_point<T>::value)
      return a * Acc(v);
    else
      return a * Acc(int64_t(v));
  }
  static T fin(Acc a, int64_t, bool) {
    if constexpr (std::is_floating_point<T>::value)
      return T(a);
    else
      return T(int64_t(a));
  }
};

template <typename T> struct MaxOp {
  using Acc = T;
  static Acc init() {
    if constexpr (std::is_floating_point<T>::value)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::lowest();
  }
  static Acc step(Acc a, T v) {
    if constexpr (std::is_floating_point<T>::value)
      return (v > a || std::isnan(v)) ? v : a;
    else
      return v > a ? v : a;
  }
  static T fin(Acc a, int64_t, bool) { return a; }
};

template <typename T> struct MinOp {
  using Acc = T;
  static Acc init() {
    if constexpr (std::is_floating_point<T>::value)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  static Acc step(Acc a, T v) {
    if constexpr (std::is_floating_point<T>::value)
      return (v < a || std::isnan(v)) ? v : a;
    else
      return v < a ? v : a;
  }
  static T fin(Acc a, int64_t, bool) { return a; }
};

/// out[o] = sum of x[o * red, (o + 1) * red) in double, for o in [o0, o1).
BBRT_CLONES void rowSumsF32(const float *x, int64_t red, int64_t o0, int64_t o1,
                            double *out) {
  for (int64_t o = o0; o < o1; ++o)
    out[o - o0] = simd::sumToDouble(x + o * red, red);
}

struct Pattern {
  int n = 0;
  int64_t size[kMaxRank];
  bool red[kMaxRank];
};

template <typename T, typename Op>
void reduceImpl(const Pattern &pat, const T *x, T *y, int64_t count,
                int64_t total, bool mean) {
  using Acc = typename Op::Acc;
  const int64_t outN = count ? total / count : 0;
  // (K) R (K) -> outer, red, inner.
  bool simple = false;
  int64_t outer = 1, red = 1, inner = 1;
  {
    int i = 0;
    if (i < pat.n && !pat.red[i])
      outer = pat.size[i++];
    if (i < pat.n && pat.red[i]) {
      red = pat.size[i++];
      if (i < pat.n && !pat.red[i])
        inner = pat.size[i++];
      simple = i == pat.n;
    }
  }
  if (simple && inner == 1) {
    if constexpr (std::is_same<T, float>::value &&
                  std::is_same<Op, SumOp<T>>::value) {
      parallelRange(outer, total >= kParallelMin, [&](int64_t o0, int64_t o1) {
        for (int64_t b = o0; b < o1; b += 64) {
          double sums[64];
          const int64_t e = std::min(o1, b + 64);
          rowSumsF32(x, red, b, e, sums);
          for (int64_t o = b; o < e; ++o)
            y[o] = Op::fin(sums[o - b], count, mean);
        }
      });
      return;
    }
    parallelFor(outer, total >= kParallelMin, [&](int64_t o) {
      const T *xs = x + o * red;
      Acc acc = Op::init();
      for (int64_t r = 0; r < red; ++r)
        acc = Op::step(acc, xs[r]);
      y[o] = Op::fin(acc, count, mean);
    });
    return;
  }
  if (simple) {
    const int64_t chunk = 256;
    const int64_t nc = (inner + chunk - 1) / chunk;
    parallelFor(outer * nc, total >= kParallelMin, [&](int64_t t) {
      const int64_t o = t / nc, c0 = (t % nc) * chunk;
      const int64_t w = std::min(chunk, inner - c0);
      Acc acc[chunk];
      for (int64_t i = 0; i < w; ++i)
        acc[i] = Op::init();
      const T *xs = x + o * red * inner + c0;
      for (int64_t r = 0; r < red; ++r)
        for (int64_t i = 0; i < w; ++i)
          acc[i] = Op::step(acc[i], xs[r * inner + i]);
      T *ys = y + o * inner + c0;
      for (int64_t i = 0; i < w; ++i)
        ys[i] = Op::fin(acc[i], count, mean);
    });
    return;
  }
  // R K R (per-channel sums of [N, C, spatial...]): each output sums
  // `outer` contiguous rows of `inner` elements.
  if (pat.n == 3 && pat.red[0] && !pat.red[1] && pat.red[2]) {
    const int64_t rows = pat.size[0], kept = pat.size[1], len = pat.size[2];
    parallelFor(kept, total >= kParallelMin, [&](int64_t k) {
      if constexpr (std::is_same<T, float>::value &&
                    std::is_same<Op, SumOp<T>>::value) {
        double acc = 0;
        for (int64_t r = 0; r < rows; ++r)
          acc += simd::sumToDouble(x + (r * kept + k) * len, len);
        y[k] = Op::fin(acc, count, mean);
      } else {
        Acc acc = Op::init();
        for (int64_t r = 0; r < rows; ++r) {
          const T *xs = x + (r * kept + k) * len;
          for (int64_t i = 0; i < len; ++i)
            acc = Op::step(acc, xs[i]);
        }
        y[k] = Op::fin(acc, count, mean);
      }
    });
    return;
  }
  // General: kept dims index the output, reduced dims are walked per output.
  int64_t st[kMaxRank];
  {
    int64_t acc = 1;
    for (int i = pat.n - 1; i >= 0; --i) {
      st[i] = acc;
      acc *= pat.size[i];
    }
  }
  int kd[kMaxRank], rd[kMaxRank], nk = 0, nr = 0;
  for (int i = 0; i < pat.n; ++i)
    (pat.red[i] ? rd[nr++] : kd[nk++]) = i;
  parallelFor(outN, total >= kParallelMin, [&](int64_t o) {
    int64_t base = 0, rem = o;
    for (int j = nk - 1; j >= 0; --j) {
      base += (rem % pat.size[kd[j]]) * st[kd[j]];
      rem /= pat.size[kd[j]];
    }
    Acc acc = Op::init();
    for (int64_t r = 0; r < count; ++r) {
      int64_t off = base, rr = r;
      for (int j = nr - 1; j >= 0; --j) {
        off += (rr % pat.size[rd[j]]) * st[rd[j]];
        rr /= pat.size[rd[j]];
      }
      acc = Op::step(acc, x[off]);
    }
    y[o] = Op::fin(acc, count, mean);
  });
}

template <typename T>
void reduceTyped(ReduceKind kind, const Pattern &pat, const T *x, T *y,
                 int64_t count, int64_t total) {
  switch (kind) {
  case ReduceKind::Sum:
    return reduceImpl<T, SumOp<T>>(pat, x, y, count, total, false);
  case ReduceKind::Mean:
    return reduceImpl<T, SumOp<T>>(pat, x, y, count, total, true);
  case ReduceKind::Max:
    return reduceImpl<T, MaxOp<T>>(pat, x, y, count, total, false);
  case ReduceKind::Min:
    return reduceImpl<T, MinOp<T>>(pat, x, y, count, total, false);
  case ReduceKind::Prod:
    return reduceImpl<T, ProdOp<T>>(pat, x, y, count, total, false);
  }
}

} // namespace
} // namespace cpu

using namespace cpu;

void reduce(ReduceKind kind, Tensor x, Tensor out, Dims axes) {
  static const char *names[] = {"reduce Sum", "reduce Mean", "reduce Max",
                                "reduce Min", "reduce Prod"};
  int ki = static_cast<int>(kind);
  const char *k = ki >= 0 && ki < 5 ? names[ki] : "reduce";
  const ReduceDims rd = checkReduce(k, x, out, axes);
  checkData(k, "input", x);
  checkData(k, "output", out);
  const bool *isRed = rd.reduced;
  const int64_t count = rd.count, kept = rd.kept;
  if (kept == 0)
    return;
  Pattern pat;
  for (int i = 0; i < x.shape.rank; ++i) {
    if (x.shape.d[i] == 1)
      continue;
    if (pat.n > 0 && pat.red[pat.n - 1] == isRed[i]) {
      pat.size[pat.n - 1] *= x.shape.d[i];
      continue;
    }
    pat.size[pat.n] = x.shape.d[i];
    pat.red[pat.n] = isRed[i];
    ++pat.n;
  }
  const int64_t total = x.numel();
  switch (x.dtype) {
  case DType::F32: return reduceTyped(kind, pat, (const float *)x.data, (float *)out.data, count, total);
  case DType::F64: return reduceTyped(kind, pat, (const double *)x.data, (double *)out.data, count, total);
  case DType::I32: return reduceTyped(kind, pat, (const int32_t *)x.data, (int32_t *)out.data, count, total);
  case DType::I64: return reduceTyped(kind, pat, (const int64_t *)x.data, (int64_t *)out.data, count, total);
  case DType::I8: return reduceTyped(kind, pat, (const int8_t *)x.data, (int8_t *)out.data, count, total);
  case DType::I16: return reduceTyped(kind, pat, (const int16_t *)x.data, (int16_t *)out.data, count, total);
  case DType::U8: return reduceTyped(kind, pat, (const uint8_t *)x.data, (uint8_t *)out.data, count, total);
  case DType::Bool:
    if (kind == ReduceKind::Max || kind == ReduceKind::Min)
      return reduceTyped(kind, pat, (const uint8_t *)x.data, (uint8_t *)out.data, count, total);
    break;
  default:
    break;
  }
  unsupported(k, x.dtype);
}

} // namespace bbrt
