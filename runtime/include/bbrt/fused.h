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
#include <vector>

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

/// How a fused kernel walks its tensors: the output's dimensions (a
/// reduction's: its iteration shape's) with adjacent ones merged where every
/// input allows it, and each input's element strides along them (0 where it
/// broadcasts).
struct FusedPlan {
  int rank = 0;
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxFusedInputs][kMaxRank] = {};
};

/// Checks the tensors of a fused kernel (F32 data; each input broadcasts to
/// the output's shape) and plans the walk; throws Error otherwise.
FusedPlan planFused(const Tensor &out, const Tensor *ins, int count);

/// A fused reduction: the walk over the iteration shape, and how its linear
/// index splits into the output's index `o` and the summed index `r`:
/// trailing axes summed, i = o * reduced + r; leading ones, i = r * kept + o.
struct FusedReducePlan {
  FusedPlan walk;
  bool trailing = true;
  int64_t kept = 1, reduced = 1;
  double scale = 1.0; // 1 / reduced for a mean
};

/// Checks the tensors of a fused reduction (F32 data; inputs broadcast to
/// `shape`; `axes` sorted, leading or trailing or all of `shape`'s; `out`
/// holds the kept elements) and plans it; throws Error otherwise.
FusedReducePlan planFusedReduce(const Tensor &out, const Dims &shape,
                                const Dims &axes, bool mean, const Tensor *ins,
                                int count);

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
/// Device scratch of the CUDA runtime (reused across calls, ordered on its
/// stream).
void *fusedScratch(size_t bytes);
/// The CPU runtime: runs body(arg, begin, end) over ranges covering [0, n),
/// on the runtime's threads when `n` elements of `work` operations each are
/// worth it.
void fusedChunks(int64_t n, int64_t work, void (*body)(void *, int64_t, int64_t),
                 void *arg);

#ifdef __CUDACC__

/// The body at linear index i of the walk.
template <auto F, size_t... I>
__device__ inline float fusedValue(const FusedPlan &plan,
                                   const FusedPointers<sizeof...(I)> &in,
                                   int64_t i) {
  int64_t off[sizeof...(I)] = {};
  for (int d = plan.rank - 1; d >= 0; --d) {
    const int64_t c = i % plan.dims[d];
    i /= plan.dims[d];
    ((off[I] += c * plan.strides[I][d]), ...);
  }
  return F(in.in[I][off[I]]...);
}

template <auto F, size_t... I>
__global__ void fusedKernel(FusedPlan plan, float *out,
                            FusedPointers<sizeof...(I)> in) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
       i < plan.numel; i += step)
    out[i] = fusedValue<F, I...>(plan, in, i);
}

constexpr int kFusedReduceThreads = 256;

/// Sums `partial` over the block's threads (in double); thread 0 gets it.
__device__ inline double blockSum(double partial) {
  __shared__ double sums[kFusedReduceThreads];
  sums[threadIdx.x] = partial;
  __syncthreads();
  for (int w = kFusedReduceThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w)
      sums[threadIdx.x] += sums[threadIdx.x + w];
    __syncthreads();
  }
  return sums[0];
}

/// Trailing axes summed: block b sums segment `b % segments` of output row
/// `b / segments` into partial[b] (or, with one segment, the row into out).
template <auto F, size_t... I>
__global__ void fusedReduceRows(FusedReducePlan plan, float *out,
                                FusedPointers<sizeof...(I)> in, int segments,
                                double *partial) {
  const int64_t o = blockIdx.x / segments, seg = blockIdx.x % segments;
  const int64_t n = plan.reduced, per = (n + segments - 1) / segments;
  const int64_t begin = seg * per, end = begin + per < n ? begin + per : n;
  double acc = 0;
  for (int64_t r = begin + threadIdx.x; r < end; r += kFusedReduceThreads)
    acc += fusedValue<F, I...>(plan.walk, in, o * n + r);
  acc = blockSum(acc);
  if (threadIdx.x == 0) {
    if (segments == 1)
      out[o] = static_cast<float>(acc * plan.scale);
    else
      partial[blockIdx.x] = acc;
  }
}

/// The segments' partial sums of each row, in order.
__global__ void fusedReduceSegments(const double *partial, int segments,
                                    double scale, float *out) {
  double acc = 0;
  for (int s = threadIdx.x; s < segments; s += kFusedReduceThreads)
    acc += partial[blockIdx.x * segments + s];
  acc = blockSum(acc);
  if (threadIdx.x == 0)
    out[blockIdx.x] = static_cast<float>(acc * scale);
}

/// Leading axes summed: one thread per output element, down the rows.
template <auto F, size_t... I>
__global__ void fusedReduceColumns(FusedReducePlan plan, float *out,
                                   FusedPointers<sizeof...(I)> in) {
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= plan.kept)
    return;
  double acc = 0;
  for (int64_t r = 0; r < plan.reduced; ++r)
    acc += fusedValue<F, I...>(plan.walk, in, r * plan.kept + o);
  out[o] = static_cast<float>(acc * plan.scale);
}

template <auto F, size_t... I>
void runFusedReduce(const FusedReducePlan &plan, float *out,
                    const FusedPointers<sizeof...(I)> &in,
                    std::index_sequence<I...>) {
  if (plan.kept == 0)
    return;
  auto stream = static_cast<cudaStream_t>(fusedStream());
  const int threads = kFusedReduceThreads;
  if (!plan.trailing) {
    const int64_t blocks = (plan.kept + threads - 1) / threads;
    fusedReduceColumns<F, I...><<<static_cast<unsigned>(blocks), threads, 0,
                                  stream>>>(plan, out, in);
  } else {
    // Long rows of few outputs (a whole tensor's sum) are split into
    // segments summed by separate blocks, then added in order.
    int64_t segments = 1;
    while (plan.kept * segments < 1024 && plan.reduced / segments > 65536)
      segments *= 2;
    double *partial = segments > 1 ? static_cast<double *>(fusedScratch(
                                         sizeof(double) * plan.kept * segments))
                                   : nullptr;
    fusedReduceRows<F, I...><<<static_cast<unsigned>(plan.kept * segments),
                               threads, 0, stream>>>(
        plan, out, in, static_cast<int>(segments), partial);
    if (segments > 1)
      fusedReduceSegments<<<static_cast<unsigned>(plan.kept), threads, 0,
                            stream>>>(partial, static_cast<int>(segments),
                                      plan.scale, out);
  }
  checkFusedLaunch("fused reduction kernel");
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

/// Writes the body's values at linear indices [begin, end) of the walk to
/// out[i - outBase].
template <auto F, size_t... I>
BBRT_FUSED_CLONES void fusedRange(const FusedPlan &plan, float *out,
                int64_t outBase, const FusedPointers<sizeof...(I)> &in,
                int64_t begin, int64_t end) {
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
      // The output never overlaps an input at a different element (it is
      // an input's buffer only for a state updated in place, read at the
      // same index), so the loop vectorizes whatever the cost model (the
      // program is compiled with -fopenmp).
      float *o = out + (i - outBase) + b;
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
                fusedRange<F, I...>(*a->plan, a->out, 0, *a->in, b, e);
              },
              &args);
}

/// Elements per chunk of a reduction: a fixed split (whatever the thread
/// count), so that the sums come out the same on any number of threads.
constexpr int64_t kFusedReduceChunk = 4096;

/// The sum, in double, of the body over linear indices [begin, end).
template <auto F, size_t... I>
double fusedSum(const FusedPlan &walk, const FusedPointers<sizeof...(I)> &in,
                int64_t begin, int64_t end) {
  float values[kFusedReduceChunk];
  double acc = 0;
  for (int64_t b = begin; b < end; b += kFusedReduceChunk) {
    const int64_t e = end - b < kFusedReduceChunk ? end : b + kFusedReduceChunk;
    fusedRange<F, I...>(walk, values, b, in, b, e);
    const int64_t n = e - b;
#pragma omp simd reduction(+ : acc)
    for (int64_t t = 0; t < n; ++t)
      acc += values[t];
  }
  return acc;
}

template <auto F, size_t... I>
void runFusedReduce(const FusedReducePlan &plan, float *out,
                    const FusedPointers<sizeof...(I)> &in,
                    std::index_sequence<I...>) {
  struct Args {
    const FusedReducePlan *plan;
    float *out;
    const FusedPointers<sizeof...(I)> *in;
    double *partial;
  } args{&plan, out, &in, nullptr};
  const int64_t work = sizeof...(I) + 1;
  if (plan.trailing && plan.kept > 1) {
    // One output at a time per thread: its row's sum.
    fusedChunks(plan.kept, plan.reduced * work,
                [](void *p, int64_t b, int64_t e) {
                  auto *a = static_cast<Args *>(p);
                  const int64_t n = a->plan->reduced;
                  for (int64_t o = b; o < e; ++o)
                    a->out[o] = static_cast<float>(
                        fusedSum<F, I...>(a->plan->walk, *a->in, o * n,
                                          (o + 1) * n) *
                        a->plan->scale);
                },
                &args);
  } else if (plan.trailing) {
    // One sum over everything: fixed chunks' sums, added in order.
    const int64_t chunks =
        (plan.reduced + kFusedReduceChunk - 1) / kFusedReduceChunk;
    std::vector<double> partial(static_cast<size_t>(chunks > 0 ? chunks : 1), 0.0);
    args.partial = partial.data();
    fusedChunks(chunks, kFusedReduceChunk * work,
                [](void *p, int64_t b, int64_t e) {
                  auto *a = static_cast<Args *>(p);
                  const int64_t n = a->plan->reduced;
                  for (int64_t c = b; c < e; ++c) {
                    const int64_t end = (c + 1) * kFusedReduceChunk;
                    a->partial[c] = fusedSum<F, I...>(
                        a->plan->walk, *a->in, c * kFusedReduceChunk,
                        end < n ? end : n);
                  }
                },
                &args);
    double acc = 0;
    for (double v : partial)
      acc += v;
    out[0] = static_cast<float>(acc * plan.scale);
  } else {
    // Leading axes: each thread takes whole columns blocks, down the rows.
    const int64_t blocks = (plan.kept + kFusedBlock - 1) / kFusedBlock;
    fusedChunks(blocks, plan.reduced * kFusedBlock * work,
                [](void *p, int64_t b, int64_t e) {
                  auto *a = static_cast<Args *>(p);
                  const int64_t K = a->plan->kept;
                  float values[kFusedBlock];
                  double acc[kFusedBlock];
                  for (int64_t blk = b; blk < e; ++blk) {
                    const int64_t o0 = blk * kFusedBlock;
                    const int64_t n = K - o0 < kFusedBlock ? K - o0 : kFusedBlock;
                    for (int64_t t = 0; t < n; ++t)
                      acc[t] = 0;
                    for (int64_t r = 0; r < a->plan->reduced; ++r) {
                      fusedRange<F, I...>(a->plan->walk, values, r * K + o0,
                                          *a->in, r * K + o0, r * K + o0 + n);
#pragma omp simd
                      for (int64_t t = 0; t < n; ++t)
                        acc[t] += values[t];
                    }
                    for (int64_t t = 0; t < n; ++t)
                      a->out[o0 + t] = static_cast<float>(acc[t] * a->plan->scale);
                  }
                },
                &args);
  }
}

#endif

} // namespace detail

/// out = the sum (with `mean`, the mean) over `axes` of F(ins...) at every
/// index of `shape`, each input broadcast to it; out holds the kept
/// elements in order.
template <auto F, typename... T>
void fusedReduce(Tensor out, Dims shape, Dims axes, bool mean, T... ins) {
  constexpr int N = sizeof...(T);
  static_assert(N >= 1 && N <= kMaxFusedInputs, "1 to 16 fused inputs");
  const Tensor all[N] = {ins...};
  const FusedReducePlan plan = planFusedReduce(out, shape, axes, mean, all, N);
  detail::FusedPointers<N> pointers{{static_cast<const float *>(ins.data)...}};
  detail::runFusedReduce<F>(plan, static_cast<float *>(out.data), pointers,
                            std::make_index_sequence<N>{});
}

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
