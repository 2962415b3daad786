//===- Common.h - helpers shared by the CPU kernels -------------*- C++ -*-===//
#ifndef BBRT_CPU_COMMON_H
#define BBRT_CPU_COMMON_H

#include "bbrt/bbrt.h"
#include "runtime/core/Util.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace bbrt {
namespace cpu {

/// Elementwise loops below this many elements stay on the calling thread
/// (waking the pool costs a few microseconds)...
constexpr int64_t kParallelMin = 1 << 17;
/// ...and this many for transcendental functions (exp, erf, tanh).
constexpr int64_t kParallelMinHeavy = 1 << 12;

/// Threads a kernel may use here: the pool size outside a parallel region,
/// 1 inside one.
inline int maxThreads() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

/// Runs f(i) for i in [0, n): split statically over the thread pool when
/// `parallel` and the pool has several threads, else as a plain loop. (An
/// OpenMP region costs even when its if clause is false: about 0.5 us per
/// call, a lot next to the small kernels of small models.)
template <typename F> void parallelFor(int64_t n, bool parallel, F &&f) {
#ifdef _OPENMP
  if (parallel && n > 1 && maxThreads() > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i)
    f(i);
}

/// parallelFor with tasks handed out one at a time (for fewer, larger tasks
/// that a late thread should not hold up).
template <typename F> void parallelForDynamic(int64_t n, bool parallel, F &&f) {
#ifdef _OPENMP
  if (parallel && n > 1 && maxThreads() > 1) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i)
    f(i);
}

/// Like parallelFor, but f(begin, end) gets one contiguous range per thread
/// (for per-thread setup before a loop).
template <typename F> void parallelRange(int64_t n, bool parallel, F &&f) {
#ifdef _OPENMP
  const int threads = parallel && n > 1 ? maxThreads() : 1;
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t b = n * t / nt, e = n * (t + 1) / nt;
      if (b < e)
        f(b, e);
    }
    return;
  }
#endif
  if (n > 0)
    f(int64_t(0), n);
}

/// A per-thread scratch buffer of at least n elements (contents undefined).
template <typename T> T *scratch(int slot, int64_t n) {
  static thread_local std::vector<T> bufs[4];
  std::vector<T> &v = bufs[slot];
  if (v.size() < static_cast<size_t>(n))
    v.resize(static_cast<size_t>(n));
  return v.data();
}

/// Storage types for the dtypes without a C++ arithmetic type.
struct Half { uint16_t bits; };
struct BFloat { uint16_t bits; };

template <typename T> struct Tag { using type = T; };

/// Calls f(Tag<T>{}) with T the C++ type of `dt` (bool for Bool).
template <typename F> auto dispatchAll(DType dt, F &&f) {
  switch (dt) {
  case DType::F32: return f(Tag<float>{});
  case DType::F64: return f(Tag<double>{});
  case DType::F16: return f(Tag<Half>{});
  case DType::BF16: return f(Tag<BFloat>{});
  case DType::I8: return f(Tag<int8_t>{});
  case DType::I16: return f(Tag<int16_t>{});
  case DType::I32: return f(Tag<int32_t>{});
  case DType::I64: return f(Tag<int64_t>{});
  case DType::U8: return f(Tag<uint8_t>{});
  case DType::Bool: return f(Tag<bool>{});
  }
  fail("invalid dtype %d", static_cast<int>(dt));
}

/// Unsigned integer type of `dt`'s byte size, for data movement.
template <typename F> auto dispatchBytes(DType dt, F &&f) {
  switch (dtypeSize(dt)) {
  case 1: return f(Tag<uint8_t>{});
  case 2: return f(Tag<uint16_t>{});
  case 4: return f(Tag<uint32_t>{});
  default: return f(Tag<uint64_t>{});
  }
}

[[noreturn]] inline void unsupported(const char *kernel, DType dt) {
  fail("%s: unsupported dtype %s", kernel, dtypeName(dt));
}

inline void contiguousStrides(const Dims &s, int64_t *st) {
  int64_t acc = 1;
  for (int i = s.rank - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.d[i];
  }
}

/// A broadcast iteration space: out (contiguous) and up to 3 operands, with
/// unit dims dropped and mergeable dims merged. rank >= 1.
struct Plan {
  int rank = 1;
  int nops = 0;
  int64_t shape[kMaxRank] = {1};
  int64_t st[3][kMaxRank] = {};
  int64_t total = 1;
};

/// Throws "<kernel>: cannot broadcast <what> of shape A to B".
Plan broadcastPlan(const char *kernel, const Dims &out, const Dims *ops,
                   const char *const *names, int nops);

/// Runs body(offs, outOff, len, innerSt) over rows of the innermost dim,
/// split in blocks, in parallel when the plan is big enough. offs[k] is the
/// element offset of operand k at the start of the run, innerSt[k] its stride.
template <typename Body>
void forEachRun(const Plan &p, int64_t minParallel, Body &&body) {
  if (p.total == 0)
    return;
  const int r = p.rank;
  const int64_t inner = p.shape[r - 1];
  const int64_t outer = p.total / inner;
  const int64_t B = 16384;
  const int64_t nb = (inner + B - 1) / B;
  const int64_t tasks = outer * nb;
  int64_t innerSt[3] = {p.st[0][r - 1], p.st[1][r - 1], p.st[2][r - 1]};
  // Each thread takes a range of tasks: one division walk for its first row,
  // then the outer index advances like an odometer.
  parallelRange(tasks, p.total >= minParallel, [&](int64_t t0, int64_t t1) {
    int64_t row = t0 / nb, blk = t0 % nb;
    int64_t idx[kMaxRank] = {};
    int64_t base[3] = {0, 0, 0};
    int64_t rem = row;
    for (int d = r - 2; d >= 0; --d) {
      idx[d] = rem % p.shape[d];
      rem /= p.shape[d];
      for (int k = 0; k < p.nops; ++k)
        base[k] += idx[d] * p.st[k][d];
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b0 = blk * B;
      const int64_t len = std::min(B, inner - b0);
      int64_t offs[3];
      for (int k = 0; k < 3; ++k)
        offs[k] = k < p.nops ? base[k] + b0 * innerSt[k] : 0;
      body(offs, row * inner + b0, len, innerSt);
      if (++blk < nb)
        continue;
      blk = 0;
      ++row;
      for (int d = r - 2; d >= 0; --d) {
        for (int k = 0; k < p.nops; ++k)
          base[k] += p.st[k][d];
        if (++idx[d] < p.shape[d])
          break;
        for (int k = 0; k < p.nops; ++k)
          base[k] -= idx[d] * p.st[k][d];
        idx[d] = 0;
      }
    }
  });
}

/// memcpy split across threads when large.
void parallelCopy(void *dst, const void *src, int64_t bytes);

} // namespace cpu
} // namespace bbrt

#endif
