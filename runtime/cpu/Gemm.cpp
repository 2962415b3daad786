//===- Gemm.cpp - GEMM split across the OpenMP pool -----------------------===//
#include "runtime/cpu/Gemm.h"

#include <algorithm>
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace bbrt {
namespace cpu {

void initBlasThreads() {
  static const bool done = (openblas_set_num_threads(1), true);
  (void)done;
}

namespace {

inline void blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc) {
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
  // Below ~2 MFLOP a split costs more than it gains.
  if (threads <= 1 || M * N * K < (int64_t(1) << 20)) {
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
