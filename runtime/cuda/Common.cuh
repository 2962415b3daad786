//===- Common.cuh - helpers shared by the CUDA kernels ---------*- CUDA -*-===//
//
// Index arithmetic for row-major tensors of rank <= kMaxRank, broadcasting
// (NumPy rules) as per-operand strides with 0 for stretched dims, launch
// shapes and dtype dispatch. Every kernel launches on cuda::stream().
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CUDA_COMMON_CUH
#define BBRT_CUDA_COMMON_CUH

#include "bbrt/bbrt.h"
#include "bbrt/model.h"
#include "runtime/core/Util.h"
#include "runtime/cuda/Device.h"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace bbrt {
namespace cuda {

constexpr int kThreads = 256;

/// Blocks for a grid-stride loop over n elements.
inline unsigned blocksFor(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  if (b < 1)
    b = 1;
  if (b > 65535LL * 8)
    b = 65535LL * 8;
  return static_cast<unsigned>(b);
}

#define BBRT_GRID_LOOP(i, n)                                                   \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n);    \
       i += int64_t(blockDim.x) * gridDim.x)

/// A shape and up to three operands' element strides over it (0 where an
/// operand is broadcast), passed to kernels by value.
struct Indexer {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[3][kMaxRank] = {};
  /// Element offset into operand `k` of the output's linear index `i`.
  __host__ __device__ int64_t offset(int k, int64_t i) const {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t c = i % dims[d];
      i /= dims[d];
      off += c * strides[k][d];
    }
    return off;
  }
};

/// Row-major element strides of `shape`.
inline void rowMajorStrides(const Dims &shape, int64_t *strides) {
  int64_t s = 1;
  for (int d = shape.rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape.d[d];
  }
}

/// An Indexer over `out` for operands broadcast to it; fails (naming
/// `what` and the operand) when an operand does not broadcast.
inline Indexer broadcastIndexer(const char *what, const Dims &out,
                                const Dims *ops, const char *const *names,
                                int n) {
  Indexer ix;
  ix.rank = out.rank;
  for (int d = 0; d < out.rank; ++d)
    ix.dims[d] = out.d[d];
  for (int k = 0; k < n; ++k) {
    const Dims &s = ops[k];
    if (s.rank > out.rank)
      fail("%s: %s of shape %s does not broadcast to %s", what, names[k],
           formatDims(s).c_str(), formatDims(out).c_str());
    int64_t stride = 1;
    for (int d = out.rank - 1; d >= 0; --d) {
      const int sd = d - (out.rank - s.rank);
      const int64_t dim = sd >= 0 ? s.d[sd] : 1;
      if (dim != 1 && dim != out.d[d])
        fail("%s: %s of shape %s does not broadcast to %s", what, names[k],
             formatDims(s).c_str(), formatDims(out).c_str());
      ix.strides[k][d] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  }
  return ix;
}

/// Whether every operand has out's shape (then offsets are the index).
inline bool sameShapes(const Dims &out, const Dims *ops, int n) {
  for (int k = 0; k < n; ++k)
    if (ops[k].numel() != out.numel() || ops[k] != out)
      return false;
  return true;
}

/// Calls f(W{}) with the unsigned word type of `bytes` (data movement is
/// dtype-generic by element size).
template <typename F> void byWord(int64_t bytes, const char *what, F &&f) {
  switch (bytes) {
  case 1: return f(uint8_t{});
  case 2: return f(uint16_t{});
  case 4: return f(uint32_t{});
  case 8: return f(uint64_t{});
  default: fail("%s: unsupported element size %lld", what, (long long)bytes);
  }
}

/// Records what a kernel found wrong in its data, if nothing was recorded
/// before (the host reports it at synchronizeDevice).
__device__ inline void report(KernelError *e, ErrorCode code, long long a,
                              long long b, long long c) {
  if (atomicCAS(&e->code, 0ull, static_cast<unsigned long long>(code)) == 0) {
    e->a = a;
    e->b = b;
    e->c = c;
  }
}

/// Product of dims [from, to).
inline int64_t product(const Dims &s, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; ++d)
    p *= s.d[d];
  return p;
}

} // namespace cuda
} // namespace bbrt

#endif
