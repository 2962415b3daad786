//===- Data.cpp - data movement: gather, transpose, concat, slice, ... ----===//
//
// All of these are dtype-generic: they move elements by byte size.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/KernelArgs.h"
#include "runtime/cpu/Common.h"

#include <vector>

namespace bbrt {

using namespace cpu;

//===--- gather ------------------------------------------------------------===//

void gather(Tensor data, Tensor indices, Tensor out, int64_t axis) {
  const char *k = "gather";
  const GatherShape gs = checkGather(data, indices, out, axis);
  checkData(k, "data", data);
  checkData(k, "indices", indices);
  checkData(k, "output", out);
  const int64_t a = gs.axis, A = gs.A, outer = gs.outer, inner = gs.inner,
                n = gs.n;
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = indices.dtype == DType::I64
                    ? static_cast<const int64_t *>(indices.data)[i]
                    : static_cast<const int32_t *>(indices.data)[i];
    int64_t w = v < 0 ? v + A : v;
    if (w < 0 || w >= A)
      fail("%s: index %lld out of range for axis %lld of size %lld", k,
           (long long)v, (long long)a, (long long)A);
    idx[i] = w;
  }
  const int64_t es = dtypeSize(data.dtype);
  const int64_t rowBytes = inner * es;
  const char *src = static_cast<const char *>(data.data);
  char *dst = static_cast<char *>(out.data);
  const int64_t tasks = outer * n;
  dispatchBytes(data.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (inner == 1) {
      const T *s = reinterpret_cast<const T *>(src);
      T *d = reinterpret_cast<T *>(dst);
      parallelFor(tasks, tasks >= kParallelMin,
                  [&](int64_t t) { d[t] = s[(t / n) * A + idx[t % n]]; });
      return;
    }
    parallelFor(tasks, tasks * inner >= kParallelMin, [&](int64_t t) {
      int64_t o = t / n, j = t % n;
      std::memcpy(dst + t * rowBytes, src + (o * A + idx[j]) * rowBytes,
                  static_cast<size_t>(rowBytes));
    });
  });
}

//===--- transpose ---------------------------------------------------------===//

namespace {

template <typename T>
void transposeTyped(const T *in, T *out, int r, const int64_t *oshape,
                    const int64_t *ist /* input stride of each out dim */) {
  int64_t total = 1;
  for (int i = 0; i < r; ++i)
    total *= oshape[i];
  // Batched 2-d transpose of the last two dims: tile for the cache.
  if (r >= 2 && ist[r - 2] == 1) {
    const int64_t M = oshape[r - 2], N = oshape[r - 1];
    const int64_t sN = ist[r - 1];
    const int64_t batch = total / (M * N);
    const int64_t TB = 32;
    const int64_t tm = (M + TB - 1) / TB, tn = (N + TB - 1) / TB;
    parallelFor(batch * tm * tn, total >= kParallelMin, [&](int64_t t) {
      int64_t b = t / (tm * tn), rem = t % (tm * tn);
      int64_t m0 = (rem / tn) * TB, n0 = (rem % tn) * TB;
      int64_t ib = 0, bb = b;
      for (int d = r - 3; d >= 0; --d) {
        ib += (bb % oshape[d]) * ist[d];
        bb /= oshape[d];
      }
      const T *src = in + ib;
      T *dst = out + b * M * N;
      int64_t m1 = std::min(M, m0 + TB), n1 = std::min(N, n0 + TB);
      for (int64_t m = m0; m < m1; ++m)
        for (int64_t nn = n0; nn < n1; ++nn)
          dst[m * N + nn] = src[m + nn * sN];
    });
    return;
  }
  const int64_t inner = oshape[r - 1];
  const int64_t sIn = ist[r - 1];
  const int64_t rows = total / inner;
  parallelFor(rows, total >= kParallelMin, [&](int64_t row) {
    int64_t ib = 0, rem = row;
    for (int d = r - 2; d >= 0; --d) {
      ib += (rem % oshape[d]) * ist[d];
      rem /= oshape[d];
    }
    T *dst = out + row * inner;
    const T *src = in + ib;
    if (sIn == 1)
      std::memcpy(dst, src, static_cast<size_t>(inner) * sizeof(T));
    else
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = src[i * sIn];
  });
}

} // namespace

void transpose(Tensor in, Tensor out, Dims perm) {
  const char *k = "transpose";
  checkDType(k, "output", out, in.dtype);
  checkData(k, "input", in);
  checkData(k, "output", out);
  const int r = in.shape.rank;
  bool ok = perm.rank == r && out.shape.rank == r;
  bool seen[kMaxRank] = {};
  for (int i = 0; ok && i < r; ++i) {
    int64_t p = perm.d[i];
    if (p < 0 || p >= r || seen[p]) {
      ok = false;
      break;
    }
    seen[p] = true;
    ok &= out.shape.d[i] == in.shape.d[p];
  }
  if (!ok)
    fail("%s: output %s is not input %s permuted by %s", k,
         formatDims(out.shape).c_str(), formatDims(in.shape).c_str(),
         formatDims(perm).c_str());
  if (in.numel() == 0)
    return;
  int64_t cst[kMaxRank];
  contiguousStrides(in.shape, cst);
  // Out dims with their input strides; drop unit dims; merge out dims that
  // are also adjacent (in order) in the input.
  int64_t oshape[kMaxRank], ist[kMaxRank];
  int n = 0;
  for (int i = 0; i < r; ++i) {
    int64_t sz = out.shape.d[i], s = cst[perm.d[i]];
    if (sz == 1)
      continue;
    if (n > 0 && ist[n - 1] == s * sz) {
      oshape[n - 1] *= sz;
      ist[n - 1] = s;
      continue;
    }
    oshape[n] = sz;
    ist[n] = s;
    ++n;
  }
  if (n <= 1) {
    parallelCopy(out.data, in.data, in.nbytes());
    return;
  }
  dispatchBytes(in.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    transposeTyped(static_cast<const T *>(in.data), static_cast<T *>(out.data),
                   n, oshape, ist);
  });
}

//===--- concat ------------------------------------------------------------===//

void concatN(Tensor out, int64_t axis, const Tensor *inputs, int count) {
  const char *k = "concat";
  if (count < 1)
    fail("%s: no inputs", k);
  checkData(k, "output", out);
  const int r = out.shape.rank;
  const int64_t a = normAxis(k, axis, r);
  int64_t sum = 0;
  for (int i = 0; i < count; ++i) {
    const Tensor &t = inputs[i];
    if (t.dtype != out.dtype)
      fail("%s: input %d has dtype %s, output %s", k, i, dtypeName(t.dtype),
           dtypeName(out.dtype));
    checkData(k, "input", t);
    bool ok = t.shape.rank == r;
    for (int d = 0; ok && d < r; ++d)
      if (d != a && t.shape.d[d] != out.shape.d[d])
        ok = false;
    if (!ok)
      fail("%s: input %d of shape %s does not fit output %s along axis %lld",
           k, i, formatDims(t.shape).c_str(), formatDims(out.shape).c_str(),
           (long long)a);
    sum += t.shape.d[a];
  }
  if (sum != out.shape.d[a])
    fail("%s: inputs sum to %lld along axis %lld, output has %lld", k,
         (long long)sum, (long long)a, (long long)out.shape.d[a]);
  int64_t outer = 1, inner = dtypeSize(out.dtype);
  for (int d = 0; d < a; ++d)
    outer *= out.shape.d[d];
  for (int d = static_cast<int>(a) + 1; d < r; ++d)
    inner *= out.shape.d[d];
  const int64_t outRow = out.shape.d[a] * inner;
  char *dst = static_cast<char *>(out.data);
  if (outer == 1) {
    int64_t off = 0;
    for (int i = 0; i < count; ++i) {
      int64_t b = inputs[i].shape.d[a] * inner;
      parallelCopy(dst + off, inputs[i].data, b);
      off += b;
    }
    return;
  }
  std::vector<int64_t> starts(count), bytes(count);
  {
    int64_t off = 0;
    for (int i = 0; i < count; ++i) {
      starts[i] = off;
      bytes[i] = inputs[i].shape.d[a] * inner;
      off += bytes[i];
    }
  }
  parallelFor(outer, outer * outRow >= (1 << 18), [&](int64_t o) {
    for (int i = 0; i < count; ++i)
      std::memcpy(dst + o * outRow + starts[i],
                  static_cast<const char *>(inputs[i].data) + o * bytes[i],
                  static_cast<size_t>(bytes[i]));
  });
}

//===--- slice -------------------------------------------------------------===//

namespace {

/// The elements a slice reads from `big`, as rows of `inner` elements: row
/// `row` starts at `base` plus the sum of its digits (in `shape[0, n-1)`)
/// times `st`, and its elements are `st[n-1]` apart. Dims of one element
/// are dropped and dims that continue each other merged. Checks ranks and
/// that every position read lies inside `big` (a negative start counts from
/// the end).
struct SlicePlan {
  int n = 1;
  int64_t base = 0;
  int64_t shape[kMaxRank] = {1}, st[kMaxRank] = {1};
};

void checkSliceRanks(const char *k, const Tensor &big, const Tensor &small,
                     const Dims &starts, const Dims &strides) {
  const int r = big.shape.rank;
  if (small.shape.rank != r || starts.rank != r || strides.rank != r)
    fail("%s: sliced tensor %s, slice %s, starts %s and strides %s differ in "
         "rank",
         k, formatDims(big.shape).c_str(), formatDims(small.shape).c_str(),
         formatDims(starts).c_str(), formatDims(strides).c_str());
}

SlicePlan slicePlan(const char *k, const Tensor &big, const Tensor &small,
                    const Dims &starts, const Dims &strides) {
  checkSliceRanks(k, big, small, starts, strides);
  const int r = big.shape.rank;
  SlicePlan p;
  p.n = 0;
  int64_t cst[kMaxRank];
  contiguousStrides(big.shape, cst);
  for (int i = 0; i < r; ++i) {
    const int64_t D = big.shape.d[i], cnt = small.shape.d[i];
    int64_t s = starts.d[i] < 0 ? starts.d[i] + D : starts.d[i];
    const int64_t st = strides.d[i];
    if (st == 0)
      fail("%s: stride 0 in dim %d", k, i);
    int64_t last = s + (cnt - 1) * st;
    if (s < 0 || s >= D || last < 0 || last >= D)
      fail("%s: dim %d reads [%lld, %lld] step %lld outside size %lld", k, i,
           (long long)s, (long long)last, (long long)st, (long long)D);
    p.base += s * cst[i];
    if (cnt == 1)
      continue;
    int64_t es = st * cst[i];
    if (p.n > 0 && p.st[p.n - 1] == es * cnt) {
      p.shape[p.n - 1] *= cnt;
      p.st[p.n - 1] = es;
      continue;
    }
    p.shape[p.n] = cnt;
    p.st[p.n] = es;
    ++p.n;
  }
  if (p.n == 0) {
    p.shape[0] = 1;
    p.st[0] = 1;
    p.n = 1;
  }
  return p;
}

/// Calls f(row, offset) for every row of `p`, offset relative to p.base.
template <typename F> void forEachSliceRow(const SlicePlan &p, int64_t total, F &&f) {
  const int64_t rows = total / p.shape[p.n - 1];
  parallelFor(rows, total >= kParallelMin, [&](int64_t row) {
    int64_t off = 0, rem = row;
    for (int d = p.n - 2; d >= 0; --d) {
      off += (rem % p.shape[d]) * p.st[d];
      rem /= p.shape[d];
    }
    f(row, off);
  });
}

} // namespace

void slice(Tensor in, Tensor out, Dims starts, Dims strides) {
  const char *k = "slice";
  checkDType(k, "output", out, in.dtype);
  checkData(k, "input", in);
  checkData(k, "output", out);
  checkSliceRanks(k, in, out, starts, strides);
  if (out.numel() == 0)
    return;
  const SlicePlan p = slicePlan(k, in, out, starts, strides);
  dispatchBytes(in.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(in.data) + p.base;
    T *dst = static_cast<T *>(out.data);
    const int64_t inner = p.shape[p.n - 1], sIn = p.st[p.n - 1];
    forEachSliceRow(p, out.numel(), [&](int64_t row, int64_t off) {
      const T *s = src + off;
      T *dd = dst + row * inner;
      if (sIn == 1)
        std::memcpy(dd, s, static_cast<size_t>(inner) * sizeof(T));
      else
        for (int64_t i = 0; i < inner; ++i)
          dd[i] = s[i * sIn];
    });
  });
}

void sliceGrad(Tensor dy, Tensor dx, Dims starts, Dims strides) {
  const char *k = "sliceGrad";
  checkDType(k, "output", dx, dy.dtype);
  checkData(k, "grad", dy);
  checkData(k, "output", dx);
  checkSliceRanks(k, dx, dy, starts, strides);
  // Zeros, then the slice's positions (each written once).
  if (dx.numel() != 0)
    std::memset(dx.data, 0, static_cast<size_t>(dx.nbytes()));
  if (dy.numel() == 0)
    return;
  const SlicePlan p = slicePlan(k, dx, dy, starts, strides);
  dispatchBytes(dy.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(dy.data);
    T *dst = static_cast<T *>(dx.data) + p.base;
    const int64_t inner = p.shape[p.n - 1], sOut = p.st[p.n - 1];
    forEachSliceRow(p, dy.numel(), [&](int64_t row, int64_t off) {
      const T *s = src + row * inner;
      T *dd = dst + off;
      if (sOut == 1)
        std::memcpy(dd, s, static_cast<size_t>(inner) * sizeof(T));
      else
        for (int64_t i = 0; i < inner; ++i)
          dd[i * sOut] = s[i];
    });
  });
}

//===--- broadcastTo -------------------------------------------------------===//

void broadcastTo(Tensor in, Tensor out) {
  const char *k = "broadcastTo";
  checkDType(k, "output", out, in.dtype);
  checkData(k, "input", in);
  checkData(k, "output", out);
  const char *names[1] = {"input"};
  Plan p = broadcastPlan(k, out.shape, &in.shape, names, 1);
  dispatchBytes(in.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(in.data);
    T *dst = static_cast<T *>(out.data);
    forEachRun(p, kParallelMin,
               [&](const int64_t *offs, int64_t outOff, int64_t n,
                   const int64_t *s) {
                 const T *x = src + offs[0];
                 T *y = dst + outOff;
                 if (s[0] == 1) {
                   std::memcpy(y, x, static_cast<size_t>(n) * sizeof(T));
                 } else if (s[0] == 0) {
                   const T v = x[0];
                   for (int64_t i = 0; i < n; ++i)
                     y[i] = v;
                 } else {
                   for (int64_t i = 0; i < n; ++i)
                     y[i] = x[i * s[0]];
                 }
               });
  });
}

//===--- trilu -------------------------------------------------------------===//

void trilu(Tensor in, Tensor out, bool upper, int64_t kdiag) {
  const char *k = "trilu";
  checkDType(k, "output", out, in.dtype);
  checkData(k, "input", in);
  checkData(k, "output", out);
  if (in.shape != out.shape || in.shape.rank < 2)
    fail("%s: input %s and output %s must match and have rank >= 2", k,
         formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  const int r = in.shape.rank;
  const int64_t M = in.shape.d[r - 2], N = in.shape.d[r - 1];
  const int64_t rows = M == 0 ? 0 : in.numel() / N;
  if (N == 0 || rows == 0)
    return;
  const int64_t es = dtypeSize(in.dtype);
  const char *src = static_cast<const char *>(in.data);
  char *dst = static_cast<char *>(out.data);
  const bool same = src == dst;
  parallelFor(rows, in.numel() >= kParallelMin, [&](int64_t row) {
    const int64_t i = row % M;
    // Kept columns [lo, hi).
    int64_t lo, hi;
    if (upper) {
      lo = std::min(N, std::max<int64_t>(0, i + kdiag));
      hi = N;
    } else {
      lo = 0;
      hi = std::max<int64_t>(0, std::min(N, i + kdiag + 1));
    }
    char *d = dst + row * N * es;
    const char *s = src + row * N * es;
    if (lo > 0)
      std::memset(d, 0, static_cast<size_t>(lo * es));
    if (hi < N)
      std::memset(d + hi * es, 0, static_cast<size_t>((N - hi) * es));
    if (!same && hi > lo)
      std::memcpy(d + lo * es, s + lo * es, static_cast<size_t>((hi - lo) * es));
  });
}

//===--- copy --------------------------------------------------------------===//

void copy(Tensor in, Tensor out) {
  const char *k = "copy";
  checkData(k, "input", in);
  checkData(k, "output", out);
  if (in.nbytes() != out.nbytes())
    fail("%s: input %s %s and output %s %s differ in size", k,
         dtypeName(in.dtype), formatDims(in.shape).c_str(),
         dtypeName(out.dtype), formatDims(out.shape).c_str());
  parallelCopy(out.data, in.data, in.nbytes());
}

} // namespace bbrt
