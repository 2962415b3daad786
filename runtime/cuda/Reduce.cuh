//===- Reduce.cuh - block reductions for the CUDA kernels ------*- CUDA -*-===//
#ifndef BBRT_CUDA_REDUCE_CUH
#define BBRT_CUDA_REDUCE_CUH

namespace bbrt {
namespace cuda {

/// Sum of `v` over the block (every thread gets it); `shared` holds
/// blockDim.x / 32 values. Safe to call repeatedly.
template <typename T> __device__ T blockSum(T v, T *shared) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  T total = T(0);
  for (int w = 0; w < warps; ++w)
    total += shared[w];
  return total;
}

/// Maximum of `v` over the block (NaN wins); as blockSum.
template <typename T> __device__ T blockMax(T v, T *shared) {
  for (int o = 16; o > 0; o >>= 1) {
    T u = __shfl_down_sync(0xffffffffu, v, o);
    v = (u > v || isnan(u)) ? u : v;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  T m = shared[0];
  for (int w = 1; w < warps; ++w)
    m = (shared[w] > m || isnan(shared[w])) ? shared[w] : m;
  return m;
}

} // namespace cuda
} // namespace bbrt

#endif
