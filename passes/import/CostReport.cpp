//===- CostReport.cpp - print the cost interface's totals per function -----===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Format.h"

namespace mlir::bb {
#define GEN_PASS_DEF_COSTREPORT
#include "passes/import/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {
struct Totals {
  int64_t count = 0, flops = 0, read = 0, written = 0;
  void add(const Totals &o) {
    count += o.count;
    flops += o.flops;
    read += o.read;
    written += o.written;
  }
};

struct CostReportPass : mlir::bb::impl::CostReportBase<CostReportPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    llvm::MapVector<StringRef, Totals> perOp;
    func.walk([&](CostOpInterface op) {
      Totals &t = perOp[op->getName().getStringRef()];
      t.count += 1;
      t.flops += op.getFlops();
      t.read += op.getBytesRead();
      t.written += op.getBytesWritten();
    });
    llvm::raw_ostream &os = llvm::errs();
    os << "cost report for @" << func.getSymName() << "\n";
    const char *header[] = {"op", "count", "flops", "bytes read", "bytes written"};
    os << llvm::format("  %-16s %6s %14s %14s %14s\n", header[0], header[1],
                       header[2], header[3], header[4]);
    Totals total;
    for (auto &[name, t] : perOp) {
      os << llvm::format("  %-16s %6lld %14lld %14lld %14lld\n",
                         name.str().c_str(), (long long)t.count,
                         (long long)t.flops, (long long)t.read,
                         (long long)t.written);
      total.add(t);
    }
    const char *totalLabel = "total";
    os << llvm::format("  %-16s %6lld %14lld %14lld %14lld\n", totalLabel,
                       (long long)total.count, (long long)total.flops,
                       (long long)total.read, (long long)total.written);
    markAllAnalysesPreserved();
  }
};
} // namespace
