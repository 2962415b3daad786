//===- PlanMemory.cpp - one arena, buffers reused by liveness ---------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbInterfaces.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::bb {
#define GEN_PASS_DEF_PLANMEMORY
#include "passes/lowering/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

struct Buffer {
  Operation *def;   // memref.alloc or bbrt.input
  int64_t size;     // bytes, aligned
  int64_t start, end; // live range in op positions, inclusive
  int64_t offset = -1;
};

int64_t alignTo(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

struct PlanMemoryPass : mlir::bb::impl::PlanMemoryBase<PlanMemoryPass> {
  using PlanMemoryBase::PlanMemoryBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func.getBody().hasOneBlock())
      return;
    Block &body = func.getBody().front();

    // Positions, and the root buffer behind every view.
    llvm::DenseMap<Operation *, int64_t> position;
    int64_t last = 0;
    for (Operation &op : body)
      position[&op] = last++;
    // What the pipeline driver always binds gets no arena place: stashes
    // (role `stash`, in and out: their micro-batch's slot), gradient inputs
    // (role `grad`: the accumulators gradsq and the update read), and a
    // backward's accumulators (role `accumulator`) and the gradients it
    // returns in them.
    auto is = [](StringAttr role, StringRef what) {
      return role && role.getValue() == what;
    };
    const bool accumulates =
        llvm::any_of(body.getOps<bbrt::InputOp>(), [&](bbrt::InputOp input) {
          return is(input.getRoleAttr(), "accumulator");
        });
    llvm::DenseMap<Value, int64_t> boundOutput; // alloc -> output index
    for (auto output : body.getOps<bbrt::OutputOp>())
      if (is(output.getRoleAttr(), "stash") ||
          (accumulates && is(output.getRoleAttr(), "grad")))
        boundOutput[bbrt::rootBuffer(output.getBuffer())] = output.getIndex();
    OpBuilder b(func.getContext());
    for (Operation &op : llvm::make_early_inc_range(body)) {
      if (auto input = dyn_cast<bbrt::InputOp>(op);
          input && (is(input.getRoleAttr(), "stash") ||
                    is(input.getRoleAttr(), "grad") ||
                    is(input.getRoleAttr(), "accumulator"))) {
        input.setOffsetAttr(b.getI64IntegerAttr(-1));
      } else if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto bound = boundOutput.find(alloc.getResult());
        if (bound == boundOutput.end())
          continue;
        b.setInsertionPoint(alloc);
        Value buf = b.create<bbrt::BoundOutputOp>(
            alloc.getLoc(), alloc.getType(),
            b.getI64IntegerAttr(bound->second));
        alloc.getResult().replaceAllUsesWith(buf);
        alloc.erase();
      }
    }

    SmallVector<Buffer> buffers;
    llvm::DenseMap<Value, size_t> rootOf;
    for (Operation &op : body) {
      if (auto input = dyn_cast<bbrt::InputOp>(op);
          input && input.getOffsetAttr() && input.getOffsetAttr().getInt() < 0)
        continue;
      if (isa<memref::AllocOp, bbrt::InputOp>(op)) {
        auto type = cast<MemRefType>(op.getResult(0).getType());
        int64_t bytes = type.getNumElements() *
                        getElementByteWidth(type.getElementType());
        bool isInput = isa<bbrt::InputOp>(op);
        rootOf[op.getResult(0)] = buffers.size();
        buffers.push_back({&op, alignTo(std::max<int64_t>(bytes, 1), alignment),
                           isInput ? 0 : position[&op], position[&op]});
      } else if (auto view = dyn_cast<bbrt::ViewOp>(op)) {
        auto it = rootOf.find(view.getSource());
        if (it != rootOf.end())
          rootOf[view.getResult()] = it->second;
      }
    }
    // Live ranges end at the last use of the buffer or of any view of it.
    for (Operation &op : body)
      for (Value operand : op.getOperands()) {
        auto it = rootOf.find(operand);
        if (it == rootOf.end())
          continue;
        Buffer &buf = buffers[it->second];
        buf.end = std::max(buf.end, isa<bbrt::OutputOp>(op) ? last : position[&op]);
      }

    // Greedy by size: largest first, lowest offset that fits.
    SmallVector<size_t> order(buffers.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    llvm::stable_sort(order, [&](size_t a, size_t b) {
      return buffers[a].size > buffers[b].size;
    });
    SmallVector<size_t> placed;
    int64_t arenaSize = 0, unplanned = 0;
    for (size_t i : order) {
      Buffer &buf = buffers[i];
      unplanned += buf.size;
      SmallVector<std::pair<int64_t, int64_t>> busy; // [begin, end) of overlapping
      for (size_t j : placed) {
        const Buffer &other = buffers[j];
        if (other.start <= buf.end && buf.start <= other.end)
          busy.push_back({other.offset, other.offset + other.size});
      }
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [begin, end] : busy) {
        if (offset + buf.size <= begin)
          break;
        offset = std::max(offset, alignTo(end, alignment));
      }
      buf.offset = offset;
      arenaSize = std::max(arenaSize, offset + buf.size);
      placed.push_back(i);
    }

    for (Buffer &buf : buffers) {
      if (auto input = dyn_cast<bbrt::InputOp>(buf.def)) {
        input.setOffsetAttr(b.getI64IntegerAttr(buf.offset));
        continue;
      }
      b.setInsertionPoint(buf.def);
      Value arena = b.create<bbrt::ArenaOp>(buf.def->getLoc(),
                                            buf.def->getResult(0).getType(),
                                            b.getI64IntegerAttr(buf.offset));
      buf.def->getResult(0).replaceAllUsesWith(arena);
      buf.def->erase();
    }
    func->setAttr("bbrt.arena_size", b.getI64IntegerAttr(arenaSize));
    func->setAttr("bbrt.unplanned_size", b.getI64IntegerAttr(unplanned));
  }
};
} // namespace
