//===- fused.h - the compiler's fused elementwise kernels -------*- C++ -*-===//
//
// bb-fuse-elementwise turns a chain of elementwise ops into one
// bb.fused_elementwise with a scalar body. The generated program defines
// that body as a function of floats,
//
//   BBRT_FUSED float bb_fused0(float v0, float v1) { ... }
//
// and calls bbrt::fusedElementwise<bb_fused0>(out, in0, in1): one pass over
// memory for the whole chain. This header is compiled into the generated
// program: by the host compiler for the CPU target (a loop over the
// runtime's threads, the body inlined so that the loop vectorizes) and by
// nvcc for the CUDA one (a kernel, one thread per element).
//
// Inputs are F32 tensors that broadcast to the output's shape (NumPy rules),
// at most kMaxFusedInputs of them.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_FUSED_H
#define BBRT_FUSED_H

#include "bbrt/bbrt.h"

#include <cstdint>
#include <utility>

#ifdef __CUDACC__
#define BBRT_FUSED static inline __host__ __device__
#define BBRT_FUSED_MATH inline __host__ __device__
#else
#include "bbrt/fastmath.h"
#include <cmath>
#define BBRT_FUSED static inline __attribute__((always_inline))
#define BBRT_FUSED_MATH inline __attribute__((always_inline))
#endif

namespace bbrt {

constexpr int kMaxFusedInputs = 16;

/// How a fused kernel walks its tensors: the output's dimensions with
/// adjacent ones merged where every input allows it, and each input's
/// element strides along them (0 where it broadcasts).
struct FusedPlan {
  int rank = 0;
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxFusedInputs][kMaxRank] = {};
};

/// Checks the tensors of a fused kernel (F32 data; each input broadcasts to
/// the output's shape) and plans the walk; throws Error otherwise.
FusedPlan planFused(const Tensor &out, const Tensor *ins, int count);

namespace fused {

// What the bodies call for math ops (math.exp -> bbrt::fused::exp, ...): on
// the CPU the runtime's own kernels' functions (bbrt/fastmath.h), so that a
// fused chain computes what its ops compute one by one; on GPUs CUDA's.
#ifdef __CUDACC__
BBRT_FUSED_MATH float exp(float x) { return ::expf(x); }
BBRT_FUSED_MATH float log(float x) { return ::logf(x); }
BBRT_FUSED_MATH float sqrt(float x) { return ::sqrtf(x); }
BBRT_FUSED_MATH float erf(float x) { return ::erff(x); }
BBRT_FUSED_MATH float tanh(float x) { return ::tanhf(x); }
BBRT_FUSED_MATH float abs(float x) { return ::fabsf(x); }
BBRT_FUSED_MATH float pow(float x, float y) { return ::powf(x, y); }
#else
BBRT_FUSED_MATH float exp(float x) { return fastmath::expf(x); }
BBRT_FUSED_MATH float log(float x) { return std::log(x); }
BBRT_FUSED_MATH float sqrt(float x) { return std::sqrt(x); }
BBRT_FUSED_MATH float erf(float x) { return fastmath::erff(x); }
BBRT_FUSED_MATH float tanh(float x) { return fastmath::tanhf(x); }
BBRT_FUSED_MATH float abs(float x) { return std::fabs(x); }
BBRT_FUSED_MATH float pow(float x, float y) { return std::pow(x, y); }
#endif

} // namespace fused

namespace detail {

template <int N> struct FusedPointers {
  const float *in[N];
};

/// The CUDA runtime's stream (as a cudaStream_t) and its check of the last
/// launch (throws Error naming `what`).
void *fusedStream();
void checkFusedLaunch(const char *what);
/// The CPU runtime: runs body(arg, begin, end) over ranges covering [0, n),
/// on the runtime's threads when `n` elements of `work` operations each are
/// worth it.
void fusedChunks(int64_t n, int64_t work, void (*body)(void *, int64_t, int64_t),
                 void *arg);

#ifdef __CUDACC__

template <auto F, size_t... I>
__global__ void fusedKernel(FusedPlan plan, float *out,
                            FusedPointers<sizeof...(I)> in) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
       i < plan.numel; i += step) {
    int64_t off[sizeof...(I)] = {};
    int64_t rest = i;
    for (int d = plan.rank - 1; d >= 0; --d) {
      const int64_t c = rest % plan.dims[d];
      rest /= plan.dims[d];
      ((off[I] += c * plan.strides[I][d]), ...);
    }
    out[i] = F(in.in[I][off[I]]...);
  }
}

template <auto F, size_t... I>
void runFused(const FusedPlan &plan, float *out,
              const FusedPointers<sizeof...(I)> &in, std::index_sequence<I...>) {
  if (plan.numel == 0)
    return;
  const int threads = 256;
  int64_t blocks = (plan.numel + threads - 1) / threads;
  blocks = blocks < 8192 ? blocks : 8192;
  fusedKernel<F, I...><<<static_cast<unsigned>(blocks), threads, 0,
                         static_cast<cudaStream_t>(fusedStream())>>>(plan, out, in);
  checkFusedLaunch("fused elementwise kernel");
}

#else

/// Elements per block of the inner loop (the broadcast inputs' scratch).
constexpr int64_t kFusedBlock = 256;

// Compiled twice, for the baseline ISA and for AVX2 + FMA, picked at load
// time, as the runtime's own hot loops (runtime/cpu/Simd.h).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BBRT_FUSED_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BBRT_FUSED_CLONES
#endif

template <auto F, size_t... I>
BBRT_FUSED_CLONES void fusedRange(const FusedPlan &plan, float *out,
                const FusedPointers<sizeof...(I)> &in, int64_t begin,
                int64_t end) {
  constexpr int N = sizeof...(I);
  const int last = plan.rank - 1;
  const int64_t inner = plan.dims[last];
  float scratch[N > 0 ? N : 1][kFusedBlock];
  for (int64_t i = begin; i < end;) {
    // One row of the innermost dimension at a time: each input's offset at
    // its start, then a contiguous (stride 1) or broadcast (stride 0) run.
    int64_t row = i / inner, j = i % inner;
    const int64_t len = (inner - j < end - i) ? inner - j : end - i;
    int64_t off[N > 0 ? N : 1] = {};
    for (int d = last - 1; d >= 0; --d) {
      const int64_t c = row % plan.dims[d];
      row /= plan.dims[d];
      ((off[I] += c * plan.strides[I][d]), ...);
    }
    ((off[I] += j * plan.strides[I][last]), ...);
    for (int64_t b = 0; b < len; b += kFusedBlock) {
      const int64_t n = (len - b < kFusedBlock) ? len - b : kFusedBlock;
      // Broadcast inputs repeat one value along the run: copy it into the
      // scratch so that every input is read as a contiguous array.
      const float *src[N > 0 ? N : 1] = {(plan.strides[I][last]
                                              ? in.in[I] + off[I] + b
                                              : scratch[I])...};
      ((plan.strides[I][last] ? void()
                              : [&] {
                                  const float v = in.in[I][off[I]];
                                  for (int64_t t = 0; t < n; ++t)
                                    scratch[I][t] = v;
                                }()),
       ...);
      // The output never overlaps an input in a different element (the
      // memory plan may give it an input's bytes, read at the same index),
      // so the loop vectorizes whatever the cost model (the program is
      // compiled with -fopenmp).
      float *o = out + i + b;
#pragma omp simd
      for (int64_t t = 0; t < n; ++t)
        o[t] = F(src[I][t]...);
    }
    i += len;
  }
}

template <auto F, size_t... I>
void runFused(const FusedPlan &plan, float *out,
              const FusedPointers<sizeof...(I)> &in, std::index_sequence<I...>) {
  struct Args {
    const FusedPlan *plan;
    float *out;
    const FusedPointers<sizeof...(I)> *in;
  } args{&plan, out, &in};
  fusedChunks(plan.numel, sizeof...(I) + 1,
              [](void *p, int64_t b, int64_t e) {
                auto *a = static_cast<Args *>(p);
                fusedRange<F, I...>(*a->plan, a->out, *a->in, b, e);
              },
              &args);
}

#endif

} // namespace detail

/// out = F(ins...) at every element of out, each input broadcast to out's
/// shape.
template <auto F, typename... T> void fusedElementwise(Tensor out, T... ins) {
  constexpr int N = sizeof...(T);
  static_assert(N >= 1 && N <= kMaxFusedInputs, "1 to 16 fused inputs");
  const Tensor all[N] = {ins...};
  const FusedPlan plan = planFused(out, all, N);
  detail::FusedPointers<N> pointers{{static_cast<const float *>(ins.data)...}};
  detail::runFused<F>(plan, static_cast<float *>(out.data), pointers,
                      std::make_index_sequence<N>{});
}

} // namespace bbrt

#endif // BBRT_FUSED_H
