//===- Common.cpp - broadcast plans, parallel copies ----------------------===//
#include "runtime/cpu/Common.h"

namespace bbrt {
namespace cpu {

Plan broadcastPlan(const char *kernel, const Dims &out, const Dims *ops,
                   const char *const *names, int nops) {
  Plan p;
  p.nops = nops;
  const int R = out.rank;
  int64_t shape[kMaxRank];
  int64_t st[3][kMaxRank];
  for (int k = 0; k < nops; ++k) {
    const Dims &o = ops[k];
    int64_t cst[kMaxRank];
    contiguousStrides(o, cst);
    // Leading dims beyond out's rank must be 1.
    int extra = o.rank - R;
    for (int i = 0; i < extra; ++i)
      if (o.d[i] != 1)
        fail("%s: cannot broadcast %s of shape %s to %s", kernel, names[k],
             formatDims(o).c_str(), formatDims(out).c_str());
    for (int j = 0; j < R; ++j) {
      int oi = j - (R - o.rank);
      if (oi < 0) {
        st[k][j] = 0;
      } else if (o.d[oi] == out.d[j]) {
        st[k][j] = out.d[j] == 1 ? 0 : cst[oi];
      } else if (o.d[oi] == 1) {
        st[k][j] = 0;
      } else {
        fail("%s: cannot broadcast %s of shape %s to %s", kernel, names[k],
             formatDims(o).c_str(), formatDims(out).c_str());
      }
    }
  }
  p.total = out.numel();
  // Drop unit dims, merge contiguous neighbours.
  int r = 0;
  for (int j = 0; j < R; ++j) {
    if (out.d[j] == 1)
      continue;
    if (r > 0) {
      bool merge = true;
      for (int k = 0; k < nops; ++k)
        if (st[k][r - 1] != st[k][j] * out.d[j])
          merge = false;
      if (merge) {
        shape[r - 1] *= out.d[j];
        for (int k = 0; k < nops; ++k)
          st[k][r - 1] = st[k][j];
        continue;
      }
    }
    shape[r] = out.d[j];
    for (int k = 0; k < nops; ++k)
      st[k][r] = st[k][j];
    ++r;
  }
  if (r == 0) {
    p.rank = 1;
    p.shape[0] = 1;
    for (int k = 0; k < 3; ++k)
      p.st[k][0] = 0;
    return p;
  }
  p.rank = r;
  for (int j = 0; j < r; ++j) {
    p.shape[j] = shape[j];
    for (int k = 0; k < nops; ++k)
      p.st[k][j] = st[k][j];
  }
  return p;
}

void parallelCopy(void *dst, const void *src, int64_t bytes) {
  if (bytes <= 0 || dst == src)
    return;
  const int64_t chunk = 1 << 20;
  if (bytes < 4 * chunk) {
    std::memcpy(dst, src, static_cast<size_t>(bytes));
    return;
  }
  int64_t n = (bytes + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t b = i * chunk;
    int64_t len = std::min(chunk, bytes - b);
    std::memcpy(static_cast<char *>(dst) + b,
                static_cast<const char *>(src) + b, static_cast<size_t>(len));
  }
}

} // namespace cpu
} // namespace bbrt
