// crossEntropy and crossEntropyGrad against a double-precision reference:
// rows large enough for the parallel path, an ignored row, large logits,
// and the error for a label out of range.
#include "TestUtil.h"

#include <cmath>

using namespace bbrt;
using namespace bbrt::test;

namespace {

constexpr int64_t kIgnore = -100;

/// log(sum(exp(row))) in double.
double logSumExp(const HostTensor &x, int64_t r, int64_t C) {
  double m = -INFINITY;
  for (int64_t j = 0; j < C; ++j)
    m = std::max(m, at(x, r * C + j));
  double s = 0;
  for (int64_t j = 0; j < C; ++j)
    s += std::exp(at(x, r * C + j) - m);
  return std::log(s) + m;
}

void checkCrossEntropy(int64_t rows, int64_t C, double spread) {
  HostTensor x = random(DType::F32, {rows, C}, -spread, spread);
  HostTensor labels = random(DType::I64, {rows}, 0, double(C) - 0.5);
  ptr<int64_t>(labels)[1] = kIgnore;
  HostTensor loss = zeros(DType::F32, {}), seed = zeros(DType::F32, {});
  ptr<float>(seed)[0] = 3.0f;
  HostTensor dx = zeros(DType::F32, {rows, C});
  crossEntropy(x.view(), labels.view(), loss.view(), kIgnore);
  crossEntropyGrad(x.view(), labels.view(), seed.view(), dx.view(), kIgnore);

  double total = 0;
  std::vector<double> grad(static_cast<size_t>(rows * C), 0.0);
  const double scale = 3.0 / double(rows - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = ptr<int64_t>(labels)[r];
    if (label == kIgnore)
      continue;
    const double lse = logSumExp(x, r, C);
    total += lse - at(x, r * C + label);
    for (int64_t j = 0; j < C; ++j)
      grad[r * C + j] = std::exp(at(x, r * C + j) - lse) * scale -
                        (j == label ? scale : 0.0);
  }
  requireClose(loss, {total / double(rows - 1)}, 1e-6, 1e-6);
  requireClose(dx, grad, 1e-7, 1e-5);
}

} // namespace

TEST_CASE("crossEntropy and its gradient", "[loss]") {
  checkCrossEntropy(5, 7, 3.0);         // serial, odd row length
  checkCrossEntropy(64, 1000, 4.0);     // parallel rows
  checkCrossEntropy(9, 300, 60.0);      // large logits: exp needs the max
}

TEST_CASE("crossEntropy rejects a label out of range", "[loss]") {
  HostTensor x = random(DType::F32, {64, 1000});
  HostTensor labels = random(DType::I64, {64}, 0, 999);
  ptr<int64_t>(labels)[40] = 1000;
  HostTensor loss = zeros(DType::F32, {}), seed = zeros(DType::F32, {});
  HostTensor dx = zeros(DType::F32, {64, 1000});
  REQUIRE_THROWS_WITH(crossEntropy(x.view(), labels.view(), loss.view(), kIgnore),
                      "crossEntropy: label 1000 at position 40 is outside [0, 1000)");
  REQUIRE_THROWS_WITH(
      crossEntropyGrad(x.view(), labels.view(), seed.view(), dx.view(), kIgnore),
      "crossEntropyGrad: label 1000 at position 40 is outside [0, 1000)");
}
