//===- Loss.cpp - training kernels: losses and the gradient of gather -----===//
#include "runtime/cpu/Common.h"

#include <cmath>
#include <cstring>

namespace bbrt {
namespace {

int64_t labelAt(const Tensor &labels, int64_t i) {
  return labels.dtype == DType::I64
             ? static_cast<const int64_t *>(labels.data)[i]
             : static_cast<const int32_t *>(labels.data)[i];
}

/// Shapes: logits [rows, classes] flattened; labels [rows].
void checkLoss(const char *k, const Tensor &logits, const Tensor &labels,
               int64_t &rows, int64_t &classes) {
  checkDType(k, "logits", logits, DType::F32);
  if (labels.dtype != DType::I64 && labels.dtype != DType::I32)
    fail("%s: labels have dtype %s, expected i64 or i32", k,
              dtypeName(labels.dtype));
  checkData(k, "logits", logits);
  checkData(k, "labels", labels);
  if (logits.shape.rank < 1)
    fail("%s: logits must have rank >= 1", k);
  classes = logits.shape.d[logits.shape.rank - 1];
  rows = classes ? logits.numel() / classes : 0;
  if (labels.numel() != rows)
    fail("%s: %lld labels for %lld rows of logits", k,
              (long long)labels.numel(), (long long)rows);
}

/// log(sum(exp(x - max))) + max over one row, in double.
double logSumExp(const float *x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j)
    mx = std::max(mx, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j)
    sum += std::exp(static_cast<double>(x[j]) - mx);
  return std::log(sum) + mx;
}

void checkLabel(const char *k, int64_t label, int64_t classes, int64_t row) {
  if (label < 0 || label >= classes)
    fail("%s: label %lld at position %lld is outside [0, %lld)", k,
              (long long)label, (long long)row, (long long)classes);
}

} // namespace

void crossEntropy(Tensor logits, Tensor labels, Tensor out, int64_t ignoreIndex) {
  const char *k = "crossEntropy";
  int64_t rows, classes;
  checkLoss(k, logits, labels, rows, classes);
  checkDType(k, "output", out, DType::F32);
  checkData(k, "output", out);
  const float *x = static_cast<const float *>(logits.data);
  double total = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t label = labelAt(labels, r);
    if (label == ignoreIndex)
      continue;
    checkLabel(k, label, classes, r);
    const float *row = x + r * classes;
    total += logSumExp(row, classes) - row[label];
    ++count;
  }
  *static_cast<float *>(out.data) =
      count ? static_cast<float>(total / count) : 0.0f;
}

void crossEntropyGrad(Tensor logits, Tensor labels, Tensor grad, Tensor out,
                      int64_t ignoreIndex) {
  const char *k = "crossEntropyGrad";
  int64_t rows, classes;
  checkLoss(k, logits, labels, rows, classes);
  checkDType(k, "grad", grad, DType::F32);
  checkDType(k, "output", out, DType::F32);
  checkData(k, "grad", grad);
  checkData(k, "output", out);
  if (!(out.shape == logits.shape))
    fail("%s: output %s is not the logits' shape %s", k,
              formatDims(out.shape).c_str(), formatDims(logits.shape).c_str());
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r)
    count += labelAt(labels, r) != ignoreIndex;
  const double scale =
      count ? *static_cast<const float *>(grad.data) / static_cast<double>(count)
            : 0.0;
  const float *x = static_cast<const float *>(logits.data);
  float *y = static_cast<float *>(out.data);
#pragma omp parallel for schedule(static) if (rows * classes >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    int64_t label = labelAt(labels, r);
    float *dst = y + r * classes;
    if (label == ignoreIndex) {
      std::memset(dst, 0, sizeof(float) * classes);
      continue;
    }
    checkLabel(k, label, classes, r);
    const float *row = x + r * classes;
    double lse = logSumExp(row, classes);
    for (int64_t j = 0; j < classes; ++j)
      dst[j] = static_cast<float>(std::exp(row[j] - lse) * scale);
    dst[label] -= static_cast<float>(scale);
  }
}

void scatterAdd(Tensor indices, Tensor updates, Tensor out, int64_t axis) {
  const char *k = "scatterAdd";
  checkDType(k, "updates", updates, DType::F32);
  checkDType(k, "output", out, DType::F32);
  if (indices.dtype != DType::I64 && indices.dtype != DType::I32)
    fail("%s: indices have dtype %s, expected i64 or i32", k,
              dtypeName(indices.dtype));
  checkData(k, "updates", updates);
  checkData(k, "output", out);
  const int r = out.shape.rank;
  const int64_t a = normAxis(k, axis, r);
  const int64_t A = out.shape.d[a];
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i)
    outer *= out.shape.d[i];
  for (int i = static_cast<int>(a) + 1; i < r; ++i)
    inner *= out.shape.d[i];
  const int64_t n = indices.numel();
  if (updates.numel() != outer * n * inner)
    fail("%s: updates %s do not match output %s with indices %s", k,
              formatDims(updates.shape).c_str(), formatDims(out.shape).c_str(),
              formatDims(indices.shape).c_str());
  float *y = static_cast<float *>(out.data);
  const float *u = static_cast<const float *>(updates.data);
  std::memset(y, 0, sizeof(float) * out.numel());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) {
      int64_t idx = labelAt(indices, j);
      if (idx < 0)
        idx += A;
      if (idx < 0 || idx >= A)
        fail("%s: index %lld is out of range for dimension of size %lld",
                  k, (long long)labelAt(indices, j), (long long)A);
      float *dst = y + (o * A + idx) * inner;
      const float *src = u + (o * n + j) * inner;
      for (int64_t i = 0; i < inner; ++i)
        dst[i] += src[i];
    }
}

} // namespace bbrt
