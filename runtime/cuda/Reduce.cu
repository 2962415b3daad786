//===- Reduce.cu - Sum, Mean, Max, Min, Prod over a set of axes ------------===//
//
// Semantics of runtime/cpu/Reduce.cpp: float sums and products accumulate in
// double, integer ones in int64; Max/Min let NaN win. The input is viewed as
// kept dims x reduced dims (each with its strides); many outputs run one
// thread each, few outputs with long reductions one block each.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Reduce.cuh"

#include <limits>
#include <type_traits>

namespace bbrt {
namespace cuda {
namespace {

struct ReduceShape {
  int keptRank = 0, redRank = 0;
  int64_t keptDims[kMaxRank], keptStrides[kMaxRank];
  int64_t redDims[kMaxRank], redStrides[kMaxRank];
  __device__ int64_t keptOffset(int64_t o) const {
    int64_t off = 0;
    for (int d = keptRank - 1; d >= 0; --d) {
      off += (o % keptDims[d]) * keptStrides[d];
      o /= keptDims[d];
    }
    return off;
  }
  __device__ int64_t redOffset(int64_t r) const {
    int64_t off = 0;
    for (int d = redRank - 1; d >= 0; --d) {
      off += (r % redDims[d]) * redStrides[d];
      r /= redDims[d];
    }
    return off;
  }
};

template <typename T> struct Acc {
  using type = typename std::conditional<std::is_floating_point<T>::value,
                                         double, int64_t>::type;
};

template <typename T>
__device__ typename Acc<T>::type combine(ReduceKind k,
                                         typename Acc<T>::type a, T v) {
  using A = typename Acc<T>::type;
  switch (k) {
  case ReduceKind::Sum:
  case ReduceKind::Mean:
    if constexpr (std::is_floating_point<T>::value)
      return a + A(v);
    else // wrapping, as the CPU runtime's uint64 sum (no signed overflow)
      return A(uint64_t(a) + uint64_t(A(v)));
  case ReduceKind::Prod:
    if constexpr (std::is_floating_point<T>::value)
      return a * A(v);
    else
      return A(uint64_t(a) * uint64_t(A(v)));
  case ReduceKind::Max:
    if constexpr (std::is_floating_point<T>::value)
      return (A(v) > a || isnan(A(v))) ? A(v) : a;
    else
      return A(v) > a ? A(v) : a;
  default:
    if constexpr (std::is_floating_point<T>::value)
      return (A(v) < a || isnan(A(v))) ? A(v) : a;
    else
      return A(v) < a ? A(v) : a;
  }
}

template <typename T> __device__ typename Acc<T>::type initial(ReduceKind k) {
  using A = typename Acc<T>::type;
  switch (k) {
  case ReduceKind::Prod: return A(1);
  case ReduceKind::Max:
    return std::is_floating_point<T>::value ? A(-INFINITY)
                                            : A(std::numeric_limits<T>::lowest());
  case ReduceKind::Min:
    return std::is_floating_point<T>::value ? A(INFINITY)
                                            : A(std::numeric_limits<T>::max());
  default: return A(0);
  }
}

template <typename T>
__device__ T finish(ReduceKind k, typename Acc<T>::type a, int64_t count) {
  if (k == ReduceKind::Mean) {
    if constexpr (std::is_floating_point<T>::value)
      return T(a / double(count));
    else
      return count ? T(a / count) : T(0);
  }
  return T(a);
}

template <typename T>
__global__ void reduceThreadKernel(ReduceKind k, const T *x, T *y,
                                   int64_t kept, int64_t count,
                                   ReduceShape s) {
  BBRT_GRID_LOOP(o, kept) {
    const T *base = x + s.keptOffset(o);
    auto a = initial<T>(k);
    for (int64_t r = 0; r < count; ++r)
      a = combine<T>(k, a, base[s.redOffset(r)]);
    y[o] = finish<T>(k, a, count);
  }
}

/// One block per output; Sum/Mean of floats only (the common long case).
template <typename T>
__global__ void reduceBlockSumKernel(ReduceKind k, const T *x, T *y,
                                     int64_t count, ReduceShape s) {
  __shared__ double shared[32];
  const T *base = x + s.keptOffset(blockIdx.x);
  double a = 0;
  for (int64_t r = threadIdx.x; r < count; r += blockDim.x)
    a += double(base[s.redOffset(r)]);
  a = blockSum(a, shared);
  if (threadIdx.x == 0)
    y[blockIdx.x] = T(k == ReduceKind::Mean ? a / double(count) : a);
}

} // namespace
} // namespace cuda

using namespace cuda;

void reduce(ReduceKind kind, Tensor x, Tensor out, Dims axes) {
  static const char *names[] = {"reduce Sum", "reduce Mean", "reduce Max",
                                "reduce Min", "reduce Prod"};
  const int ki = static_cast<int>(kind);
  const char *k = ki >= 0 && ki < 5 ? names[ki] : "reduce";
  const ReduceDims rd = checkReduce(k, x, out, axes);
  const int64_t count = rd.count, kept = rd.kept;
  ReduceShape s;
  int64_t strides[kMaxRank];
  rowMajorStrides(x.shape, strides);
  for (int i = 0; i < x.shape.rank; ++i) {
    if (rd.reduced[i]) {
      s.redDims[s.redRank] = x.shape.d[i];
      s.redStrides[s.redRank++] = strides[i];
    } else {
      s.keptDims[s.keptRank] = x.shape.d[i];
      s.keptStrides[s.keptRank++] = strides[i];
    }
  }
  if (kept == 0)
    return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T *xp = static_cast<const T *>(x.data);
    T *yp = static_cast<T *>(out.data);
    const bool sum = kind == ReduceKind::Sum || kind == ReduceKind::Mean;
    if (std::is_floating_point<T>::value && sum && count >= 4096 &&
        kept <= 65535)
      reduceBlockSumKernel<T><<<static_cast<unsigned>(kept), kThreads, 0,
                                stream()>>>(kind, xp, yp, count, s);
    else
      reduceThreadKernel<T><<<blocksFor(kept), kThreads, 0, stream()>>>(
          kind, xp, yp, kept, count, s);
  };
  switch (x.dtype) {
  case DType::F32: run(float{}); break;
  case DType::F64: run(double{}); break;
  case DType::I8: run(int8_t{}); break;
  case DType::I16: run(int16_t{}); break;
  case DType::I32: run(int32_t{}); break;
  case DType::I64: run(int64_t{}); break;
  case DType::U8: run(uint8_t{}); break;
  case DType::Bool:
    if (kind == ReduceKind::Max || kind == ReduceKind::Min) {
      run(uint8_t{});
      break;
    }
    [[fallthrough]];
  default:
    fail("%s: unsupported dtype %s", k, dtypeName(x.dtype));
  }
  checkLaunch(k);
}

} // namespace bbrt
