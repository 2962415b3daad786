//===- BbShardingInterfaceImpl.cpp - iteration spaces of bb ops ------------===//
//
// Each bb op describes its iteration space to the sharding search through
// upstream MLIR's mesh::ShardingInterface: loop iterator types (parallel or
// reduction, with the reduction's combining kind) and one indexing map per
// operand and result from the loops to that tensor's dimensions. The
// interface's default methods then derive sharding options and spmdization.
//
// Ops whose data movement is not affine (reshape, concat) report no loops;
// the sharding pass treats them as layout changes of their own.
//
//===----------------------------------------------------------------------===//
#include "dialects/bb/BbOps.h"

#include "mlir/Dialect/Mesh/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Mesh/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bb;
using mesh::ReductionKind;
using utils::IteratorType;

namespace {

struct IterationSpace {
  SmallVector<IteratorType> iterators;
  SmallVector<ReductionKind> reductionKinds; // one per reduction iterator
  SmallVector<AffineMap> maps;               // operands, then results
};

int64_t rankOf(Value v) { return cast<RankedTensorType>(v.getType()).getRank(); }
ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Map from the loops of an elementwise op over `resultShape` to an operand
/// of `operandShape` that broadcasts into it: size-1 broadcast dims read 0.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> resultShape,
                       ArrayRef<int64_t> operandShape) {
  int64_t offset = resultShape.size() - operandShape.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0, e = operandShape.size(); i < e; ++i) {
    bool stretched = operandShape[i] == 1 && resultShape[offset + i] != 1;
    exprs.push_back(stretched ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(resultShape.size(), 0, exprs, ctx);
}

IterationSpace elementwise(Operation *op) {
  IterationSpace s;
  MLIRContext *ctx = op->getContext();
  ArrayRef<int64_t> out = shapeOf(op->getResult(0));
  s.iterators.assign(out.size(), IteratorType::parallel);
  for (Value v : op->getOperands())
    s.maps.push_back(broadcastMap(ctx, out, shapeOf(v)));
  // Several results (optimizer updates) all have the iteration shape.
  for (size_t i = 0; i < op->getNumResults(); ++i)
    s.maps.push_back(AffineMap::getMultiDimIdentityMap(out.size(), ctx));
  return s;
}

IterationSpace matmul(MatMulOp op) {
  // Loops: batch..., m, n, k.
  IterationSpace s;
  MLIRContext *ctx = op.getContext();
  ArrayRef<int64_t> out = shapeOf(op.getOutput());
  int64_t batch = out.size() - 2;
  int64_t numLoops = batch + 3;
  s.iterators.assign(batch + 2, IteratorType::parallel);
  s.iterators.push_back(IteratorType::reduction);
  s.reductionKinds.push_back(ReductionKind::Sum);
  AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
             k = getAffineDimExpr(batch + 2, ctx);
  auto operandMap = [&](Value v, AffineExpr row, AffineExpr col, bool t) {
    ArrayRef<int64_t> shape = shapeOf(v);
    AffineMap b = broadcastMap(ctx, out.drop_back(2), shape.drop_back(2));
    SmallVector<AffineExpr> exprs(b.getResults());
    exprs.push_back(t ? col : row);
    exprs.push_back(t ? row : col);
    return AffineMap::get(numLoops, 0, exprs, ctx);
  };
  s.maps.push_back(operandMap(op.getLhs(), m, k, op.getTransposeLhs()));
  s.maps.push_back(operandMap(op.getRhs(), k, n, op.getTransposeRhs()));
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < batch + 2; ++i)
    outExprs.push_back(getAffineDimExpr(i, ctx));
  s.maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));
  return s;
}

/// A convolution's grouping, for the input channel a (filter, channel) loop
/// pair reads.
struct ConvGroups {
  int64_t group, filtersPerGroup, channelsPerGroup;
  bool bias;
};

/// The loops of a forward window op and its maps. conv: n, f, o..., c, k...;
/// pool: n, c, o..., k... (`conv` absent).
struct WindowMaps {
  int64_t numLoops;
  AffineMap input, weight, bias, output;
};

WindowMaps windowMaps(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> strides,
                      ArrayRef<int64_t> dilations,
                      std::optional<ConvGroups> conv) {
  int64_t spatial = rank - 2;
  bool isConv = conv.has_value();
  WindowMaps w;
  w.numLoops = rank + (isConv ? 1 : 0) + spatial;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  int64_t firstWindow = rank + (isConv ? 1 : 0);
  SmallVector<AffineExpr> in = {d(0)};
  if (isConv && conv->group == 1)
    in.push_back(d(rank));
  else if (isConv)
    in.push_back(d(1).floorDiv(conv->filtersPerGroup) * conv->channelsPerGroup +
                 d(rank));
  else
    in.push_back(d(1));
  for (int64_t i = 0; i < spatial; ++i)
    in.push_back(d(2 + i) * strides[i] + d(firstWindow + i) * dilations[i]);
  w.input = AffineMap::get(w.numLoops, 0, in, ctx);
  if (isConv) {
    SmallVector<AffineExpr> wt = {d(1), d(rank)};
    for (int64_t i = 0; i < spatial; ++i)
      wt.push_back(d(firstWindow + i));
    w.weight = AffineMap::get(w.numLoops, 0, wt, ctx);
    w.bias = AffineMap::get(w.numLoops, 0, {d(1)}, ctx);
  }
  SmallVector<AffineExpr> out;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(d(i));
  w.output = AffineMap::get(w.numLoops, 0, out, ctx);
  return w;
}

ConvGroups convGroups(ArrayRef<int64_t> weightShape, int64_t group, bool bias) {
  return {group, weightShape[0] / group, weightShape[1], bias};
}

/// Forward conv and pools: the result dims are parallel loops, the window
/// (and, for conv, the input channels of a group) reductions of `kind`.
IterationSpace windowed(Operation *op, int64_t rank, ArrayRef<int64_t> strides,
                        ArrayRef<int64_t> dilations, ReductionKind kind,
                        std::optional<ConvGroups> conv) {
  IterationSpace s;
  WindowMaps w = windowMaps(op->getContext(), rank, strides, dilations, conv);
  s.iterators.assign(rank, IteratorType::parallel);
  for (int64_t i = rank; i < w.numLoops; ++i) {
    s.iterators.push_back(IteratorType::reduction);
    s.reductionKinds.push_back(kind);
  }
  s.maps.push_back(w.input);
  if (conv) {
    s.maps.push_back(w.weight);
    if (conv->bias)
      s.maps.push_back(w.bias);
  }
  s.maps.push_back(w.output);
  return s;
}

/// Gradient ops of conv and pools: the forward op's loops and maps, each map
/// going with the tensor it describes (`maps`: operands, then the result).
/// The loops the result is indexed by without a window (`parallel`) are
/// parallel; every other loop sums into the result.
IterationSpace windowGrad(int64_t numLoops, ArrayRef<AffineMap> maps,
                          ArrayRef<int64_t> parallel) {
  IterationSpace s;
  for (int64_t i = 0; i < numLoops; ++i) {
    bool par = llvm::is_contained(parallel, i);
    s.iterators.push_back(par ? IteratorType::parallel
                              : IteratorType::reduction);
    if (!par)
      s.reductionKinds.push_back(ReductionKind::Sum);
  }
  s.maps.assign(maps.begin(), maps.end());
  return s;
}

/// Loops over the input dims; those in `reduced` are reductions of `kind`.
/// Operands after the first map to the reduced dims (layer_norm's scale and
/// bias); the result keeps all dims or drops the reduced ones.
IterationSpace reduction(Operation *op, ArrayRef<int64_t> reduced,
                         ReductionKind kind, bool resultKeepsAll,
                         bool keepdims) {
  IterationSpace s;
  MLIRContext *ctx = op->getContext();
  int64_t rank = rankOf(op->getOperand(0));
  for (int64_t i = 0; i < rank; ++i) {
    bool isReduced = llvm::is_contained(reduced, i);
    s.iterators.push_back(isReduced ? IteratorType::reduction
                                    : IteratorType::parallel);
    if (isReduced)
      s.reductionKinds.push_back(kind);
  }
  s.maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<AffineExpr> reducedExprs;
  for (int64_t i : reduced)
    reducedExprs.push_back(getAffineDimExpr(i, ctx));
  for (size_t i = 1; i < op->getNumOperands(); ++i)
    s.maps.push_back(AffineMap::get(rank, 0, reducedExprs, ctx));
  SmallVector<AffineExpr> out;
  for (int64_t i = 0; i < rank; ++i) {
    if (resultKeepsAll || !llvm::is_contained(reduced, i))
      out.push_back(getAffineDimExpr(i, ctx));
    else if (keepdims)
      out.push_back(getAffineConstantExpr(0, ctx));
  }
  s.maps.push_back(AffineMap::get(rank, 0, out, ctx));
  return s;
}

/// Gather as a one-hot contraction: loops are the result dims plus one
/// reduction over the gathered axis, so splitting the table along that axis
/// (vocabulary-parallel embeddings) is a partial sum.
IterationSpace gather(GatherOp op) {
  IterationSpace s;
  MLIRContext *ctx = op.getContext();
  int64_t outRank = rankOf(op.getOutput()), idxRank = rankOf(op.getIndices());
  int64_t axis = op.getAxis(), dataRank = rankOf(op.getData());
  int64_t numLoops = outRank + 1;
  s.iterators.assign(outRank, IteratorType::parallel);
  s.iterators.push_back(IteratorType::reduction);
  s.reductionKinds.push_back(ReductionKind::Sum);
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> data;
  for (int64_t i = 0; i < axis; ++i)
    data.push_back(d(i));
  data.push_back(d(outRank));
  for (int64_t i = axis + 1; i < dataRank; ++i)
    data.push_back(d(i - 1 + idxRank));
  SmallVector<AffineExpr> indices;
  for (int64_t i = 0; i < idxRank; ++i)
    indices.push_back(d(axis + i));
  SmallVector<AffineExpr> out;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(d(i));
  s.maps = {AffineMap::get(numLoops, 0, data, ctx),
            AffineMap::get(numLoops, 0, indices, ctx),
            AffineMap::get(numLoops, 0, out, ctx)};
  return s;
}

IterationSpace transpose(TransposeOp op) {
  IterationSpace s;
  MLIRContext *ctx = op.getContext();
  int64_t rank = rankOf(op.getOutput());
  s.iterators.assign(rank, IteratorType::parallel);
  // Loop i runs over result dim i = input dim perm[i].
  SmallVector<AffineExpr> in(rank);
  for (int64_t i = 0; i < rank; ++i)
    in[op.getPermutation()[i]] = getAffineDimExpr(i, ctx);
  s.maps = {AffineMap::get(rank, 0, in, ctx),
            AffineMap::getMultiDimIdentityMap(rank, ctx)};
  return s;
}

/// Loops over the slice (bb.slice's result, bb.slice_grad's operand); the
/// sliced tensor is read (or written) at start + stride * index.
IterationSpace slice(Operation *op, ArrayRef<int64_t> starts,
                     ArrayRef<int64_t> strides, bool grad) {
  IterationSpace s;
  MLIRContext *ctx = op->getContext();
  int64_t rank = starts.size();
  s.iterators.assign(rank, IteratorType::parallel);
  SmallVector<AffineExpr> in;
  for (int64_t i = 0; i < rank; ++i)
    in.push_back(getAffineDimExpr(i, ctx) * strides[i] + starts[i]);
  AffineMap sliced = AffineMap::get(rank, 0, in, ctx);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  s.maps = grad ? SmallVector<AffineMap>{identity, sliced}
                : SmallVector<AffineMap>{sliced, identity};
  return s;
}

SmallVector<int64_t> range(int64_t from, int64_t to) {
  SmallVector<int64_t> r;
  for (int64_t i = from; i < to; ++i)
    r.push_back(i);
  return r;
}

IterationSpace describe(Operation *op) {
  return llvm::TypeSwitch<Operation *, IterationSpace>(op)
      .Case([](MatMulOp o) { return matmul(o); })
      .Case([](ConvOp o) {
        return windowed(o, rankOf(o.getInput()), o.getStrides(),
                        o.getDilations(), ReductionKind::Sum,
                        convGroups(shapeOf(o.getWeight()), o.getGroup(),
                                   static_cast<bool>(o.getBias())));
      })
      .Case<MaxPoolOp, AvgPoolOp>([](auto o) {
        SmallVector<int64_t> ones(o.getKernelShape().size(), 1);
        return windowed(o, rankOf(o.getInput()), o.getStrides(), ones,
                        isa<MaxPoolOp>(o.getOperation()) ? ReductionKind::Max
                                                         : ReductionKind::Generic,
                        std::nullopt);
      })
      .Case([](ConvInputGradOp o) {
        // Loops n, f, o..., c, k...: the input gradient is a sum over
        // filters, output positions and taps.
        int64_t rank = rankOf(o.getGrad());
        WindowMaps w = windowMaps(
            o.getContext(), rank, o.getStrides(), o.getDilations(),
            convGroups(shapeOf(o.getWeight()), o.getGroup(), false));
        return windowGrad(w.numLoops, {w.output, w.weight, w.input},
                          {0, rank});
      })
      .Case([](ConvWeightGradOp o) {
        // The weight gradient is a sum over images and output positions.
        int64_t rank = rankOf(o.getGrad());
        WindowMaps w = windowMaps(
            o.getContext(), rank, o.getStrides(), o.getDilations(),
            convGroups(shapeOf(o.getOutput()), o.getGroup(), false));
        SmallVector<int64_t> parallel = {1};
        for (int64_t i = rank; i < w.numLoops; ++i)
          parallel.push_back(i);
        return windowGrad(w.numLoops, {w.input, w.output, w.weight}, parallel);
      })
      .Case([](MaxPoolGradOp o) {
        // Loops n, c, o..., k...: sums over output positions and taps.
        SmallVector<int64_t> ones(o.getKernelShape().size(), 1);
        WindowMaps w = windowMaps(o.getContext(), rankOf(o.getGrad()),
                                  o.getStrides(), ones, std::nullopt);
        return windowGrad(w.numLoops, {w.input, w.output, w.input}, {0, 1});
      })
      .Case([](AvgPoolGradOp o) {
        SmallVector<int64_t> ones(o.getKernelShape().size(), 1);
        WindowMaps w = windowMaps(o.getContext(), rankOf(o.getGrad()),
                                  o.getStrides(), ones, std::nullopt);
        return windowGrad(w.numLoops, {w.output, w.input}, {0, 1});
      })
      .Case<ReduceSumOp>([](auto o) {
        return reduction(o, o.getAxes(), ReductionKind::Sum, false,
                         o.getKeepdims());
      })
      .Case<ReduceMeanOp>([](auto o) {
        return reduction(o, o.getAxes(), ReductionKind::Average, false,
                         o.getKeepdims());
      })
      .Case<ReduceMaxOp>([](auto o) {
        return reduction(o, o.getAxes(), ReductionKind::Max, false,
                         o.getKeepdims());
      })
      .Case<SoftmaxOp, LogSoftmaxOp>([](auto o) {
        return reduction(o, {o.getNormalizedAxis()}, ReductionKind::Generic,
                         true, true);
      })
      .Case([](LayerNormOp o) {
        return reduction(o, range(o.getNormalizedAxis(), rankOf(o.getInput())),
                         ReductionKind::Generic, true, true);
      })
      .Case([](BatchNormOp o) {
        IterationSpace s = elementwise(o);
        MLIRContext *ctx = o.getContext();
        int64_t rank = rankOf(o.getInput());
        for (int i = 1; i <= 4; ++i)
          s.maps[i] = AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx);
        return s;
      })
      .Case([](GatherOp o) { return gather(o); })
      .Case([](TransposeOp o) { return transpose(o); })
      .Case([](SliceOp o) {
        return slice(o, o.getStarts(), o.getStrides(), false);
      })
      .Case([](SliceGradOp o) {
        return slice(o, o.getStarts(), o.getStrides(), true);
      })
      .Case([](ConstantOp o) {
        // No operands: one parallel loop per result dimension.
        IterationSpace s;
        int64_t rank = rankOf(o.getOutput());
        s.iterators.assign(rank, IteratorType::parallel);
        s.maps.push_back(AffineMap::getMultiDimIdentityMap(rank, o.getContext()));
        return s;
      })
      .Case<ReshapeOp, ConcatOp>([](Operation *) { return IterationSpace(); })
      .Default([](Operation *o) { return elementwise(o); });
}

template <typename OpT>
struct BbShardingModel
    : public mesh::ShardingInterface::ExternalModel<BbShardingModel<OpT>, OpT> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    return describe(op).iterators;
  }
  SmallVector<ReductionKind> getReductionLoopIteratorKinds(Operation *op) const {
    return describe(op).reductionKinds;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    return describe(op).maps;
  }
};

template <typename... Ops>
void attachAll(MLIRContext *ctx) {
  (Ops::template attachInterface<BbShardingModel<Ops>>(*ctx), ...);
}
} // namespace

void mlir::bb::attachShardingInterfaceModels(MLIRContext *context) {
  attachAll<
#define GET_OP_LIST
#include "dialects/bb/BbOps.cpp.inc"
      >(context);
}
