//===- OpCostTest.cpp - roofline time of parsed bb ops --------------------===//
#include "compiler/costmodel/OpCost.h"
#include "TestCluster.h"
#include "compiler/costmodel/Roofline.h"

#include "dialects/bb/BbDialect.h"
#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;
using namespace mlir::bb;
using Catch::Detail::Approx;

namespace {

/// An MLIR context with every dialect bb programs use, loaded.
struct Context {
  DialectRegistry registry;
  MLIRContext ctx;
  Context() {
    bb::registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }
  OwningOpRef<ModuleOp> parse(StringRef text) {
    return parseSourceString<ModuleOp>(text, &ctx);
  }
};

} // namespace

TEST_CASE("opComputeTime reads the cost interface and the element type",
          "[roofline][mlir]") {
  Context c;
  OwningOpRef<ModuleOp> module = c.parse(R"(
    func.func @f(%a: tensor<64x128xbf16>, %b: tensor<128x256xbf16>,
                 %x: tensor<1024xf32>, %p: tensor<64x128xf32>, %q: tensor<128x256xf32>)
        -> (tensor<64x256xbf16>, tensor<1024xf32>, tensor<64x256xf32>, tensor<64x256xf32>) {
      %c = bb.matmul %a, %b : tensor<64x128xbf16>, tensor<128x256xbf16> -> tensor<64x256xbf16>
      %y = bb.add %x, %x : tensor<1024xf32>, tensor<1024xf32> -> tensor<1024xf32>
      %d = bb.matmul %a, %b : tensor<64x128xbf16>, tensor<128x256xbf16> -> tensor<64x256xf32>
      %t = bb.matmul %p, %q {tf32} : tensor<64x128xf32>, tensor<128x256xf32> -> tensor<64x256xf32>
      return %c, %y, %d, %t : tensor<64x256xbf16>, tensor<1024xf32>, tensor<64x256xf32>, tensor<64x256xf32>
    }
  )");
  REQUIRE(module);
  cluster::Cluster a100 = bbtest::preset("dgx-a100-80g");
  std::vector<Operation *> ops;
  module->walk([&](Operation *op) {
    if (op->getParentOp() && isa<func::FuncOp>(op->getParentOp()))
      ops.push_back(op);
  });
  REQUIRE(ops.size() == 5);

  CHECK(costmodel::dtypeOf(ops[0]->getResult(0).getType()) ==
        cluster::DType::BF16);
  double matmulFlops = 2.0 * 64 * 256 * 128;
  double matmulBytes = (64 * 128 + 128 * 256 + 64 * 256) * 2.0;
  CHECK(costmodel::opComputeTime(ops[0], a100) ==
        Approx(costmodel::computeTime(a100, cluster::DType::BF16, matmulFlops,
                                      matmulBytes)));
  CHECK(costmodel::opComputeTime(ops[1], a100) ==
        Approx(costmodel::computeTime(a100, cluster::DType::F32, 1024,
                                      3 * 1024 * 4)));
  // bf16 operands with an f32 result: the bf16 rate, the f32 result's bytes.
  CHECK(costmodel::opComputeTime(ops[2], a100) ==
        Approx(costmodel::computeTime(a100, cluster::DType::BF16, matmulFlops,
                                      matmulBytes + 64 * 256 * 2.0)));
  // A TF32 product: the TF32 rate (156 against 19.5 TFLOP/s), f32 bytes.
  CHECK(costmodel::opComputeTime(ops[3], a100) ==
        Approx(costmodel::computeTime(a100, cluster::DType::TF32, matmulFlops,
                                      2 * matmulBytes)));
  CHECK(costmodel::opComputeTime(ops[3], a100) <
        costmodel::computeTime(a100, cluster::DType::F32, matmulFlops, 2 * matmulBytes));
  CHECK(costmodel::opComputeTime(ops[4], a100) == 0); // func.return
}

TEST_CASE("an optimizer update is priced at the in-place bandwidth",
          "[roofline][mlir]") {
  Context c;
  OwningOpRef<ModuleOp> module = c.parse(R"(
    func.func @f(%p: tensor<1024xf32>, %g: tensor<1024xf32>, %m: tensor<1024xf32>,
                 %v: tensor<1024xf32>, %lr: tensor<f32>, %t: tensor<f32>, %s: tensor<f32>)
        -> (tensor<1024xf32>, tensor<1024xf32>, tensor<1024xf32>, tensor<1024xf32>) {
      %p1, %m1, %v1 = bb.adamw_update %p, %g, %m, %v, %lr, %t, %s : tensor<1024xf32>
      %y = bb.add %p, %g : tensor<1024xf32>, tensor<1024xf32> -> tensor<1024xf32>
      return %p1, %m1, %v1, %y : tensor<1024xf32>, tensor<1024xf32>, tensor<1024xf32>, tensor<1024xf32>
    }
  )");
  REQUIRE(module);
  cluster::Cluster cpu = bbtest::inPlaceCpu();
  std::vector<Operation *> ops;
  module->walk([&](Operation *op) {
    if (isa<bb::AdamwUpdateOp, bb::AddOp>(op))
      ops.push_back(op);
  });
  REQUIRE(ops.size() == 2);
  // Four arrays and three scalars read, three arrays written, in place.
  const double bytes = 4 * 4096 + 3 * 4 + 3 * 4096;
  CHECK(costmodel::opComputeTime(ops[0], cpu) ==
        Approx(bytes / 2e10 + 1e-6));
  // An add into a new tensor: the out-of-place bandwidth.
  CHECK(costmodel::opComputeTime(ops[1], cpu) ==
        Approx(3 * 4096 / 1e10 + 1e-6));
}
