//===- Gemm.h - GEMM on the runtime's one thread pool -----------*- C++ -*-===//
//
// OpenBLAS (pthreads build) keeps its own worker threads, which spin after
// each call; next to OpenMP's spinning workers on the same cores the two
// pools starve each other (a 2-core run of a small CNN took 40x longer than
// with one thread). So the runtime keeps OpenBLAS single-threaded and splits
// large GEMMs across OpenMP threads itself.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CPU_GEMM_H
#define BBRT_CPU_GEMM_H

#include <cstdint>

namespace bbrt {
namespace cpu {

/// Row-major C[M,N] = op(A) op(B) + beta C. lda/ldb/ldc are row strides of the
/// stored matrices. Splits across OpenMP threads when big enough and not
/// already inside a parallel region.
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
          const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
          float *C, int64_t ldc);
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
          const double *A, int64_t lda, const double *B, int64_t ldb,
          double beta, double *C, int64_t ldc);

/// Makes OpenBLAS single-threaded (idempotent; done before any GEMM).
void initBlasThreads();

} // namespace cpu
} // namespace bbrt

#endif
