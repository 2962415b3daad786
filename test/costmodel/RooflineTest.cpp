//===- RooflineTest.cpp - compute time per op -----------------------------===//
#include "compiler/costmodel/Roofline.h"
#include "TestCluster.h"

using namespace mlir::bb;
using Catch::Detail::Approx;
using cluster::DType;

TEST_CASE("a large bf16 matmul on an A100 is compute bound", "[roofline]") {
  cluster::Cluster a100 = bbtest::preset("dgx-a100-80g");
  double n = 4096;
  double flops = 2 * n * n * n;
  double bytes = 3 * n * n * 2;
  // 1.37e11 FLOPs at 312 TFLOP/s (440 us) against 101 MB at 2.039 TB/s (49 us).
  CHECK(costmodel::computeTime(a100, DType::BF16, flops, bytes) ==
        Approx(flops / 312e12 + 4e-6));
  // The same in f32 runs at 19.5 TFLOP/s.
  CHECK(costmodel::computeTime(a100, DType::F32, flops, bytes) ==
        Approx(flops / 19.5e12 + 4e-6));
}

TEST_CASE("an elementwise add is memory bound", "[roofline]") {
  cluster::Cluster a100 = bbtest::preset("dgx-a100-80g");
  // 1M f32 elements: two read, one written.
  CHECK(costmodel::computeTime(a100, DType::F32, 1e6, 12e6) ==
        Approx(12e6 / 2.039e12 + 4e-6));
}

TEST_CASE("an op that writes where it reads runs at the in-place bandwidth",
          "[roofline]") {
  cluster::Cluster cpu = bbtest::inPlaceCpu();
  // AdamW over 1M f32 elements: 4 arrays read, 3 written.
  CHECK(costmodel::computeTime(cpu, DType::F32, 12e6, 28e6, /*inPlace=*/true) ==
        Approx(28e6 / 2e10 + 1e-6));
  CHECK(costmodel::computeTime(cpu, DType::F32, 12e6, 28e6) ==
        Approx(28e6 / 1e10 + 1e-6));
  // A preset without the figure: the same bandwidth either way.
  cluster::Cluster a100 = bbtest::preset("dgx-a100-80g");
  CHECK(costmodel::computeTime(a100, DType::F32, 1e6, 12e6, true) ==
        costmodel::computeTime(a100, DType::F32, 1e6, 12e6));
}

TEST_CASE("roofline: launch overhead, no work, dtype fallback", "[roofline]") {
  cluster::Cluster cpu = bbtest::preset("cpu:2");
  CHECK(costmodel::computeTime(cpu, DType::F32, 0, 0) == 0);
  // Tiny ops cost their launch overhead.
  CHECK(costmodel::computeTime(cpu, DType::F32, 1, 4) ==
        Approx(1e-6).epsilon(1e-3));
  // bf16 on a CPU rank and on a V100 runs at the f32 rate.
  CHECK(costmodel::computeTime(cpu, DType::BF16, 1e11, 0) == Approx(1 + 1e-6));
  cluster::Cluster v100 = bbtest::preset("p3.16xlarge");
  CHECK(costmodel::computeTime(v100, DType::BF16, 15.7e12, 0) ==
        Approx(1 + 4e-6));
  CHECK(costmodel::computeTime(v100, DType::F16, 125e12, 0) ==
        Approx(1 + 4e-6));
}
