//===- ShardingRules.cpp - how each bb op may be split over a mesh ---------===//
#include "passes/sharding/ShardingRules.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Mesh/Interfaces/ShardingInterface.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <numeric>

using namespace mlir;
using namespace mlir::bb;
using namespace mlir::bb::sharding;

namespace {

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// The tensors an op's loops index: operands, then results.
SmallVector<Value> tensorsOf(Operation *op) {
  SmallVector<Value> values(op->getOperands());
  values.append(op->result_begin(), op->result_end());
  return values;
}

OpRule emptyRule(Operation *op) {
  OpRule r;
  r.numOperands = op->getNumOperands();
  r.numResults = op->getNumResults();
  return r;
}

/// A loop that indexes dimension `dims[t]` of tensor t (or none, -1).
Loop makeLoop(int64_t extent, SmallVector<int64_t> dims,
              std::optional<mesh::ReductionKind> reduction = std::nullopt) {
  Loop l;
  l.extent = extent;
  l.dims = std::move(dims);
  l.reduction = reduction;
  return l;
}

/// Reads mesh::ShardingInterface strictly: loop i is kept only if every
/// indexing-map result that involves it is exactly d_i, each tensor has at
/// most one such dimension, all those dimensions have one extent, and a
/// reduction combines with sum, max, min or average.
OpRule fromInterface(Operation *op) {
  OpRule rule = emptyRule(op);
  auto iface = dyn_cast<mesh::ShardingInterface>(op);
  if (!iface)
    return rule;
  SmallVector<utils::IteratorType> iterators = iface.getLoopIteratorTypes();
  SmallVector<mesh::ReductionKind> kinds = iface.getReductionLoopIteratorKinds();
  SmallVector<AffineMap> maps = iface.getIndexingMaps();
  SmallVector<Value> tensors = tensorsOf(op);
  if (maps.size() != tensors.size())
    return rule;
  for (auto [map, v] : llvm::zip(maps, tensors)) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || map.getNumDims() != iterators.size() ||
        map.getNumResults() != static_cast<unsigned>(type.getRank()))
      return rule;
  }
  unsigned nextKind = 0;
  for (unsigned i = 0; i < iterators.size(); ++i) {
    std::optional<mesh::ReductionKind> reduction;
    if (iterators[i] == utils::IteratorType::reduction) {
      if (nextKind >= kinds.size())
        return emptyRule(op);
      reduction = kinds[nextKind++];
    }
    bool ok = !reduction || *reduction == mesh::ReductionKind::Sum ||
              *reduction == mesh::ReductionKind::Max ||
              *reduction == mesh::ReductionKind::Min ||
              *reduction == mesh::ReductionKind::Average;
    int64_t extent = -1;
    SmallVector<int64_t> dims;
    for (auto [map, v] : llvm::zip(maps, tensors)) {
      int64_t dim = -1;
      for (unsigned p = 0; p < map.getNumResults(); ++p) {
        AffineExpr e = map.getResult(p);
        if (!e.isFunctionOfDim(i))
          continue;
        auto d = dyn_cast<AffineDimExpr>(e);
        if (!d || dim != -1) {
          ok = false;
          break;
        }
        dim = p;
        int64_t size = shapeOf(v)[p];
        if (extent != -1 && extent != size)
          ok = false;
        extent = size;
      }
      dims.push_back(dim);
    }
    if (ok && extent > 1)
      rule.loops.push_back(makeLoop(extent, dims, reduction));
  }
  return rule;
}

/// Reshape: input dim i and result dim j split alike when the dims before
/// them hold the same number of elements; then a split of dim i into k
/// blocks is a split of dim j into k blocks (k divides both). A reshape
/// that only adds or drops unit dimensions (a weight's gradient summed over
/// the batch with keepdims, then reshaped to the weight's shape) may also
/// pass partial sums through, so that a pipeline stage can accumulate them
/// over its micro-batches and reduce once per step.
OpRule reshapeRule(ReshapeOp op) {
  OpRule rule = emptyRule(op);
  ArrayRef<int64_t> in = shapeOf(op.getInput()), out = shapeOf(op.getResult());
  int64_t before = 1;
  for (int64_t i = 0, j = 0, outBefore = 1; i < static_cast<int64_t>(in.size());
       before *= in[i], ++i) {
    while (j < static_cast<int64_t>(out.size()) && outBefore < before)
      outBefore *= out[j++];
    if (j < static_cast<int64_t>(out.size()) && outBefore == before &&
        in[i] > 1 && out[j] > 1)
      rule.loops.push_back(makeLoop(std::gcd(in[i], out[j]), {i, j}));
  }
  auto nonUnit = [](ArrayRef<int64_t> shape) {
    SmallVector<int64_t> dims;
    for (int64_t d : shape)
      if (d != 1)
        dims.push_back(d);
    return dims;
  };
  if (nonUnit(in) == nonUnit(out)) {
    Loop through = makeLoop(0, {-1, -1}, mesh::ReductionKind::Sum);
    through.passesPartial = true;
    rule.loops.push_back(through);
  }
  return rule;
}

/// Concat: every dimension but the concatenated one splits alike.
OpRule concatRule(ConcatOp op) {
  OpRule rule = emptyRule(op);
  int64_t rank = shapeOf(op.getResult()).size();
  for (int64_t d = 0; d < rank; ++d) {
    if (d == op.getAxis())
      continue;
    SmallVector<int64_t> dims(op->getNumOperands() + 1, d);
    rule.loops.push_back(makeLoop(shapeOf(op.getResult())[d], dims));
  }
  return rule;
}

/// Dimensions whose global position matters (trilu's last two) cannot split.
OpRule withoutDims(OpRule rule, ArrayRef<int64_t> resultDims) {
  llvm::erase_if(rule.loops, [&](const Loop &l) {
    return llvm::is_contained(resultDims, l.dims[rule.numOperands]);
  });
  return rule;
}

/// scatter_add(indices, updates) -> output: index positions are reduction
/// loops (each adds into rows anywhere in the output); the other output dims
/// are parallel.
OpRule scatterAddRule(ScatterAddOp op) {
  OpRule rule = emptyRule(op);
  ArrayRef<int64_t> idx = shapeOf(op.getIndices()), out = shapeOf(op.getOutput());
  int64_t axis = op.getAxis(), idxRank = idx.size();
  for (int64_t j = 0; j < idxRank; ++j)
    rule.loops.push_back(
        makeLoop(idx[j], {j, axis + j, -1}, mesh::ReductionKind::Sum));
  for (int64_t d = 0; d < static_cast<int64_t>(out.size()); ++d) {
    if (d == axis)
      continue;
    int64_t u = d < axis ? d : d - 1 + idxRank;
    rule.loops.push_back(makeLoop(out[d], {-1, u, d}));
  }
  return rule;
}

/// cross_entropy(logits [..., C], labels [...]) -> scalar: the positions are
/// reduction loops (the mean over them); the partitioner weighs each rank's
/// mean by its count of counted labels. cross_entropy_grad: the positions
/// are parallel (its scalar operand is the loss gradient).
OpRule crossEntropyRule(Operation *op, bool grad) {
  OpRule rule = emptyRule(op);
  ArrayRef<int64_t> labels = shapeOf(op->getOperand(1));
  for (int64_t d = 0; d < static_cast<int64_t>(labels.size()); ++d) {
    SmallVector<int64_t> dims = {d, d};
    if (grad)
      dims.append({-1, d});
    else
      dims.push_back(-1);
    rule.loops.push_back(makeLoop(labels[d], dims,
                                  grad ? std::nullopt
                                       : std::optional(mesh::ReductionKind::Average)));
  }
  return rule;
}

/// attention and attention_grad: the leading (batch) dimensions, which
/// every operand and result shares (the mask and bias where they do not
/// broadcast), and the queries: each query's row needs all keys and values
/// (which stay whole), and in the backward pass the key and value
/// gradients sum over the queries (partial sums when the queries are
/// split). The softmax over the keys does not split.
OpRule attentionRule(Operation *op) {
  OpRule rule = emptyRule(op);
  ArrayRef<int64_t> q = shapeOf(op->getOperand(0));
  const int64_t rank = static_cast<int64_t>(q.size()), batch = rank - 2;
  // The mask and the bias broadcast to the scores [..., T, S]; the key and
  // value (and their gradients) have no query dimension.
  Value key = op->getOperand(1), value = op->getOperand(2);
  Value mask, bias;
  SmallVector<Value> whole = {key, value};
  if (auto a = dyn_cast<AttentionOp>(op)) {
    mask = a.getMask();
    bias = a.getBias();
  } else {
    auto g = cast<AttentionGradOp>(op);
    mask = g.getMask();
    bias = g.getBias();
    whole.append({g.getKeyGrad(), g.getValueGrad()});
  }
  // The dimension of `v` that dimension d of the scores indexes, or -1.
  auto scoresDim = [&](Value v, int64_t d, int64_t extent) -> int64_t {
    ArrayRef<int64_t> shape = shapeOf(v);
    int64_t at = d - static_cast<int64_t>(q.size() - shape.size());
    return at >= 0 && shape[at] == extent ? at : -1;
  };
  auto dimsFor = [&](int64_t d, bool queries) {
    SmallVector<int64_t> dims;
    auto add = [&](Value v) {
      if (v == mask || v == bias)
        dims.push_back(scoresDim(v, d, q[d]));
      else if (queries && llvm::is_contained(whole, v))
        dims.push_back(-1);
      else
        dims.push_back(d); // lse [..., T] has the query dimension there too
    };
    for (Value v : op->getOperands())
      add(v);
    for (Value r : op->getResults())
      add(r);
    return dims;
  };
  for (int64_t d = 0; d < batch; ++d)
    rule.loops.push_back(makeLoop(q[d], dimsFor(d, false)));
  rule.loops.push_back(makeLoop(
      q[rank - 2], dimsFor(rank - 2, true),
      isa<AttentionGradOp>(op) ? std::optional(mesh::ReductionKind::Sum)
                               : std::nullopt));
  return rule;
}

/// layer_norm_grad: the rows (the dimensions before `axis`) split; the
/// scale and bias gradients sum over them, so splitting a row loop leaves
/// those partial. The normalized dimensions stay whole (row statistics).
OpRule layerNormGradRule(LayerNormGradOp op) {
  OpRule rule = emptyRule(op);
  ArrayRef<int64_t> x = shapeOf(op.getInput());
  for (int64_t d = 0; d < op.getNormalizedAxis(); ++d)
    // input, scale, grad; input_grad, scale_grad, bias_grad.
    rule.loops.push_back(makeLoop(x[d], {d, -1, d, d, -1, -1},
                                  mesh::ReductionKind::Sum));
  return rule;
}

} // namespace

OpRule sharding::ruleFor(Operation *op) {
  return llvm::TypeSwitch<Operation *, OpRule>(op)
      .Case([](ReshapeOp o) { return reshapeRule(o); })
      .Case([](ShardSliceOp o) { return emptyRule(o); })
      .Case([](ConcatOp o) { return concatRule(o); })
      .Case([](ScatterAddOp o) { return scatterAddRule(o); })
      .Case([](CrossEntropyOp o) { return crossEntropyRule(o, false); })
      .Case([](CrossEntropyGradOp o) { return crossEntropyRule(o, true); })
      .Case([](LayerNormGradOp o) { return layerNormGradRule(o); })
      .Case<AttentionOp, AttentionGradOp>(
          [](Operation *o) { return attentionRule(o); })
      .Case([](TriluOp o) {
        int64_t rank = shapeOf(o.getResult()).size();
        return withoutDims(fromInterface(o), {rank - 1, rank - 2});
      })
      .Case([](ConvOp o) {
        // With a bias, a partial sum over input channels would add the bias
        // once per process: only the parallel loops may split.
        OpRule r = fromInterface(o);
        if (o.getBias())
          llvm::erase_if(r.loops,
                         [](const Loop &l) { return l.reduction.has_value(); });
        return r;
      })
      .Case([](GatherOp o) {
        // Splitting the table along the gathered axis would need a gather
        // that skips indices outside the local rows.
        OpRule r = fromInterface(o);
        llvm::erase_if(r.loops, [](const Loop &l) { return l.reduction.has_value(); });
        return r;
      })
      .Default([](Operation *o) {
        if (!o->getDialect() || !isa<BbDialect>(o->getDialect()))
          return emptyRule(o);
        return fromInterface(o);
      });
}

bool TensorSharding::isReplicated() const {
  return partialAxes.empty() &&
         llvm::all_of(dimAxes, [](const auto &a) { return a.empty(); });
}

SmallVector<int64_t> TensorSharding::localShape(ArrayRef<int64_t> shape,
                                                ArrayRef<int64_t> meshShape) const {
  SmallVector<int64_t> local(shape);
  for (auto [d, axes] : llvm::enumerate(dimAxes))
    for (int16_t a : axes)
      local[d] /= meshShape[a];
  return local;
}

std::string TensorSharding::splitAxesText() const {
  std::string s = "[";
  for (auto [d, axes] : llvm::enumerate(dimAxes)) {
    s += d ? ", [" : "[";
    for (auto [i, a] : llvm::enumerate(axes))
      s += (i ? ", " : "") + std::to_string(a);
    s += "]";
  }
  return s + "]";
}

std::string TensorSharding::layoutText() const {
  std::string text = splitAxesText();
  if (partialAxes.empty())
    return text;
  text += " partial";
  for (int16_t a : partialAxes)
    text += " " + std::to_string(a);
  return text + " kind " + std::to_string(static_cast<int>(partialKind));
}

mesh::MeshShardingAttr TensorSharding::toAttr(FlatSymbolRefAttr meshSym) const {
  MLIRContext *ctx = meshSym.getContext();
  SmallVector<mesh::MeshAxesAttr> split;
  for (const auto &axes : dimAxes)
    split.push_back(mesh::MeshAxesAttr::get(ctx, axes));
  // Trailing replicated dims are left out, as MLIR prints them.
  while (!split.empty() && split.back().empty())
    split.pop_back();
  // MLIR 19 prints no split axes as `[]` but parses only `[[]]` when
  // partial axes follow: keep one empty entry, which reads back.
  if (split.empty() && !partialAxes.empty() && !dimAxes.empty())
    split.push_back(mesh::MeshAxesAttr::get(ctx, {}));
  return mesh::MeshShardingAttr::get(ctx, meshSym, split, partialAxes,
                                     partialKind);
}

TensorSharding TensorSharding::fromAttr(mesh::MeshShardingAttr attr,
                                        int64_t rank) {
  TensorSharding s = replicated(rank);
  for (auto [d, axes] : llvm::enumerate(attr.getSplitAxes()))
    if (static_cast<int64_t>(d) < rank)
      s.dimAxes[d].assign(axes.asArrayRef().begin(), axes.asArrayRef().end());
  s.partialAxes.assign(attr.getPartialAxes().begin(), attr.getPartialAxes().end());
  s.partialKind = attr.getPartialType();
  return s;
}

std::string sharding::layerOf(Operation *op, bool blankNumbers) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!name || !name.getName().getValue().starts_with("/"))
    return "";
  SmallVector<StringRef> parts;
  name.getName().getValue().drop_front().split(parts, '/');
  if (parts.size() <= 2)
    return "";
  // Numbers blanked in both components: the layer index may be in either
  // ("/h.7/attn", "/transformer/h.7").
  std::string key;
  for (StringRef part : {parts[0], parts[1]}) {
    key += '/';
    bool digits = false;
    for (char c : part) {
      if (blankNumbers && llvm::isDigit(c)) {
        if (!digits)
          key += '#';
        digits = true;
        continue;
      }
      digits = false;
      key += c;
    }
  }
  return key;
}

std::string sharding::blockOf(Operation *op) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!name)
    return "";
  StringRef n = name.getName().getValue();
  if (!n.consume_front("/"))
    return "";
  SmallVector<StringRef> parts;
  n.split(parts, '/');
  parts.pop_back(); // the op's own name
  std::string block;
  for (StringRef p : parts) {
    block += (block.empty() ? "" : "/") + p.str();
    if (llvm::any_of(p, llvm::isDigit))
      return block;
  }
  return block;
}

std::string sharding::splitAxesText(mesh::MeshShardingAttr attr) {
  return TensorSharding::fromAttr(attr, attr.getSplitAxes().size())
      .splitAxesText();
}

bool sharding::canReshard(const TensorSharding &from, const TensorSharding &to) {
  return to.partialAxes.empty() ||
         (to.partialAxes == from.partialAxes &&
          to.partialKind == from.partialKind);
}

SmallVector<ReshardStep, 2> sharding::planReshard(const TensorSharding &from,
                                               const TensorSharding &to,
                                               ArrayRef<int64_t> shape,
                                               ArrayRef<int64_t> meshShape) {
  SmallVector<ReshardStep, 2> steps;
  if (from == to)
    return steps;
  TensorSharding cur = from;
  auto step = [&](ReshardStep::Kind kind, ArrayRef<int16_t> axes, int64_t dim,
                  int64_t toDim, TensorSharding after) {
    steps.push_back({kind, SmallVector<int16_t>(axes), dim, toDim, cur, after});
    cur = std::move(after);
  };
  // 1. Partial values (unless `to` keeps them).
  if (!cur.partialAxes.empty() && to.partialAxes.empty()) {
    SmallVector<int16_t> axes = cur.partialAxes;
    int64_t parts = 1;
    for (int16_t a : axes)
      parts *= meshShape[a];
    TensorSharding next = cur;
    next.partialAxes.clear();
    std::optional<size_t> scatterDim;
    for (auto [d, want] : llvm::enumerate(to.dimAxes))
      if (ArrayRef<int16_t>(want) == ArrayRef<int16_t>(axes) &&
          cur.dimAxes[d].empty() && shape[d] % parts == 0)
        scatterDim = d;
    if (scatterDim) {
      next.dimAxes[*scatterDim] = axes;
      step(ReshardStep::Kind::ReduceScatter, axes, *scatterDim, -1, next);
    } else {
      step(ReshardStep::Kind::AllReduce, axes, -1, -1, next);
    }
  }
  // 2. Splits the consumer does not extend.
  for (size_t d = 0; d < cur.dimAxes.size(); ++d) {
    SmallVector<int16_t> have = cur.dimAxes[d];
    ArrayRef<int16_t> want = to.dimAxes[d];
    if (have.empty() || (want.size() >= have.size() &&
                         want.take_front(have.size()) == ArrayRef<int16_t>(have)))
      continue;
    TensorSharding next = cur;
    next.dimAxes[d].clear();
    std::optional<size_t> target;
    if (want.empty())
      for (size_t e = 0; e < cur.dimAxes.size(); ++e)
        if (e != d && cur.dimAxes[e].empty() &&
            ArrayRef<int16_t>(to.dimAxes[e]) == ArrayRef<int16_t>(have)) {
          target = e;
          break;
        }
    if (target) {
      next.dimAxes[*target] = have;
      step(ReshardStep::Kind::AllToAll, have, d, *target, next);
    } else {
      step(ReshardStep::Kind::AllGather, have, d, -1, next);
    }
  }
  return steps;
}

std::optional<TensorSharding> TensorSharding::parse(StringRef text,
                                                    int64_t rank) {
  TensorSharding s = replicated(rank);
  StringRef rest = text.trim();
  if (!rest.consume_front("[") || !rest.consume_back("]"))
    return std::nullopt;
  rest = rest.trim();
  int64_t dim = 0;
  while (!rest.empty()) {
    if (dim >= rank || !rest.consume_front("["))
      return std::nullopt;
    auto [inner, after] = rest.split(']');
    if (after.data() == nullptr || inner.size() == rest.size())
      return std::nullopt;
    SmallVector<StringRef> items;
    inner.split(items, ',', -1, false);
    for (StringRef item : items) {
      int16_t axis;
      if (item.trim().getAsInteger(10, axis) || axis < 0)
        return std::nullopt;
      s.dimAxes[dim].push_back(axis);
    }
    ++dim;
    rest = after.trim();
    if (!rest.consume_front(","))
      break;
    rest = rest.trim();
  }
  if (!rest.trim().empty())
    return std::nullopt;
  return s;
}

SmallVector<Strategy> sharding::enumerateStrategies(const OpRule &rule,
                                                    ArrayRef<int64_t> meshShape) {
  SmallVector<Strategy> out;
  Strategy s(meshShape.size(), -1);
  int64_t numLoops = rule.loops.size();
  std::function<void(size_t)> visit = [&](size_t axis) {
    if (axis == meshShape.size()) {
      // Each loop's axes together must divide its extent.
      SmallVector<int64_t> factor(numLoops, 1);
      for (auto [a, l] : llvm::enumerate(s))
        if (l >= 0)
          factor[l] *= meshShape[a];
      for (int64_t l = 0; l < numLoops; ++l)
        if (rule.loops[l].extent % factor[l] != 0)
          return;
      out.push_back(s);
      return;
    }
    s[axis] = -1;
    visit(axis + 1);
    if (meshShape[axis] == 1)
      return;
    for (int64_t l = 0; l < numLoops; ++l) {
      s[axis] = l;
      visit(axis + 1);
    }
    s[axis] = -1;
  };
  visit(0);
  return out;
}

static TensorSharding shardingOf(const OpRule &rule, const Strategy &s,
                                 unsigned tensor, int64_t rank, bool isResult) {
  TensorSharding t = TensorSharding::replicated(rank);
  for (auto [axis, l] : llvm::enumerate(s)) {
    if (l < 0)
      continue;
    const Loop &loop = rule.loops[l];
    int64_t dim = loop.dims[tensor];
    if (dim >= 0)
      t.dimAxes[dim].push_back(static_cast<int16_t>(axis));
    else if (loop.reduction && (isResult || (loop.passesPartial && tensor == 0))) {
      t.partialAxes.push_back(static_cast<int16_t>(axis));
      t.partialKind = *loop.reduction;
    }
  }
  return t;
}

TensorSharding sharding::operandSharding(const OpRule &rule, const Strategy &s,
                                         unsigned operand, int64_t rank) {
  return shardingOf(rule, s, operand, rank, false);
}

TensorSharding sharding::resultSharding(const OpRule &rule, const Strategy &s,
                                        unsigned result, int64_t rank) {
  return shardingOf(rule, s, rule.numOperands + result, rank, true);
}

double mlir::bb::sharding::reshardSeconds(
    const TensorSharding &from, const TensorSharding &to,
    RankedTensorType type, ArrayRef<int64_t> meshShape,
    llvm::function_ref<double(costmodel::CollectiveKind, ArrayRef<int16_t>,
                              double)>
        collective) {
  auto kindOf = [](ReshardStep::Kind k) {
    switch (k) {
    case ReshardStep::Kind::AllReduce:
      return costmodel::CollectiveKind::ALL_REDUCE;
    case ReshardStep::Kind::ReduceScatter:
      return costmodel::CollectiveKind::REDUCE_SCATTER;
    case ReshardStep::Kind::AllToAll:
      return costmodel::CollectiveKind::ALL_TO_ALL;
    case ReshardStep::Kind::AllGather:
      return costmodel::CollectiveKind::ALL_GATHER;
    }
    llvm_unreachable("a reshard step of no kind");
  };
  auto bytes = [&](const TensorSharding &s) {
    int64_t n = getElementByteWidth(type.getElementType());
    for (int64_t d : s.localShape(type.getShape(), meshShape))
      n *= d;
    return static_cast<double>(n);
  };
  double seconds = 0;
  for (const ReshardStep &st : planReshard(from, to, type.getShape(), meshShape))
    seconds += collective(kindOf(st.kind), st.axes,
                          bytes(st.kind == ReshardStep::Kind::AllGather
                                    ? st.after
                                    : st.before));
  return seconds;
}

TensorSharding mlir::bb::sharding::plannedSharding(Value v, bool keepPartial) {
  auto type = cast<RankedTensorType>(v.getType());
  TensorSharding s = TensorSharding::replicated(type.getRank());
  Operation *def = v.getDefiningOp();
  auto attr = def ? def->getAttrOfType<DenseI64ArrayAttr>("bb.strategy")
                  : DenseI64ArrayAttr();
  if (attr) {
    Strategy strategy(attr.asArrayRef().begin(), attr.asArrayRef().end());
    s = resultSharding(ruleFor(def), strategy,
                       cast<OpResult>(v).getResultNumber(), type.getRank());
  }
  if (!keepPartial)
    s.partialAxes.clear();
  return s;
}

SmallVector<int64_t> mlir::bb::sharding::parseMeshShape(StringRef text) {
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  text.split(parts, 'x');
  for (StringRef p : parts) {
    int64_t v;
    if (p.trim().getAsInteger(10, v) || v <= 0)
      return {};
    shape.push_back(v);
  }
  return shape;
}

int64_t mlir::bb::sharding::meshDevices(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}
