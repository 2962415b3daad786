//===- Spmdize.cpp - one program per process from a sharding plan ----------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/Builders.h"
#include "passes/sharding/ShardingRules.h"

namespace mlir::bb {
#define GEN_PASS_DEF_SPMDIZE
#include "passes/spmdize/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;
using namespace mlir::bb::sharding;

namespace {

/// Arguments each process holds only its block of: state, and what pipeline
/// stages pass between their functions (bb-pipeline-stages' roles recv,
/// stash and grad), which the producing function returns as blocks.
bool arrivesAsBlock(func::FuncOp func, unsigned i) {
  if (func.getArgAttr(i, "bb.state"))
    return true;
  auto role = func.getArgAttrOfType<StringAttr>(i, "bb.role");
  return role && (role.getValue() == "recv" || role.getValue() == "stash" ||
                  role.getValue() == "grad");
}

/// A global value as one process holds it.
struct Local {
  Value value;
  TensorSharding sharding;
};

class Partitioner {
public:
  Partitioner(mesh::MeshOp meshOp)
      : meshSym(FlatSymbolRefAttr::get(meshOp.getSymNameAttr())),
        meshShape(meshOp.getShape()) {}

  LogicalResult run(func::FuncOp func);

private:
  RankedTensorType localType(Value global, const TensorSharding &s) const {
    auto t = cast<RankedTensorType>(global.getType());
    return RankedTensorType::get(s.localShape(t.getShape(), meshShape),
                                 t.getElementType());
  }
  /// `from`, laid out as `to` (global shape `shape`), with the collectives
  /// or slices that takes.
  Value reshard(OpBuilder &b, Location loc, Local from, const TensorSharding &to,
                RankedTensorType global);
  Value reshardUncached(OpBuilder &b, Location loc, TensorSharding cur,
                        Value v, const TensorSharding &to,
                        RankedTensorType global);
  /// Cross-entropy (and its gradient) over split positions.
  Value rewriteCrossEntropy(OpBuilder &b, Operation *op, ArrayRef<Value> operands,
                            const TensorSharding &labels, Type resultType);
  Value countedLabels(OpBuilder &b, Location loc, Value labels, int64_t ignore);
  SmallVector<int16_t> splitAxes(const TensorSharding &labels) const;

  StringRef meshName() const { return meshSym.getValue(); }

  FlatSymbolRefAttr meshSym;
  ArrayRef<int64_t> meshShape;
  llvm::DenseMap<Value, Local> locals;
  /// One shard_slice per (value, sharding): constants feed many consumers.
  std::map<std::pair<const void *, std::string>, Value> slices;
  /// One reshard per (value, target layout).
  std::map<std::pair<const void *, std::string>, Value> resharded;
};

Value Partitioner::reshard(OpBuilder &b, Location loc, Local from,
                           const TensorSharding &to, RankedTensorType global) {
  TensorSharding cur = from.sharding;
  Value v = from.value;
  if (cur == to)
    return v;
  // A value resharded the same way twice (a gradient that a stage's norm
  // and its update both want reduced) is resharded once: the first time is
  // earlier in the block, so it dominates the later use.
  auto memoKey = std::make_pair(v.getAsOpaquePointer(), to.layoutText());
  if (auto it = resharded.find(memoKey); it != resharded.end())
    return it->second;
  Value result = reshardUncached(b, loc, cur, v, to, global);
  resharded[memoKey] = result;
  return result;
}

Value Partitioner::reshardUncached(OpBuilder &b, Location loc,
                                   TensorSharding cur, Value v,
                                   const TensorSharding &to,
                                   RankedTensorType global) {
  auto typeOf = [&](const TensorSharding &s) {
    return RankedTensorType::get(s.localShape(global.getShape(), meshShape),
                                 global.getElementType());
  };
  // The collectives (passes/sharding/ShardingRules.h), then this process's
  // block of what remains.
  for (const ReshardStep &st : planReshard(cur, to, global.getShape(), meshShape)) {
    Type type = typeOf(st.after);
    switch (st.kind) {
    case ReshardStep::Kind::AllReduce:
      v = b.create<mesh::AllReduceOp>(loc, type, meshName(), st.axes, v,
                                      st.before.partialKind);
      break;
    case ReshardStep::Kind::ReduceScatter:
      v = b.create<mesh::ReduceScatterOp>(loc, type, meshName(), st.axes, v,
                                          st.before.partialKind,
                                          APInt(64, st.dim));
      break;
    case ReshardStep::Kind::AllToAll:
      v = b.create<mesh::AllToAllOp>(loc, type, meshName(), st.axes, v,
                                     APInt(64, st.toDim), APInt(64, st.dim));
      break;
    case ReshardStep::Kind::AllGather:
      v = b.create<mesh::AllGatherOp>(loc, type, meshName(), st.axes, v,
                                      APInt(64, st.dim));
      break;
    }
    cur = st.after;
  }
  TensorSharding extra = TensorSharding::replicated(cur.dimAxes.size());
  bool any = false;
  for (size_t d = 0; d < cur.dimAxes.size(); ++d) {
    ArrayRef<int16_t> have = cur.dimAxes[d], want = to.dimAxes[d];
    for (int16_t a : want.drop_front(have.size())) {
      extra.dimAxes[d].push_back(a);
      any = true;
    }
  }
  if (any) {
    auto key = std::make_pair(v.getAsOpaquePointer(), extra.splitAxesText() +
                                                          cur.splitAxesText());
    auto it = slices.find(key);
    if (it != slices.end()) {
      v = it->second;
    } else {
      Value in = v;
      OpBuilder::InsertionGuard guard(b);
      if (Operation *def = in.getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(in).getOwner());
      v = b.create<ShardSliceOp>(loc, typeOf(to), in, extra.toAttr(meshSym));
      slices[key] = v;
    }
  }
  return v;
}

SmallVector<int16_t> Partitioner::splitAxes(const TensorSharding &s) const {
  SmallVector<int16_t> axes;
  for (const auto &d : s.dimAxes)
    axes.append(d.begin(), d.end());
  llvm::sort(axes);
  return axes;
}

/// The number of labels not equal to `ignore`, as an f32 scalar.
Value Partitioner::countedLabels(OpBuilder &b, Location loc, Value labels,
                                 int64_t ignore) {
  auto type = cast<RankedTensorType>(labels.getType());
  auto scalarI = RankedTensorType::get({}, type.getElementType());
  Value ignoreValue = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(
               scalarI, b.getIntegerAttr(type.getElementType(), ignore)));
  Value counted = b.create<CompareOp>(loc, ComparePredicate::ne, labels,
                                      ignoreValue);
  auto f32 = RankedTensorType::get(type.getShape(), b.getF32Type());
  Value ones = b.create<ConvertOp>(loc, f32, counted);
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return b.create<ReduceSumOp>(loc, RankedTensorType::get({}, b.getF32Type()),
                               ones, b.getDenseI64ArrayAttr(all), UnitAttr());
}

/// Each process's cross-entropy is the mean over its own counted positions;
/// the global mean is sum(mean_p * count_p) / sum(count_p). The gradient's
/// kernel divides by the local count, so its scalar operand is scaled by
/// count_p / sum(count_p).
Value Partitioner::rewriteCrossEntropy(OpBuilder &b, Operation *op,
                                       ArrayRef<Value> operands,
                                       const TensorSharding &labels,
                                       Type resultType) {
  Location loc = op->getLoc();
  SmallVector<int16_t> axes = splitAxes(labels);
  int64_t ignore = cast<IntegerAttr>(op->getAttr("ignore_index")).getInt();
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  Value count = countedLabels(b, loc, operands[1], ignore);
  Value total = b.create<mesh::AllReduceOp>(loc, scalar, meshName(), axes,
                                            count, mesh::ReductionKind::Sum);
  // With no counted label anywhere, both are 0: divide by 1 instead.
  Value zero = b.create<ConstantOp>(loc, 0.0f);
  Value one = b.create<ConstantOp>(loc, 1.0f);
  Value some = b.create<CompareOp>(loc, ComparePredicate::gt, total, zero);
  Value divisor = b.create<SelectOp>(loc, some, total, one);
  if (auto ce = dyn_cast<CrossEntropyOp>(op)) {
    Value mean = b.create<CrossEntropyOp>(loc, operands[0], operands[1],
                                          ce.getIgnoreIndexAttr());
    Value sum = b.create<MulOp>(loc, mean, count);
    Value globalSum = b.create<mesh::AllReduceOp>(
        loc, scalar, meshName(), axes, sum, mesh::ReductionKind::Sum);
    return b.create<DivOp>(loc, globalSum, divisor);
  }
  auto grad = cast<CrossEntropyGradOp>(op);
  Value scaled = b.create<DivOp>(loc, b.create<MulOp>(loc, operands[2], count),
                                 divisor);
  return b.create<CrossEntropyGradOp>(loc, resultType, operands[0], operands[1],
                                      scaled, grad.getIgnoreIndexAttr());
}

LogicalResult Partitioner::run(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return func.emitError("bb-spmdize: @") << func.getSymName()
                                           << " must be one block";
  Block &body = func.getBody().front();
  OpBuilder b(func.getContext());
  MLIRContext *ctx = func.getContext();
  int64_t meshRank = meshShape.size();

  // The ops to rewrite: those of the global program.
  SmallVector<Operation *> old;
  for (Operation &op : body.without_terminator())
    old.push_back(&op);

  // Arguments: their sharding, their local type (set at the end, after every
  // op has been read with global types).
  SmallVector<Type> argTypes;
  for (BlockArgument arg : body.getArguments()) {
    int64_t rank = cast<RankedTensorType>(arg.getType()).getRank();
    TensorSharding s = TensorSharding::replicated(rank);
    if (auto attr = func.getArgAttrOfType<mesh::MeshShardingAttr>(
            arg.getArgNumber(), "bb.sharding"))
      s = TensorSharding::fromAttr(attr, rank);
    // A pipeline stage's accumulated gradient may arrive unreduced: the
    // stage reduces it once per step, not once per micro-batch.
    auto role = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "bb.role");
    if (!s.partialAxes.empty() && !(role && role.getValue() == "grad"))
      return func.emitError("bb-spmdize: argument ")
             << arg.getArgNumber() << " cannot be partial (only a gradient "
                                     "can)";
    if (!arrivesAsBlock(func, arg.getArgNumber()) && !s.isReplicated()) {
      // Inputs arrive whole on every process; the sharding says which block
      // the program works on.
      b.setInsertionPointToStart(&body);
      Value block = b.create<ShardSliceOp>(arg.getLoc(), localType(arg, s), arg,
                                           s.toAttr(meshSym));
      locals[arg] = {block, s};
      argTypes.push_back(arg.getType());
      func.removeArgAttr(arg.getArgNumber(), "bb.sharding");
      continue;
    }
    locals[arg] = {arg, s};
    argTypes.push_back(localType(arg, s));
  }

  for (Operation *op : old) {
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    if (isa<ConstantOp>(op)) {
      locals[op->getResult(0)] = {
          op->getResult(0),
          TensorSharding::replicated(
              cast<RankedTensorType>(op->getResult(0).getType()).getRank())};
      continue;
    }
    if (op->getNumRegions() != 0 ||
        !llvm::all_of(op->getResultTypes(), [](Type t) {
          return isa<RankedTensorType>(t);
        }))
      return op->emitError("bb-spmdize: cannot partition this op");
    OpRule rule = ruleFor(op);
    Strategy strategy(meshRank, -1);
    if (auto attr = op->getAttrOfType<DenseI64ArrayAttr>("bb.strategy")) {
      if (static_cast<int64_t>(attr.size()) != meshRank)
        return op->emitError("bb-spmdize: bb.strategy has ")
               << attr.size() << " entries for a mesh of rank " << meshRank;
      strategy.assign(attr.asArrayRef().begin(), attr.asArrayRef().end());
      for (int64_t l : strategy)
        if (l < -1 || l >= static_cast<int64_t>(rule.loops.size()))
          return op->emitError("bb-spmdize: bb.strategy names loop ")
                 << l << "; the op has " << rule.loops.size()
                 << " splittable loops";
    }
    SmallVector<int64_t> factor(rule.loops.size(), 1);
    for (auto [axis, l] : llvm::enumerate(strategy))
      if (l >= 0)
        factor[l] *= meshShape[axis];
    for (auto [l, f] : llvm::enumerate(factor))
      if (rule.loops[l].extent % f != 0)
        return op->emitError("bb-spmdize: loop ")
               << l << " of extent " << rule.loops[l].extent
               << " does not split in " << f;

    SmallVector<Value> operands;
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      auto type = cast<RankedTensorType>(operand.getType());
      TensorSharding want = operandSharding(rule, strategy, i, type.getRank());
      if (!canReshard(locals.lookup(operand).sharding, want))
        return op->emitError("bb-spmdize: operand ")
               << i << " takes partial sums its producer does not leave";
      operands.push_back(reshard(b, loc, locals.lookup(operand), want, type));
    }
    SmallVector<TensorSharding> resultShardings;
    SmallVector<Type> resultTypes;
    for (auto [i, r] : llvm::enumerate(op->getResults())) {
      resultShardings.push_back(resultSharding(
          rule, strategy, i, cast<RankedTensorType>(r.getType()).getRank()));
      resultTypes.push_back(localType(r, resultShardings.back()));
    }

    if (isa<CrossEntropyOp, CrossEntropyGradOp>(op) &&
        llvm::any_of(strategy, [](int64_t l) { return l >= 0; })) {
      TensorSharding labels = operandSharding(
          rule, strategy, 1,
          cast<RankedTensorType>(op->getOperand(1).getType()).getRank());
      Value v = rewriteCrossEntropy(b, op, operands, labels, resultTypes[0]);
      TensorSharding s = resultShardings[0];
      s.partialAxes.clear(); // the rewrite reduced them
      locals[op->getResult(0)] = {v, s};
      continue;
    }
    OperationState state(loc, op->getName());
    state.addOperands(operands);
    state.addTypes(resultTypes);
    for (NamedAttribute a : op->getAttrs())
      if (a.getName() != "bb.strategy")
        state.addAttribute(a.getName(), a.getValue());
    // Slices (and their gradients) name their window's end; a split dim is
    // whole (start 0, stride 1), so its end becomes the local size.
    if (auto limits = op->getAttrOfType<DenseI64ArrayAttr>("limits")) {
      SmallVector<int64_t> local(limits.asArrayRef());
      auto global = cast<RankedTensorType>(op->getResult(0).getType()).getShape();
      auto shape = cast<RankedTensorType>(resultTypes[0]).getShape();
      for (size_t d = 0; d < local.size() && d < shape.size(); ++d)
        if (shape[d] != global[d])
          local[d] = shape[d];
      state.attributes.set("limits", b.getDenseI64ArrayAttr(local));
    }
    Operation *local = b.create(state);
    for (auto [r, s] : llvm::zip(op->getResults(), resultShardings))
      locals[r] = {local->getResult(r.getResultNumber()), s};
  }

  // Results: as the function's callers (the runtime) expect them.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto type = cast<RankedTensorType>(v.getType());
    TensorSharding want = TensorSharding::replicated(type.getRank());
    if (auto attr = func.getResultAttrOfType<mesh::MeshShardingAttr>(i, "bb.sharding"))
      want = TensorSharding::fromAttr(attr, type.getRank());
    else if (auto k = func.getResultAttrOfType<IntegerAttr>(i, "bb.updates"))
      want = locals.lookup(body.getArgument(k.getInt())).sharding;
    if (!canReshard(locals.lookup(v).sharding, want))
      return func.emitError("bb-spmdize: result ")
             << i << " is declared partial sums its producer does not leave";
    results.push_back(reshard(b, ret.getLoc(), locals.lookup(v), want, type));
    // Not results.back()'s type: an argument returned as it is gets its
    // local type only below.
    resultTypes.push_back(localType(v, want));
    if (!want.isReplicated())
      func.setResultAttr(i, "bb.sharding", want.toAttr(meshSym));
  }
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  for (Operation *op : llvm::reverse(old))
    if (op->use_empty())
      op->erase();
    else if (!isa<ConstantOp>(op))
      return op->emitError("bb-spmdize: internal error: a global value is "
                           "still used");
  for (auto [arg, type] : llvm::zip(body.getArguments(), argTypes)) {
    arg.setType(type);
    TensorSharding s = locals.lookup(arg).sharding;
    if (!s.isReplicated() && arrivesAsBlock(func, arg.getArgNumber()))
      func.setArgAttr(arg.getArgNumber(), "bb.sharding", s.toAttr(meshSym));
  }
  func.setType(FunctionType::get(ctx, argTypes, resultTypes));
  return success();
}

struct SpmdizePass : mlir::bb::impl::SpmdizeBase<SpmdizePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto meshes = module.getOps<mesh::MeshOp>();
    if (meshes.empty()) {
      module.emitError("bb-spmdize: the module has no mesh.mesh");
      return signalPassFailure();
    }
    for (auto func : module.getOps<func::FuncOp>()) {
      // A function of a stage on a mesh of its own names it (bb.mesh, from
      // bb-pipeline-stages); the others run on the module's one mesh.
      mesh::MeshOp meshOp = *meshes.begin();
      if (auto sym = func->getAttrOfType<FlatSymbolRefAttr>("bb.mesh")) {
        meshOp = module.lookupSymbol<mesh::MeshOp>(sym.getAttr());
        if (!meshOp) {
          func.emitError("bb-spmdize: no mesh ") << sym;
          return signalPassFailure();
        }
      } else if (!llvm::hasSingleElement(meshes)) {
        func.emitError("bb-spmdize: the module has several meshes and the "
                       "function names none (bb.mesh)");
        return signalPassFailure();
      }
      Partitioner p(meshOp);
      if (failed(p.run(func)))
        return signalPassFailure();
    }
  }
};
} // namespace
