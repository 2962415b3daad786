//===- Loss.cu - cross entropy and its gradient on the GPU -----------------===//
//
// Semantics of runtime/cpu/Loss.cpp: per-row log-sum-exp in double, the
// mean over rows whose label is not ignoreIndex. One block per row writes
// the row's loss (or gradient row); a second one-block kernel sums the rows
// in a fixed order, so the loss is deterministic.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/Common.cuh"
#include "runtime/cuda/Reduce.cuh"

namespace bbrt {
namespace cuda {
namespace {

__device__ int64_t labelAt(const void *labels, bool i64, int64_t r) {
  return i64 ? static_cast<const int64_t *>(labels)[r]
             : static_cast<const int32_t *>(labels)[r];
}

/// log(sum(exp(x - max))) + max over one row, by the block.
__device__ double rowLogSumExp(const float *row, int64_t classes,
                               double *shared, float *sharedF) {
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x)
    m = (row[j] > m || isnan(row[j])) ? row[j] : m;
  m = blockMax(m, sharedF);
  double s = 0;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x)
    s += exp(double(row[j]) - double(m));
  return log(blockSum(s, shared)) + double(m);
}

/// rowLoss[2r] = lse - x[label], rowLoss[2r + 1] = 1; both 0 for ignored
/// rows.
__global__ void rowLossKernel(const float *x, const void *labels, bool i64,
                              int64_t classes, int64_t ignoreIndex,
                              double *rowLoss, KernelError *err) {
  __shared__ double shared[32];
  __shared__ float sharedF[32];
  const int64_t r = blockIdx.x;
  const int64_t label = labelAt(labels, i64, r);
  if (label == ignoreIndex) {
    if (threadIdx.x == 0)
      rowLoss[2 * r] = rowLoss[2 * r + 1] = 0;
    return;
  }
  if (label < 0 || label >= classes) {
    if (threadIdx.x == 0) {
      report(err, kLabel, label, classes, r);
      rowLoss[2 * r] = rowLoss[2 * r + 1] = 0;
    }
    return;
  }
  const float *row = x + r * classes;
  const double lse = rowLogSumExp(row, classes, shared, sharedF);
  if (threadIdx.x == 0) {
    rowLoss[2 * r] = lse - double(row[label]);
    rowLoss[2 * r + 1] = 1;
  }
}

__global__ void meanLossKernel(const double *rowLoss, int64_t rows,
                               float *out) {
  __shared__ double shared[32];
  double total = 0, count = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    total += rowLoss[2 * r];
    count += rowLoss[2 * r + 1];
  }
  total = blockSum(total, shared);
  count = blockSum(count, shared);
  if (threadIdx.x == 0)
    *out = count > 0 ? float(total / count) : 0.0f;
}

__global__ void countKernel(const void *labels, bool i64, int64_t rows,
                            int64_t ignoreIndex, double *count) {
  __shared__ double shared[32];
  double c = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x)
    c += labelAt(labels, i64, r) != ignoreIndex;
  c = blockSum(c, shared);
  if (threadIdx.x == 0)
    *count = c;
}

__global__ void gradKernel(const float *x, const void *labels, bool i64,
                           const float *grad, const double *count,
                           int64_t classes, int64_t ignoreIndex, float *y,
                           KernelError *err) {
  __shared__ double shared[32];
  __shared__ float sharedF[32];
  const int64_t r = blockIdx.x;
  const int64_t label = labelAt(labels, i64, r);
  float *dst = y + r * classes;
  if (label == ignoreIndex || label < 0 || label >= classes) {
    if (label != ignoreIndex && threadIdx.x == 0)
      report(err, kLabel, label, classes, r);
    for (int64_t j = threadIdx.x; j < classes; j += blockDim.x)
      dst[j] = 0;
    return;
  }
  const double scale = *count > 0 ? double(*grad) / *count : 0.0;
  const float *row = x + r * classes;
  const double lse = rowLogSumExp(row, classes, shared, sharedF);
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    float v = static_cast<float>(exp(double(row[j]) - lse) * scale);
    if (j == label)
      v -= static_cast<float>(scale);
    dst[j] = v;
  }
}

void checkLoss(const char *k, const Tensor &logits, const Tensor &labels,
               int64_t &rows, int64_t &classes) {
  checkDType(k, "logits", logits, DType::F32);
  if (labels.dtype != DType::I64 && labels.dtype != DType::I32)
    fail("%s: labels have dtype %s, expected i64 or i32", k,
         dtypeName(labels.dtype));
  if (logits.shape.rank < 1)
    fail("%s: logits must have rank >= 1", k);
  classes = logits.shape.d[logits.shape.rank - 1];
  rows = classes ? logits.numel() / classes : 0;
  if (labels.numel() != rows)
    fail("%s: labels %s do not match logits %s", k,
         formatDims(labels.shape).c_str(), formatDims(logits.shape).c_str());
}

} // namespace
} // namespace cuda

using namespace cuda;

void crossEntropy(Tensor logits, Tensor labels, Tensor out,
                  int64_t ignoreIndex) {
  const char *k = "crossEntropy";
  int64_t rows, classes;
  checkLoss(k, logits, labels, rows, classes);
  checkDType(k, "output", out, DType::F32);
  double *rowLoss =
      static_cast<double *>(scratch(2 * sizeof(double) * (rows ? rows : 1)));
  if (rows > 0)
    rowLossKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
        static_cast<const float *>(logits.data), labels.data,
        labels.dtype == DType::I64, classes, ignoreIndex, rowLoss,
        kernelError());
  meanLossKernel<<<1, 1024, 0, stream()>>>(rowLoss, rows,
                                           static_cast<float *>(out.data));
  checkLaunch(k);
}

void crossEntropyGrad(Tensor logits, Tensor labels, Tensor grad, Tensor out,
                      int64_t ignoreIndex) {
  const char *k = "crossEntropyGrad";
  int64_t rows, classes;
  checkLoss(k, logits, labels, rows, classes);
  checkDType(k, "grad", grad, DType::F32);
  checkDType(k, "output", out, DType::F32);
  if (!(out.shape == logits.shape))
    fail("%s: output %s is not the logits' shape %s", k,
         formatDims(out.shape).c_str(), formatDims(logits.shape).c_str());
  if (rows == 0)
    return;
  double *count = static_cast<double *>(scratch(sizeof(double)));
  countKernel<<<1, 1024, 0, stream()>>>(labels.data, labels.dtype == DType::I64,
                                        rows, ignoreIndex, count);
  gradKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
      static_cast<const float *>(logits.data), labels.data,
      labels.dtype == DType::I64, static_cast<const float *>(grad.data), count,
      classes, ignoreIndex, static_cast<float *>(out.data), kernelError());
  checkLaunch(k);
}

} // namespace bbrt
