//===- Gemm.cpp - GEMM split across the OpenMP pool -----------------------===//
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Simd.h"

#include <algorithm>
#include <cblas.h>
#include <strings.h>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace bbrt {
namespace cpu {

/// Multiply-adds up to which f32 GEMMs use the small kernels, not OpenBLAS.
constexpr int64_t kSmallGemmMax = int64_t(1) << 21;

void initBlasThreads() {
  static const bool done = (openblas_set_num_threads(1), true);
  (void)done;
}

namespace {

//===--- small f32 GEMMs
//----------------------------------------------------===//
//
// OpenBLAS packs both operands on every call, which dominates below a few
// hundred thousand multiply-adds (the models' matmuls, im2col convolutions).
// Two register-blocked kernels instead (beta 0 or 1):
// - B not transposed: a 4 x 16 block of C accumulates A[m, k] * B[k, n:n+16]
//   (rows of B are contiguous, as im2col writes them);
// - B transposed ([N, K]): 4 x 2 dot products along K, 8 lanes at a time.

typedef float v8f __attribute__((vector_size(32)));

BBRT_INLINE v8f load8(const float *p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
BBRT_INLINE void store8(float *p, v8f v) { std::memcpy(p, &v, sizeof v); }

constexpr int kMR = 4, kNR = 16, kKC = 256;

/// C[0:mr, 0:16] (+)= A[0:mr, 0:K] * B[0:K, 0:16]; rows past mr repeat the
/// last one and are dropped; only nc <= 16 columns are stored.
template <bool TA>
BBRT_INLINE void blockNN(int64_t K, const float *A, int64_t lda, const float *B,
                         int64_t ldb, float *C, int64_t ldc, int mr, int64_t nc,
                         bool acc0) {
  int64_t ro[kMR];
  for (int i = 0; i < kMR; ++i)
    ro[i] = TA ? std::min(i, mr - 1) : std::min(i, mr - 1) * lda;
  v8f c[kMR][2];
  for (int i = 0; i < kMR; ++i)
    c[i][0] = c[i][1] = v8f{};
  for (int64_t k = 0; k < K; ++k) {
    const v8f b0 = load8(B + k * ldb), b1 = load8(B + k * ldb + 8);
    const float *a = TA ? A + k * lda : A + k;
    for (int i = 0; i < kMR; ++i) {
      const float av = a[ro[i]];
      c[i][0] += av * b0;
      c[i][1] += av * b1;
    }
  }
  for (int i = 0; i < mr; ++i) {
    float *ci = C + i * ldc;
    if (nc == kNR) {
      if (acc0) {
        store8(ci, load8(ci) + c[i][0]);
        store8(ci + 8, load8(ci + 8) + c[i][1]);
      } else {
        store8(ci, c[i][0]);
        store8(ci + 8, c[i][1]);
      }
    } else {
      float t[kNR];
      store8(t, c[i][0]);
      store8(t + 8, c[i][1]);
      for (int64_t j = 0; j < nc; ++j)
        ci[j] = acc0 ? ci[j] + t[j] : t[j];
    }
  }
}

template <bool TA>
BBRT_INLINE void smallNN(int64_t M, int64_t N, int64_t K, const float *A,
                         int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc) {
  // A [kc, 16] panel of B, contiguous: rows of B a power-of-two stride
  // apart would share L1 sets; also keeps loads inside B at the last columns.
  alignas(32) float panel[kKC * kNR];
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min<int64_t>(kKC, K - k0);
    const bool acc0 = k0 > 0 || beta != 0.f;
    const float *Ak = TA ? A + k0 * lda : A + k0;
    for (int64_t n0 = 0; n0 < N; n0 += kNR) {
      const int64_t nc = std::min<int64_t>(kNR, N - n0);
      const float *Bp = B + k0 * ldb + n0;
      int64_t bld = ldb;
      if (nc < kNR) {
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t j = 0; j < kNR; ++j)
            panel[k * kNR + j] = j < nc ? Bp[k * ldb + j] : 0.f;
        Bp = panel;
        bld = kNR;
      } else if (M > kMR) {
        for (int64_t k = 0; k < kc; ++k) {
          store8(panel + k * kNR, load8(Bp + k * ldb));
          store8(panel + k * kNR + 8, load8(Bp + k * ldb + 8));
        }
        Bp = panel;
        bld = kNR;
      }
      for (int64_t m0 = 0; m0 < M; m0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, M - m0));
        blockNN<TA>(kc, TA ? Ak + m0 : Ak + m0 * lda, lda, Bp, bld,
                    C + m0 * ldc + n0, ldc, mr, nc, acc0);
      }
    }
  }
}

typedef int32_t v8i __attribute__((vector_size(32)));

/// The lane sums of v[0..7], in order, as one vector.
BBRT_INLINE v8f hsum8(const v8f *v) {
#ifdef __clang__ // __builtin_shuffle is GCC's
  v8f r;
  for (int i = 0; i < 8; ++i) {
    float t[8];
    store8(t, v[i]);
    r[i] = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
  }
  return r;
#else
  const v8i e = {0, 8, 2, 10, 4, 12, 6, 14}, o = {1, 9, 3, 11, 5, 13, 7, 15};
  const v8i lo2 = {0, 1, 8, 9, 4, 5, 12, 13},
            hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
  const v8i lo4 = {0, 1, 2, 3, 8, 9, 10, 11},
            hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
  v8f x[4], y[2];
  for (int i = 0; i < 4; ++i)
    x[i] = __builtin_shuffle(v[2 * i], v[2 * i + 1], e) +
           __builtin_shuffle(v[2 * i], v[2 * i + 1], o);
  for (int i = 0; i < 2; ++i)
    y[i] = __builtin_shuffle(x[2 * i], x[2 * i + 1], lo2) +
           __builtin_shuffle(x[2 * i], x[2 * i + 1], hi2);
  return __builtin_shuffle(y[0], y[1], lo4) +
         __builtin_shuffle(y[0], y[1], hi4);
#endif
}

/// A [M, K] row-major, B [N, K] row-major: C[m, n] (+)= dot(A[m], B[n]),
/// 4 x 2 dot products at a time (for few rows of A; more go through
/// transposed panels and smallNN).
BBRT_INLINE void smallNT(int64_t M, int64_t N, int64_t K, const float *A,
                         int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc) {
  constexpr int MR = 4, NR = 2;
  const int64_t K8 = K / 8 * 8;
  for (int64_t m0 = 0; m0 < M; m0 += MR) {
    const int mr = int(std::min<int64_t>(MR, M - m0));
    const float *a[MR];
    for (int i = 0; i < MR; ++i)
      a[i] = A + (m0 + std::min(i, mr - 1)) * lda;
    for (int64_t n0 = 0; n0 < N; n0 += NR) {
      const int nr = int(std::min<int64_t>(NR, N - n0));
      const float *b[NR];
      for (int j = 0; j < NR; ++j)
        b[j] = B + (n0 + std::min(j, nr - 1)) * ldb;
      v8f c[MR * NR];
      for (int i = 0; i < MR * NR; ++i)
        c[i] = v8f{};
      for (int64_t k = 0; k < K8; k += 8) {
        v8f bv[NR];
        for (int j = 0; j < NR; ++j)
          bv[j] = load8(b[j] + k);
        for (int i = 0; i < MR; ++i) {
          const v8f av = load8(a[i] + k);
          for (int j = 0; j < NR; ++j)
            c[i * NR + j] += av * bv[j];
        }
      }
      float sums[MR * NR];
      store8(sums, hsum8(c));
      for (int i = 0; i < mr; ++i)
        for (int j = 0; j < nr; ++j) {
          float sum = sums[i * NR + j];
          for (int64_t k = K8; k < K; ++k)
            sum += a[i][k] * b[j][k];
          float &out = C[(m0 + i) * ldc + n0 + j];
          out = beta != 0.f ? out + sum : sum;
        }
    }
  }
}

/// B [N, K] (transposed) through [kc, 16] panels of B^T and the NN block.
BBRT_INLINE void smallNTPacked(int64_t M, int64_t N, int64_t K, const float *A,
                               int64_t lda, const float *B, int64_t ldb,
                               float beta, float *C, int64_t ldc) {
  alignas(32) float panel[kKC * kNR];
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min<int64_t>(kKC, K - k0);
    const bool acc0 = k0 > 0 || beta != 0.f;
    for (int64_t n0 = 0; n0 < N; n0 += kNR) {
      const int64_t nc = std::min<int64_t>(kNR, N - n0);
      for (int64_t j = 0; j < kNR; ++j) {
        const float *bj = B + (n0 + std::min(j, nc - 1)) * ldb + k0;
        for (int64_t k = 0; k < kc; ++k)
          panel[k * kNR + j] = bj[k];
      }
      for (int64_t m0 = 0; m0 < M; m0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, M - m0));
        blockNN<false>(kc, A + m0 * lda + k0, lda, panel, kNR,
                       C + m0 * ldc + n0, ldc, mr, nc, acc0);
      }
    }
  }
}

BBRT_CLONES void smallSgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                            const float *A, int64_t lda, const float *B,
                            int64_t ldb, float beta, float *C, int64_t ldc) {
  if (tb && M > 2 * kMR)
    smallNTPacked(M, N, K, A, lda, B, ldb, beta, C, ldc);
  else if (tb)
    smallNT(M, N, K, A, lda, B, ldb, beta, C, ldc);
  else if (ta)
    smallNN<true>(M, N, K, A, lda, B, ldb, beta, C, ldc);
  else
    smallNN<false>(M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/// Whether OpenBLAS runs AVX-512 kernels. Ours are AVX2 at most: against
/// OpenBLAS's AVX2 (Haswell) kernels they tie or win below kSmallGemmMax,
/// against its AVX-512 (SkylakeX) ones they lose at every size measured
/// (1.3-2.5x, one thread, on this VM; they beat the Prescott fallback 2-4x).
bool blasHasAvx512() {
  static const bool yes = [] {
    const char *core = openblas_get_corename();
    for (const char *name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
      if (core && strcasecmp(core, name) == 0)
        return true;
    return false;
  }();
  return yes;
}

/// Whether the small kernels beat OpenBLAS here.
inline bool useSmall(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0 || blasHasAvx512())
    return false;
  if (ta && tb)
    return false;
  return M * N * K <= kSmallGemmMax;
}

inline void blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc) {
  if ((beta == 0.f || beta == 1.f) && K > 0 && useSmall(ta, tb, M, N, K)) {
    smallSgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
              (blasint)K, 1.0f, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
}
inline void blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                 const double *A, int64_t lda, const double *B, int64_t ldb,
                 double beta, double *C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
              (blasint)K, 1.0, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
}

template <typename T>
void split(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T *A,
           int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc) {
  initBlasThreads();
  int threads = 1;
#ifdef _OPENMP
  if (!omp_in_parallel())
    threads = omp_get_max_threads();
#endif
  // Below ~0.5 MFLOP (~10 us) a split costs more than it gains.
  if (threads <= 1 || M * N * K < (int64_t(1) << 18)) {
    blas(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the larger of M and N into blocks (whole SIMD-friendly multiples).
  const bool byRows = M >= N;
  const int64_t extent = byRows ? M : N;
  const int64_t align = byRows ? 8 : 16;
  int64_t block = (extent + threads - 1) / threads;
  block = (block + align - 1) / align * align;
  const int64_t nblocks = (extent + block - 1) / block;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < nblocks; ++i) {
    const int64_t s = i * block, len = std::min(block, extent - s);
    if (byRows)
      blas(ta, tb, len, N, K, ta ? A + s : A + s * lda, lda, B, ldb, beta,
           C + s * ldc, ldc);
    else
      blas(ta, tb, M, len, K, A, lda, tb ? B + s * ldb : B + s, ldb, beta,
           C + s, ldc);
  }
}

} // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
          int64_t lda, const float *B, int64_t ldb, float beta, float *C,
          int64_t ldc) {
  split(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double *A,
          int64_t lda, const double *B, int64_t ldb, double beta, double *C,
          int64_t ldc) {
  split(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

} // namespace cpu
} // namespace bbrt
