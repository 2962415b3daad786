//===- Loss.cpp - training kernels: losses and the gradient of gather -----===//
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Simd.h"

#include <cmath>
#include <cstring>
#include <vector>

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

/// e[j] = exp(x[j] - m) over one row of n, m its maximum; returns the sum
/// of e: the exponentials in float (simd::expf, about 1 ulp, as softmax),
/// their sum in double.
BBRT_CLONES double expRow(const float *x, float *e, int64_t n, float &max) {
  const float m = cpu::simd::maxOf(x, n); // a local: e cannot alias it
  for (int64_t j = 0; j < n; ++j)
    e[j] = cpu::simd::expf(x[j] - m);
  max = m;
  return cpu::simd::sumToDouble(e, n);
}

/// e[j] *= s over one row.
BBRT_CLONES void scaleRow(float *e, int64_t n, float s) {
  for (int64_t j = 0; j < n; ++j)
    e[j] *= s;
}

void checkLabel(const char *k, int64_t label, int64_t classes, int64_t row) {
  if (label < 0 || label >= classes)
    fail("%s: label %lld at position %lld is outside [0, %lld)", k,
              (long long)label, (long long)row, (long long)classes);
}

/// Checks every label (before the parallel loops, which must not throw);
/// returns how many rows count (label != ignoreIndex).
int64_t checkLabels(const char *k, const Tensor &labels, int64_t rows,
                    int64_t classes, int64_t ignoreIndex) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = labelAt(labels, r);
    if (label == ignoreIndex)
      continue;
    checkLabel(k, label, classes, r);
    ++count;
  }
  return count;
}

} // namespace

void crossEntropy(Tensor logits, Tensor labels, Tensor out, int64_t ignoreIndex) {
  const char *k = "crossEntropy";
  int64_t rows, classes;
  checkLoss(k, logits, labels, rows, classes);
  checkDType(k, "output", out, DType::F32);
  checkData(k, "output", out);
  const int64_t count = checkLabels(k, labels, rows, classes, ignoreIndex);
  const float *x = static_cast<const float *>(logits.data);
  // Each row's term, then their sum in row order: the same loss whatever
  // the thread count.
  std::vector<double> terms(static_cast<size_t>(rows), 0.0);
  cpu::parallelRange(rows, rows * classes >= cpu::kParallelMinHeavy,
                [&](int64_t r0, int64_t r1) {
    std::vector<float> e(static_cast<size_t>(classes));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t label = labelAt(labels, r);
      if (label == ignoreIndex)
        continue;
      const float *row = x + r * classes;
      float m;
      const double sum = expRow(row, e.data(), classes, m);
      terms[r] = std::log(sum) + m - row[label];
    }
  });
  double total = 0;
  for (double t : terms)
    total += t;
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
  const int64_t count = checkLabels(k, labels, rows, classes, ignoreIndex);
  const double scale =
      count ? *static_cast<const float *>(grad.data) / static_cast<double>(count)
            : 0.0;
  const float *x = static_cast<const float *>(logits.data);
  float *y = static_cast<float *>(out.data);
  cpu::parallelFor(rows, rows * classes >= cpu::kParallelMinHeavy, [&](int64_t r) {
    const int64_t label = labelAt(labels, r);
    float *dst = y + r * classes;
    if (label == ignoreIndex) {
      std::memset(dst, 0, sizeof(float) * classes);
      return;
    }
    // softmax(row) * scale, minus scale at the label.
    float m;
    const double sum = expRow(x + r * classes, dst, classes, m);
    scaleRow(dst, classes, static_cast<float>(scale / sum));
    dst[label] -= static_cast<float>(scale);
  });
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
