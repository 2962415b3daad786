//===- Device.h - the CUDA runtime's device, stream and handles -*- C++ -*-===//
//
// One GPU per process (rank), one stream on which every kernel, cuBLASLt
// call and NCCL collective of the process is ordered, so kernels never need
// events between them, and host copies wait only for that stream.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CUDA_DEVICE_H
#define BBRT_CUDA_DEVICE_H

#include "runtime/core/Util.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

namespace bbrt {
namespace cuda {

/// The process's stream (created by initDevice).
cudaStream_t stream();
/// The process's cuBLASLt handle and its workspace.
cublasLtHandle_t blasLt();
void *blasWorkspace();
size_t blasWorkspaceSize();

/// Scratch device memory of at least `bytes`, reused across calls: valid
/// until the next call with the same `which` (0 or 1).
void *scratch(size_t bytes, int which = 0);

/// What a kernel found wrong in its data (an index out of range), reported
/// when the host next waits for the stream (synchronizeDevice): kernels set
/// the first error only (atomicCAS on `code`).
struct KernelError {
  unsigned long long code; // ErrorCode
  long long a, b, c;
};
enum ErrorCode : unsigned long long {
  kNoError = 0,
  kGatherIndex = 1,  // a: index, b: axis size
  kLabel = 2,        // a: label, b: classes, c: row
  kScatterIndex = 3, // a: index, b: axis size
  kAdamStep = 4,     // a: the step number's bits as a double (see Device.cpp)
};
/// The process's device-side error record.
KernelError *kernelError();

/// bbrt::matmul of f32 operands that cuBLASLt rounds to `products` on the
/// tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32, _16BF, _16F), f32 output.
void matmulRounded(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
                   Products products);

/// Throws bbrt::Error "WHAT: <CUDA's message>" unless rc is cudaSuccess.
void check(cudaError_t rc, const char *what);
void checkBlas(cublasStatus_t rc, const char *what);
/// Checks the last kernel launch.
void checkLaunch(const char *kernel);

} // namespace cuda
} // namespace bbrt

#endif
