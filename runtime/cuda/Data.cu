//===- Data.cu - gather, scatterAdd, transpose, concat, slice on the GPU ---===//
//
// Data movement is dtype-generic by element size, as in the CPU runtime
// (runtime/cpu/Data.cpp). Index checks that need the data (gather and
// scatterAdd indices) run in the kernels and are reported through the
// device error record when the program next waits for the GPU.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cuda/Common.cuh"

#include <climits>
#include <cub/device/device_radix_sort.cuh>

namespace bbrt {
namespace cuda {
namespace {

__device__ int64_t indexAt(const void *idx, bool i64, int64_t j) {
  return i64 ? static_cast<const int64_t *>(idx)[j]
             : static_cast<const int32_t *>(idx)[j];
}

template <typename W>
__global__ void gatherKernel(const W *data, const void *idx, bool i64, W *out,
                             int64_t n, int64_t A, int64_t inner,
                             int64_t total, KernelError *err) {
  BBRT_GRID_LOOP(t, total) {
    const int64_t i = t % inner, j = (t / inner) % n, o = t / (inner * n);
    const int64_t v = indexAt(idx, i64, j);
    const int64_t w = v < 0 ? v + A : v;
    if (w < 0 || w >= A) {
      report(err, kGatherIndex, v, A, 0);
      out[t] = W(0);
      continue;
    }
    out[t] = data[(o * A + w) * inner + i];
  }
}

// scatterAdd without atomics, so that a run gives the same bits every time
// (and the CPU runtime's): the indices' output rows are sorted stably
// (keys), with their positions (pos), and one thread per run of equal rows
// and column sums the run's updates in index order.

/// keys[j] = the output row of index j (A for one out of range, which is
/// reported), pos[j] = j.
__global__ void scatterKeysKernel(const void *idx, bool i64, int64_t n,
                                  int64_t A, int32_t *keys, int32_t *pos,
                                  KernelError *err) {
  BBRT_GRID_LOOP(j, n) {
    const int64_t v = indexAt(idx, i64, j);
    const int64_t w = v < 0 ? v + A : v;
    if (w < 0 || w >= A) {
      report(err, kScatterIndex, v, A, 0);
      keys[j] = static_cast<int32_t>(A);
    } else {
      keys[j] = static_cast<int32_t>(w);
    }
    pos[j] = static_cast<int32_t>(j);
  }
}

/// For the first sorted position p of each run of equal rows, and each
/// outer index o and column i: y[o, row, i] = 0 + u[o, j1, i] + u[o, j2, i]
/// + ... over the run's indices j1 < j2 < ..., the CPU runtime's order.
__global__ void scatterSumKernel(const int32_t *keys, const int32_t *pos,
                                 const float *u, float *y, int64_t n,
                                 int64_t A, int64_t inner, int64_t total) {
  BBRT_GRID_LOOP(t, total) {
    const int64_t i = t % inner, p = (t / inner) % n, o = t / (inner * n);
    const int32_t w = keys[p];
    if (w >= A || (p > 0 && keys[p - 1] == w))
      continue;
    float s = 0.0f;
    for (int64_t q = p; q < n && keys[q] == w; ++q)
      s += u[(o * n + pos[q]) * inner + i];
    y[(o * A + w) * inner + i] = s;
  }
}

size_t alignUp(size_t x) { return (x + 255) / 256 * 256; }

/// out[i] = in[offset of out index i], the general strided copy behind
/// transpose, slice and concat.
template <typename W>
__global__ void stridedCopyKernel(const W *in, W *out, int64_t n,
                                  Indexer ix, int64_t base) {
  BBRT_GRID_LOOP(i, n) out[i] = in[base + ix.offset(0, i)];
}

/// out[base + offset of in index i] = in[i]: the scatter direction.
template <typename W>
__global__ void stridedStoreKernel(const W *in, W *out, int64_t n,
                                   Indexer ix, int64_t base) {
  BBRT_GRID_LOOP(i, n) out[base + ix.offset(0, i)] = in[i];
}

void stridedCopy(const Tensor &in, const Tensor &out, const Indexer &ix,
                 int64_t base, bool store, const char *what) {
  const int64_t n = store ? in.numel() : out.numel();
  if (n == 0)
    return;
  byWord(dtypeSize(in.dtype), what, [&](auto w) {
    using W = decltype(w);
    if (store)
      stridedStoreKernel<W><<<blocksFor(n), kThreads, 0, stream()>>>(
          static_cast<const W *>(in.data), static_cast<W *>(out.data), n, ix,
          base);
    else
      stridedCopyKernel<W><<<blocksFor(n), kThreads, 0, stream()>>>(
          static_cast<const W *>(in.data), static_cast<W *>(out.data), n, ix,
          base);
  });
  checkLaunch(what);
}

/// The Indexer and base offset of slice(in -> out, starts, strides), with
/// every read checked to lie inside `in`.
Indexer sliceIndexer(const char *what, const Tensor &in, const Tensor &out,
                     const Dims &starts, const Dims &strides, int64_t &base) {
  const int r = in.shape.rank;
  if (out.shape.rank != r || starts.rank != r ||
      (strides.rank != r && strides.rank != 0))
    fail("%s: ranks of input %s, output %s, starts and strides differ", what,
         formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  int64_t inStrides[kMaxRank];
  rowMajorStrides(in.shape, inStrides);
  Indexer ix;
  ix.rank = r;
  base = 0;
  for (int d = 0; d < r; ++d) {
    const int64_t dim = in.shape.d[d], cnt = out.shape.d[d];
    int64_t s = starts.d[d];
    const int64_t st = strides.rank ? strides.d[d] : 1;
    if (st == 0) // as the CPU: sliceGrad's threads would race on one element
      fail("%s: stride 0 in dim %d", what, d);
    if (s < 0)
      s += dim;
    if (cnt > 0) {
      const int64_t last = s + (cnt - 1) * st;
      if (s < 0 || s >= dim || last < 0 || last >= dim)
        fail("%s: dim %d reads [%lld .. %lld] outside size %lld", what, d,
             (long long)s, (long long)last, (long long)dim);
    }
    ix.dims[d] = cnt;
    ix.strides[0][d] = st * inStrides[d];
    base += s * inStrides[d];
  }
  return ix;
}

} // namespace
} // namespace cuda

using namespace cuda;

void gather(Tensor data, Tensor indices, Tensor out, int64_t axis) {
  const char *k = "gather";
  const GatherShape gs = checkGather(data, indices, out, axis);
  const int64_t A = gs.A, n = gs.n, inner = gs.inner;
  const int64_t total = out.numel();
  if (total == 0)
    return;
  byWord(dtypeSize(data.dtype), k, [&](auto w) {
    using W = decltype(w);
    gatherKernel<W><<<blocksFor(total), kThreads, 0, stream()>>>(
        static_cast<const W *>(data.data), indices.data,
        indices.dtype == DType::I64, static_cast<W *>(out.data), n, A, inner,
        total, kernelError());
  });
  checkLaunch(k);
}

void scatterAdd(Tensor indices, Tensor updates, Tensor out, int64_t axis) {
  const char *k = "scatterAdd";
  checkDType(k, "updates", updates, DType::F32);
  checkDType(k, "output", out, DType::F32);
  if (indices.dtype != DType::I64 && indices.dtype != DType::I32)
    fail("%s: indices have dtype %s, expected i64 or i32", k,
         dtypeName(indices.dtype));
  const int r = out.shape.rank;
  const int a = static_cast<int>(normAxis(k, axis, r));
  const int64_t A = out.shape.d[a], n = indices.numel();
  const int64_t outer = product(out.shape, 0, a);
  const int64_t inner = product(out.shape, a + 1, r);
  if (updates.numel() != outer * n * inner)
    fail("%s: updates %s do not match output %s with indices %s", k,
         formatDims(updates.shape).c_str(), formatDims(out.shape).c_str(),
         formatDims(indices.shape).c_str());
  if (out.numel() > 0)
    check(cudaMemsetAsync(out.data, 0, static_cast<size_t>(out.nbytes()),
                          stream()),
          k);
  const int64_t total = updates.numel();
  // Every index is checked, as the CPU runtime checks them, even where
  // nothing is added (rows of no elements, or an axis of size 0, where any
  // index is out of range); only without rows or indices is there none.
  if (outer == 0 || n == 0)
    return;
  if (A >= INT32_MAX || n >= INT32_MAX)
    fail("%s: %lld indices into a dimension of %lld: more than the 32-bit "
         "sort takes",
         k, (long long)n, (long long)A);
  // Scratch: keys and positions, sorted and not, and the sort's own.
  int bits = 1;
  while (bits < 31 && (int64_t{1} << bits) <= A)
    ++bits;
  const size_t words = alignUp(sizeof(int32_t) * static_cast<size_t>(n));
  size_t sortBytes = 0;
  check(cub::DeviceRadixSort::SortPairs(
            nullptr, sortBytes, static_cast<const int32_t *>(nullptr),
            static_cast<int32_t *>(nullptr),
            static_cast<const int32_t *>(nullptr),
            static_cast<int32_t *>(nullptr), static_cast<int>(n), 0, bits,
            stream()),
        k);
  char *base = static_cast<char *>(scratch(4 * words + sortBytes, 0));
  int32_t *keys = reinterpret_cast<int32_t *>(base);
  int32_t *pos = reinterpret_cast<int32_t *>(base + words);
  int32_t *sortedKeys = reinterpret_cast<int32_t *>(base + 2 * words);
  int32_t *sortedPos = reinterpret_cast<int32_t *>(base + 3 * words);
  scatterKeysKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
      indices.data, indices.dtype == DType::I64, n, A, keys, pos,
      kernelError());
  checkLaunch(k);
  if (total == 0 || out.numel() == 0)
    return;
  // Stable: equal rows keep their indices' order.
  check(cub::DeviceRadixSort::SortPairs(base + 4 * words, sortBytes, keys,
                                        sortedKeys, pos, sortedPos,
                                        static_cast<int>(n), 0, bits,
                                        stream()),
        k);
  scatterSumKernel<<<blocksFor(total), kThreads, 0, stream()>>>(
      sortedKeys, sortedPos, static_cast<const float *>(updates.data),
      static_cast<float *>(out.data), n, A, inner, total);
  checkLaunch(k);
}

void transpose(Tensor in, Tensor out, Dims perm) {
  const char *k = "transpose";
  const int r = in.shape.rank;
  checkDType(k, "output", out, in.dtype);
  bool ok = perm.rank == r && out.shape.rank == r;
  bool seen[kMaxRank] = {};
  for (int i = 0; ok && i < r; ++i) {
    const int64_t p = perm.d[i];
    ok = p >= 0 && p < r && !seen[p] && out.shape.d[i] == in.shape.d[p];
    if (ok)
      seen[p] = true;
  }
  if (!ok)
    fail("%s: output %s is not input %s permuted by %s", k,
         formatDims(out.shape).c_str(), formatDims(in.shape).c_str(),
         formatDims(perm).c_str());
  int64_t inStrides[kMaxRank];
  rowMajorStrides(in.shape, inStrides);
  Indexer ix;
  ix.rank = r;
  for (int i = 0; i < r; ++i) {
    ix.dims[i] = out.shape.d[i];
    ix.strides[0][i] = inStrides[perm.d[i]];
  }
  stridedCopy(in, out, ix, 0, false, k);
}

void concatN(Tensor out, int64_t axis, const Tensor *inputs, int count) {
  const char *k = "concat";
  if (count < 1)
    fail("%s: no inputs", k);
  const int r = out.shape.rank;
  const int a = static_cast<int>(normAxis(k, axis, r));
  int64_t outStrides[kMaxRank];
  rowMajorStrides(out.shape, outStrides);
  // Every input checked, and their sum, before any copy is launched (a
  // copy past the output's end would write into its neighbours).
  int64_t sum = 0;
  for (int i = 0; i < count; ++i) {
    const Tensor &t = inputs[i];
    if (t.dtype != out.dtype)
      fail("%s: input %d has dtype %s, output %s", k, i, dtypeName(t.dtype),
           dtypeName(out.dtype));
    bool fits = t.shape.rank == r;
    for (int d = 0; fits && d < r; ++d)
      fits = d == a || t.shape.d[d] == out.shape.d[d];
    if (!fits)
      fail("%s: input %d of shape %s does not fit output %s along axis %lld",
           k, i, formatDims(t.shape).c_str(), formatDims(out.shape).c_str(),
           (long long)axis);
    sum += t.shape.d[a];
  }
  if (sum != out.shape.d[a])
    fail("%s: inputs sum to %lld along axis %lld, output has %lld", k,
         (long long)sum, (long long)axis, (long long)out.shape.d[a]);
  int64_t offset = 0;
  for (int i = 0; i < count; ++i) {
    const Tensor &t = inputs[i];
    Indexer ix;
    ix.rank = r;
    for (int d = 0; d < r; ++d) {
      ix.dims[d] = t.shape.d[d];
      ix.strides[0][d] = outStrides[d];
    }
    stridedCopy(t, out, ix, offset * outStrides[a], true, k);
    offset += t.shape.d[a];
  }
}

void slice(Tensor in, Tensor out, Dims starts, Dims strides) {
  const char *k = "slice";
  checkDType(k, "output", out, in.dtype);
  if (out.numel() == 0)
    return;
  int64_t base;
  const Indexer ix = sliceIndexer(k, in, out, starts, strides, base);
  stridedCopy(in, out, ix, base, false, k);
}

void sliceGrad(Tensor dy, Tensor dx, Dims starts, Dims strides) {
  const char *k = "sliceGrad";
  checkDType(k, "output", dx, dy.dtype);
  if (dx.numel() != 0)
    check(cudaMemsetAsync(dx.data, 0, static_cast<size_t>(dx.nbytes()),
                          stream()),
          k);
  if (dy.numel() == 0)
    return;
  int64_t base;
  const Indexer ix = sliceIndexer(k, dx, dy, starts, strides, base);
  stridedCopy(dy, dx, ix, base, true, k);
}

} // namespace bbrt
