//===- BufferizeToBbrt.cpp - bb tensors to bbrt kernel calls on buffers ----===//
//
// Every func.func of the module is an entry point of the program (@forward;
// or @train_step and @eval_step). Weights and state are numbered across the
// module, so that entry points share them.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbInterfaces.h"
#include "dialects/bb/BbOps.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "passes/sharding/ShardingRules.h"
#include "llvm/ADT/DenseSet.h"

#include <map>

namespace mlir::bb {
#define GEN_PASS_DEF_BUFFERIZETOBBRT
#include "passes/lowering/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// The work `op` does (its cost interface), kept on the kernel call that
/// replaces it for the programs' `--profile` (bbrt.flops, bbrt.bytes).
void keepCost(Operation *op, Operation *kernel) {
  auto cost = dyn_cast<CostOpInterface>(op);
  if (!cost)
    return;
  Builder b(op->getContext());
  kernel->setAttr("bbrt.flops", b.getI64IntegerAttr(cost.getFlops()));
  kernel->setAttr("bbrt.bytes", b.getI64IntegerAttr(cost.getBytesRead() +
                                                    cost.getBytesWritten()));
}

MemRefType bufferType(Type tensorType) {
  auto t = cast<RankedTensorType>(tensorType);
  return MemRefType::get(t.getShape(), t.getElementType());
}

/// Operand positions of `op` that are optional and absent (conv and
/// layer_norm bias, the attention ops' mask and bias), as positions in the
/// bb op's full operand list.
SmallVector<int64_t> absentOptionals(Operation *op) {
  if (auto conv = dyn_cast<ConvOp>(op); conv && !conv.getBias())
    return {2};
  if (auto ln = dyn_cast<LayerNormOp>(op); ln && !ln.getBias())
    return {2};
  SmallVector<int64_t> absent;
  if (auto a = dyn_cast<AttentionOp>(op)) {
    if (!a.getMask())
      absent.push_back(3);
    if (!a.getBias())
      absent.push_back(4);
  }
  if (auto g = dyn_cast<AttentionGradOp>(op)) {
    if (!g.getMask())
      absent.push_back(5);
    if (!g.getBias())
      absent.push_back(6);
  }
  return absent;
}

/// Module-wide numbering of weights (by value and sharding) and state (by
/// name).
struct Numbering {
  std::map<std::pair<const void *, std::string>, std::pair<int64_t, StringAttr>>
      weights;
  llvm::StringMap<std::pair<int64_t, Type>> states;
  /// Names of unnamed constants, by value (so shards share the name).
  llvm::DenseMap<Attribute, StringAttr> constNames;
};

/// The split axes of a sharding in runtime syntax, or null when replicated.
StringAttr shardingText(mesh::MeshShardingAttr attr) {
  if (!attr)
    return {};
  bool split = llvm::any_of(attr.getSplitAxes(),
                            [](mesh::MeshAxesAttr a) { return !a.empty(); });
  return split ? StringAttr::get(attr.getContext(), sharding::splitAxesText(attr))
               : StringAttr();
}

/// The mesh a sharding is on, where it splits (bbrt.weight and bbrt.state
/// record it: a module may have a mesh per pipeline stage).
FlatSymbolRefAttr shardingMesh(mesh::MeshShardingAttr attr) {
  return shardingText(attr) ? attr.getMesh() : FlatSymbolRefAttr();
}

/// The bbrt.weight of constant `cst`, whole or (with `sharding`) as this
/// process's block of type `type`.
Value weight(OpBuilder &b, Numbering &numbering, ConstantOp cst, Type type,
             mesh::MeshShardingAttr layout) {
  StringAttr sharding = shardingText(layout);
  FlatSymbolRefAttr mesh = shardingMesh(layout);
  auto name = cst->getAttrOfType<StringAttr>("bb.name");
  if (!name) {
    auto [it, added] = numbering.constNames.try_emplace(cst.getValue(), StringAttr());
    if (added)
      it->second = b.getStringAttr("const" + Twine(numbering.constNames.size() - 1));
    name = it->second;
  }
  auto key = std::make_pair(cst.getValue().getAsOpaquePointer(),
                            sharding ? sharding.str() + (mesh ? "@" + mesh.getValue().str() : "")
                                     : std::string());
  auto [it, added] = numbering.weights.try_emplace(
      key, numbering.weights.size(), name);
  return b.create<bbrt::WeightOp>(cst.getLoc(), bufferType(type),
                                  b.getI64IntegerAttr(it->second.first),
                                  it->second.second, cst.getValue(), sharding,
                                  mesh);
}

/// Whether every use of `arg` (directly or through reshapes and recompute
/// barriers, which become views of the same bytes) comes no later than `op` in the block: then `op`
/// may write its result into the argument's buffer.
bool lastUserIs(BlockArgument arg, Operation *op) {
  SmallVector<Value> work = {arg};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isa<func::ReturnOp>(user))
        return false;
      if (user != op && !user->isBeforeInBlock(op))
        return false;
      if (isa<ReshapeOp, RecomputeBarrierOp>(user))
        work.push_back(user->getResult(0));
    }
  }
  return true;
}

struct BufferizeToBbrtPass
    : mlir::bb::impl::BufferizeToBbrtBase<BufferizeToBbrtPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Numbering numbering;
    bool any = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      any = true;
      if (failed(bufferize(func, numbering)))
        return signalPassFailure();
    }
    if (!any) {
      module.emitError("bb-bufferize: the module has no function");
      return signalPassFailure();
    }
  }

  LogicalResult bufferize(func::FuncOp func, Numbering &numbering);
};

LogicalResult BufferizeToBbrtPass::bufferize(func::FuncOp func,
                                             Numbering &numbering) {
  if (!func.getBody().hasOneBlock())
    return func.emitError("bb-bufferize: @")
           << func.getSymName() << " must be one block";
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(func.getContext());
  b.setInsertionPointToStart(&body);
  IRMapping buffers;
  llvm::DenseSet<Value> ownBuffers; // memref.allocs, not yet claimed by an output

  // Arguments: state (parameters, optimizer moments) or inputs.
  int64_t inputIndex = 0;
  for (BlockArgument arg : body.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto name = func.getArgAttrOfType<StringAttr>(i, "bb.name");
    if (func.getArgAttr(i, "bb.state")) {
      if (!name)
        return func.emitError("bb-bufferize: state argument ") << i
               << " has no bb.name";
      auto [it, added] = numbering.states.try_emplace(
          name.getValue(), numbering.states.size(), arg.getType());
      if (it->second.second != arg.getType())
        return func.emitError("bb-bufferize: state '")
               << name.getValue() << "' has two types";
      auto init = func.getArgAttrOfType<ElementsAttr>(i, "bb.init");
      auto layout = func.getArgAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding");
      Value buf = b.create<bbrt::StateOp>(
          func.getLoc(), bufferType(arg.getType()),
          b.getI64IntegerAttr(it->second.first), name, init,
          shardingText(layout), func.getArgAttrOfType<StringAttr>(i, "bb.state"),
          shardingMesh(layout));
      buffers.map(arg, buf);
      continue;
    }
    // A block received from a stage on a mesh of another shape (the only
    // input that arrives as a block, bb-spmdize, with a mesh per stage)
    // keeps its layout: the driver cuts it from the whole.
    auto layout = func.getArgAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding");
    auto role = func.getArgAttrOfType<StringAttr>(i, "bb.role");
    const bool cut = layout && role && role.getValue() == "recv" &&
                     func->hasAttr("bb.mesh");
    Value buf = b.create<bbrt::InputOp>(
        func.getLoc(), bufferType(arg.getType()),
        b.getI64IntegerAttr(inputIndex),
        name ? name : b.getStringAttr("input" + Twine(inputIndex)),
        IntegerAttr(), role, cut ? shardingText(layout) : StringAttr(),
        cut ? shardingMesh(layout) : FlatSymbolRefAttr());
    ++inputIndex;
    buffers.map(arg, buf);
  }

  // Results that replace a state argument, written in place where possible.
  llvm::DenseMap<Value, BlockArgument> updates;
  for (auto [i, value] : llvm::enumerate(ret.getOperands()))
    if (auto k = func.getResultAttrOfType<IntegerAttr>(i, "bb.updates")) {
      if (k.getInt() < 0 || k.getInt() >= body.getNumArguments() ||
          !func.getArgAttr(k.getInt(), "bb.state"))
        return func.emitError("bb-bufferize: result ")
               << i << " updates argument " << k.getInt()
               << ", which is not state";
      if (!updates.try_emplace(value, body.getArgument(k.getInt())).second)
        return func.emitError("bb-bufferize: result ")
               << i << " is returned as two states";
    }
  llvm::DenseSet<Value> writtenInPlace;

  SmallVector<Operation *> toErase;
  for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
    if (op.getDialect() && isa<bbrt::BbrtDialect>(op.getDialect()))
      continue;
    b.setInsertionPoint(&op);
    Location loc = op.getLoc();
    if (auto cst = dyn_cast<ConstantOp>(op)) {
      // Used only through shard slices, it is loaded in blocks only.
      if (cst->use_empty() || !llvm::all_of(cst->getUsers(), [](Operation *u) {
            return isa<ShardSliceOp>(u);
          }))
        buffers.map(cst.getResult(),
                    weight(b, numbering, cst, cst.getType(), {}));
    } else if (auto slice = dyn_cast<ShardSliceOp>(op);
               slice && slice.getInput().getDefiningOp<ConstantOp>()) {
      // A sharded weight: each process loads its block only.
      buffers.map(slice.getResult(),
                  weight(b, numbering, slice.getInput().getDefiningOp<ConstantOp>(),
                         slice.getType(), slice.getSharding()));
    } else if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      Value v = b.create<bbrt::ViewOp>(loc, bufferType(reshape.getType()),
                                       buffers.lookup(reshape.getInput()));
      buffers.map(reshape.getResult(), v);
    } else if (auto barrier = dyn_cast<RecomputeBarrierOp>(op)) {
      // The same bytes: the buffer lives on through the barrier's users.
      buffers.map(barrier.getResult(), buffers.lookup(barrier.getInput()));
    } else if (isa<BbDialect, mesh::MeshDialect>(op.getDialect())) {
      SmallVector<Value> ins, outs;
      for (Value operand : op.getOperands())
        ins.push_back(buffers.lookup(operand));
      for (Value result : op.getResults()) {
        auto update = updates.find(result);
        if (update != updates.end() && lastUserIs(update->second, &op)) {
          Value state = buffers.lookup(update->second);
          writtenInPlace.insert(result);
          outs.push_back(state);
          buffers.map(result, state);
          continue;
        }
        Value buf = b.create<memref::AllocOp>(loc, bufferType(result.getType()));
        ownBuffers.insert(buf);
        outs.push_back(buf);
        buffers.map(result, buf);
      }
      // The runtime's fused kernels, with the same scalar body.
      if (isa<FusedElementwiseOp, FusedReduceOp>(op)) {
        auto reduce = dyn_cast<FusedReduceOp>(op);
        Operation *call =
            reduce ? b.create<bbrt::FusedReduceOp>(loc, ins, outs.front(),
                                                  reduce.getAxesAttr(),
                                                  reduce.getMean())
                   : b.create<bbrt::FusedElementwiseOp>(loc, ins, outs.front());
        IRMapping same;
        op.getRegion(0).cloneInto(&call->getRegion(0), same);
        keepCost(&op, call);
        toErase.push_back(&op);
        continue;
      }
      SmallVector<int64_t> absent = absentOptionals(&op);
      // The kernel's parameters: the op's attributes, without the operand
      // segments of ops with several optional operands (absent says).
      NamedAttrList params(op.getAttrDictionary());
      params.erase("operandSegmentSizes");
      auto kernel = b.create<bbrt::KernelOp>(
          loc, b.getStringAttr(op.getName().getStringRef()),
          params.getDictionary(b.getContext()), ins, outs,
          absent.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(absent));
      keepCost(&op, kernel);
    } else {
      return op.emitError("bb-bufferize: cannot bufferize this op");
    }
    toErase.push_back(&op);
  }

  // Outputs get a buffer of their own each (an output that reshapes a
  // buffer no other output has is that buffer, viewed: a weight gradient of
  // a batched product, logits); then the state updates not done in place
  // are copied, after the outputs have read any state they return (an
  // output of a state argument is its value before the step).
  b.setInsertionPoint(ret);
  auto copy = [&](Value from, Value to) {
    b.create<bbrt::KernelOp>(ret.getLoc(), b.getStringAttr("bbrt.copy"),
                             b.getDictionaryAttr({}), ValueRange{from},
                             ValueRange{to}, DenseI64ArrayAttr());
  };
  int64_t outputIndex = 0;
  SmallVector<std::pair<Value, Value>> stateCopies;
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    Value buf = buffers.lookup(value);
    if (func.getResultAttr(i, "bb.updates")) {
      if (!writtenInPlace.contains(value))
        stateCopies.push_back({buf, buffers.lookup(updates.lookup(value))});
      continue;
    }
    if (!ownBuffers.erase(bbrt::rootBuffer(buf))) {
      Value own = b.create<memref::AllocOp>(ret.getLoc(),
                                            cast<MemRefType>(buf.getType()));
      copy(buf, own);
      buf = own;
    }
    auto name = func.getResultAttrOfType<StringAttr>(i, "bb.name");
    b.create<bbrt::OutputOp>(
        ret.getLoc(), b.getI64IntegerAttr(outputIndex),
        name ? name : b.getStringAttr("output" + Twine(outputIndex)), buf,
        func.getResultAttrOfType<StringAttr>(i, "bb.role"));
    ++outputIndex;
  }
  for (auto [from, to] : stateCopies)
    copy(from, to);
  b.create<func::ReturnOp>(ret.getLoc());
  ret.erase();
  for (Operation *op : llvm::reverse(toErase))
    op->erase();

  // The function now takes and returns nothing: inputs, outputs and state
  // are bbrt ops, which carry the names.
  body.eraseArguments(0, body.getNumArguments());
  func.setType(FunctionType::get(func.getContext(), {}, {}));
  func.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
  func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
  return success();
}
} // namespace
