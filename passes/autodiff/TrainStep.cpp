//===- TrainStep.cpp - gradients + optimizer update = @train_step ----------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

namespace mlir::bb {
#define GEN_PASS_DEF_TRAINSTEP
#include "passes/autodiff/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// A parameter with a gradient: the constant it was (erased once it is an
/// argument), its gradient, name and type.
struct Trained {
  ConstantOp constant;
  Value grad;
  StringAttr name;
  RankedTensorType type;
};

/// A gradient bb-autodiff built as zeros because no path reaches the loss.
bool isZeroConstant(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst || cst->hasAttr("bb.name"))
    return false;
  auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  return dense && dense.isSplat() &&
         isa<FloatType>(dense.getElementType()) &&
         dense.getSplatValue<APFloat>().isZero();
}

Value scalarF32(OpBuilder &b, Location loc, double v) {
  return b.create<ConstantOp>(loc, static_cast<float>(v));
}

/// A name for a new argument that no argument of `func` has yet.
std::string uniqueArgName(func::FuncOp func, StringRef want) {
  std::string name = want.str();
  auto taken = [&](StringRef n) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto a = func.getArgAttrOfType<StringAttr>(i, "bb.name"))
        if (a.getValue() == n)
          return true;
    return false;
  };
  while (taken(name))
    name = "_" + name;
  return name;
}

struct TrainStepPass : mlir::bb::impl::TrainStepBase<TrainStepPass> {
  using TrainStepBase::TrainStepBase;

  void runOnOperation() override;

  /// Replaces each trained constant of `func` by a new argument marked as
  /// state; returns the arguments, in `trained` order.
  SmallVector<BlockArgument> parametersToArguments(func::FuncOp func,
                                                   ArrayRef<Trained> trained,
                                                   IRMapping *mapping);
};

/// Appends arguments of `types` with `attrs` to `func` in one step (one
/// at a time would rebuild the function's type and argument attributes per
/// argument: quadratic in a 96-layer model's thousands of states); returns
/// them.
SmallVector<BlockArgument> appendArguments(func::FuncOp func,
                                           ArrayRef<Type> types,
                                           ArrayRef<DictionaryAttr> attrs,
                                           ArrayRef<Location> locs) {
  unsigned first = func.getNumArguments();
  SmallVector<unsigned> at(types.size(), first);
  func.insertArguments(at, types, attrs, locs);
  SmallVector<BlockArgument> args;
  for (unsigned i = 0; i < types.size(); ++i)
    args.push_back(func.getArgument(first + i));
  return args;
}

SmallVector<BlockArgument>
TrainStepPass::parametersToArguments(func::FuncOp func,
                                     ArrayRef<Trained> trained,
                                     IRMapping *mapping) {
  OpBuilder b(func.getContext());
  SmallVector<ConstantOp> constants;
  SmallVector<Type> types;
  SmallVector<DictionaryAttr> attrs;
  SmallVector<Location> locs;
  for (const Trained &t : trained) {
    ConstantOp cst = t.constant;
    if (mapping)
      cst = cast<ConstantOp>(mapping->lookup(ConstantOp(t.constant).getResult()).getDefiningOp());
    constants.push_back(cst);
    types.push_back(cst.getType());
    locs.push_back(cst.getLoc());
    attrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", t.name),
         b.getNamedAttr("bb.state", b.getStringAttr("param")),
         b.getNamedAttr("bb.init", cst.getValue())}));
  }
  SmallVector<BlockArgument> args = appendArguments(func, types, attrs, locs);
  for (auto [cst, arg] : llvm::zip(constants, args)) {
    cst.getResult().replaceAllUsesWith(arg);
    cst.erase();
  }
  return args;
}

void TrainStepPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto func = module.lookupSymbol<func::FuncOp>("forward");
  auto isGradProgram = [&] {
    if (!func || !func.getBody().hasOneBlock() || func.getNumResults() < 2)
      return false;
    auto first = func.getResultAttrOfType<StringAttr>(0, "bb.name");
    return first && first.getValue() == "loss";
  };
  if (!isGradProgram()) {
    module.emitError("bb-train-step: needs the @forward that bb-autodiff "
                     "builds (the loss, then the gradients)");
    return signalPassFailure();
  }
  if (optimizer != "sgd" && optimizer != "adamw") {
    module.emitError("bb-train-step: --optimizer must be sgd or adamw, not '")
        << optimizer << "'";
    return signalPassFailure();
  }
  if (gradClip < 0 || weightDecay < 0 || momentum < 0 || epsilon < 0 ||
      beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
    module.emitError("bb-train-step: hyperparameters out of range (negative "
                     "grad-clip, weight-decay, momentum or epsilon, or a beta "
                     "outside [0, 1))");
    return signalPassFailure();
  }

  // Which gradient belongs to which constant.
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  llvm::StringMap<ConstantOp> constants;
  for (auto cst : body.getOps<ConstantOp>())
    if (auto name = cst->getAttrOfType<StringAttr>("bb.name"))
      constants[name.getValue()] = cst;
  SmallVector<Trained> trained;
  for (unsigned i = 1; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "bb.name");
    if (!name || !name.getValue().starts_with("grad:")) {
      func.emitError("bb-train-step: result ") << i << " is not a gradient";
      return signalPassFailure();
    }
    StringRef param = name.getValue().drop_front(5);
    ConstantOp cst = constants.lookup(param);
    if (!cst) {
      func.emitError("bb-train-step: no constant for parameter '") << param << "'";
      return signalPassFailure();
    }
    Value g = ret.getOperand(i);
    if (isZeroConstant(g))
      continue;
    trained.push_back(
        {cst, g, StringAttr::get(&getContext(), param), cst.getType()});
  }
  if (trained.empty()) {
    module.emitError("bb-train-step: no parameter has a gradient");
    return signalPassFailure();
  }
  Value loss = ret.getOperand(0);
  // Dynamic loss scaling multiplies the loss gradient's seed, which
  // bb-autodiff marks.
  ConstantOp seed;
  if (lossScale > 0) {
    if (lossScaleWindow < 1) {
      module.emitError("bb-train-step: loss-scale-window must be at least 1");
      return signalPassFailure();
    }
    for (auto cst : body.getOps<ConstantOp>())
      if (cst->hasAttr("bb.loss_seed"))
        seed = cst;
    if (!seed) {
      module.emitError("bb-train-step: loss-scale needs the loss gradient's "
                       "seed, which bb-autodiff marks bb.loss_seed");
      return signalPassFailure();
    }
  } else if (lossScale < 0) {
    module.emitError("bb-train-step: loss-scale must not be negative");
    return signalPassFailure();
  } else {
    // Unscaled: the seed stays 1, and its mark goes.
    for (auto cst : body.getOps<ConstantOp>())
      cst->removeAttr("bb.loss_seed");
  }
  // bb-autodiff appended the labels argument.
  func.setArgAttr(func.getNumArguments() - 1, "bb.role",
                  StringAttr::get(&getContext(), "labels"));

  // @eval_step: forward and loss on the same parameters; canonicalization
  // later drops the backward ops, which nothing uses any more.
  OpBuilder mb(module.getBodyRegion());
  mb.setInsertionPointAfter(func);
  IRMapping mapping;
  auto eval = cast<func::FuncOp>(mb.clone(*func, mapping));
  eval.setSymName("eval_step");
  parametersToArguments(eval, trained, &mapping);
  {
    auto evalRet = cast<func::ReturnOp>(eval.getBody().front().getTerminator());
    OpBuilder b(evalRet);
    b.create<func::ReturnOp>(evalRet.getLoc(), mapping.lookup(loss));
    evalRet.erase();
    eval.setType(FunctionType::get(&getContext(),
                                   eval.getBody().front().getArgumentTypes(),
                                   loss.getType()));
    eval.setAllResultAttrs(ArrayRef<DictionaryAttr>{b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", b.getStringAttr("loss")),
         b.getNamedAttr("bb.role", b.getStringAttr("loss"))})});
  }

  // @train_step: parameters and optimizer state become arguments.
  func.setSymName("train_step");
  SmallVector<BlockArgument> params = parametersToArguments(func, trained, nullptr);
  OpBuilder b(ret);
  Location loc = ret.getLoc();
  // The new arguments, appended at once: lr, step (AdamW), then each
  // parameter's optimizer state.
  auto scalarType = RankedTensorType::get({}, b.getF32Type());
  SmallVector<Type> newTypes;
  SmallVector<DictionaryAttr> newAttrs;
  auto scalarArg = [&](StringRef name, StringRef role) {
    newTypes.push_back(scalarType);
    newAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", b.getStringAttr(uniqueArgName(func, name))),
         b.getNamedAttr("bb.role", b.getStringAttr(role))}));
  };
  scalarArg("lr", "lr");
  // Under loss scaling AdamW counts the steps it took (a skipped step does
  // not count, as with PyTorch's GradScaler), so the count is state.
  const bool stepArg = optimizer == "adamw" && lossScale == 0;
  if (stepArg)
    scalarArg("step", "step");
  SmallVector<StringRef> stateSuffixes =
      optimizer == "sgd" ? SmallVector<StringRef>{"momentum"}
                         : SmallVector<StringRef>{"exp_avg", "exp_avg_sq"};
  for (const Trained &t : trained)
    for (StringRef suffix : stateSuffixes) {
      newTypes.push_back(t.type);
      newAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("bb.name",
                          b.getStringAttr(t.name.getValue() + "#" + suffix)),
           b.getNamedAttr("bb.state", b.getStringAttr("optimizer"))}));
    }
  // The loss scaler's state (rank-0 f32 values, bb.state = "scalar"):
  // the scale, the steps since it last changed, and AdamW's step count.
  auto scalarState = [&](StringRef name, double init) {
    newTypes.push_back(scalarType);
    newAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", b.getStringAttr(uniqueArgName(func, name))),
         b.getNamedAttr("bb.state", b.getStringAttr("scalar")),
         b.getNamedAttr("bb.init",
                        DenseElementsAttr::get(
                            scalarType, b.getF32FloatAttr(init).getValue()))}));
  };
  const size_t firstScalerArg = newTypes.size();
  if (lossScale > 0) {
    scalarState("loss_scaler#scale", lossScale);
    scalarState("loss_scaler#good_steps", 0);
    if (optimizer == "adamw")
      scalarState("adamw#step", 0);
  }
  SmallVector<Location> newLocs(newTypes.size(), loc);
  SmallVector<BlockArgument> newArgs =
      appendArguments(func, newTypes, newAttrs, newLocs);
  Value lr = newArgs[0];
  Value step = stepArg ? Value(newArgs[1]) : Value();
  ArrayRef<BlockArgument> stateArgs =
      ArrayRef<BlockArgument>(newArgs)
          .take_front(firstScalerArg)
          .drop_front(stepArg ? 2 : 1);
  BlockArgument scaleArg, goodArg, countArg;
  if (lossScale > 0) {
    scaleArg = newArgs[firstScalerArg];
    goodArg = newArgs[firstScalerArg + 1];
    if (optimizer == "adamw")
      countArg = newArgs[firstScalerArg + 2];
    // The backward pass starts from the scale instead of 1.
    seed.getResult().replaceAllUsesWith(scaleArg);
    seed.erase();
  }

  // Global gradient norm, and the clipping factor.
  Value sumSquares;
  // A parameter's norm and update ops carry the location of the op that
  // computes its gradient, so they belong to its layer (and identical
  // layers' tie in the sharding search).
  auto gradLoc = [&](const Trained &t) {
    Operation *def = t.grad.getDefiningOp();
    return def ? def->getLoc() : loc;
  };
  for (const Trained &t : trained) {
    Location gl = gradLoc(t);
    int64_t rank = cast<RankedTensorType>(t.grad.getType()).getRank();
    SmallVector<int64_t> all;
    for (int64_t d = 0; d < rank; ++d)
      all.push_back(d);
    Value sq = b.create<MulOp>(gl, t.grad, t.grad);
    Value s = rank ? Value(b.create<ReduceSumOp>(gl, scalarType, sq,
                                                 b.getDenseI64ArrayAttr(all),
                                                 UnitAttr()))
                   : sq;
    sumSquares = sumSquares ? Value(b.create<AddOp>(gl, sumSquares, s)) : s;
  }
  Value norm = b.create<SqrtOp>(loc, sumSquares);
  // Under loss scaling the gradients are the scale's multiple: the norm
  // divided by it is theirs (exactly when the scale is a power of two, as
  // the default and every halving or doubling of one is).
  Value finite;
  if (scaleArg) {
    finite = b.create<CompareOp>(
        loc, ComparePredicate::lt, norm,
        scalarF32(b, loc, std::numeric_limits<double>::infinity()));
    norm = b.create<DivOp>(loc, norm, scaleArg);
  }
  Value one = scalarF32(b, loc, 1.0);
  Value scale = one;
  if (gradClip > 0) {
    Value factor = b.create<DivOp>(
        loc, scalarF32(b, loc, gradClip),
        b.create<AddOp>(loc, norm, scalarF32(b, loc, 1e-6)));
    Value below = b.create<CompareOp>(loc, ComparePredicate::lt, factor, one);
    scale = b.create<SelectOp>(loc, below, factor, one);
  }
  if (scaleArg) {
    // The updates take the gradients unscaled; a non-finite gradient scale
    // skips them (bb.sgd_update, bb.adamw_update), and so a step whose
    // gradients overflowed (an infinite or NaN norm) changes no parameter
    // and no optimizer state.
    scale = b.create<SelectOp>(
        loc, finite, b.create<DivOp>(loc, scale, scaleArg),
        scalarF32(b, loc, std::numeric_limits<double>::quiet_NaN()));
    if (countArg) {
      // AdamW's step number counts the steps taken.
      step = b.create<AddOp>(loc, countArg, one);
    }
  }

  // One update per parameter, returning the new state.
  SmallVector<Value> results = {loss, norm};
  SmallVector<DictionaryAttr> resultAttrs = {
      b.getDictionaryAttr({b.getNamedAttr("bb.name", b.getStringAttr("loss")),
                           b.getNamedAttr("bb.role", b.getStringAttr("loss"))}),
      b.getDictionaryAttr(
          {b.getNamedAttr("bb.name", b.getStringAttr("grad_norm")),
           b.getNamedAttr("bb.role", b.getStringAttr("grad_norm"))})};
  auto returnState = [&](Value v, BlockArgument arg) {
    results.push_back(v);
    resultAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", func.getArgAttrOfType<StringAttr>(
                                       arg.getArgNumber(), "bb.name")),
         b.getNamedAttr("bb.updates",
                        b.getI64IntegerAttr(arg.getArgNumber()))}));
  };
  for (auto [k, t, param] : llvm::enumerate(trained, params)) {
    ArrayRef<BlockArgument> state =
        stateArgs.slice(k * stateSuffixes.size(), stateSuffixes.size());
    if (optimizer == "sgd") {
      BlockArgument buf = state[0];
      auto op = b.create<SgdUpdateOp>(
          gradLoc(t), param.getType(), param.getType(), param, t.grad, buf, lr, scale,
          b.getF32FloatAttr(momentum), b.getF32FloatAttr(weightDecay),
          nesterov ? b.getUnitAttr() : UnitAttr());
      returnState(op.getNewParam(), param);
      returnState(op.getNewMomentumBuffer(), buf);
    } else {
      BlockArgument m = state[0];
      BlockArgument v = state[1];
      auto op = b.create<AdamwUpdateOp>(
          gradLoc(t), param.getType(), param.getType(), param.getType(), param,
          t.grad, m, v, lr, step, scale, b.getF32FloatAttr(beta1),
          b.getF32FloatAttr(beta2), b.getF32FloatAttr(epsilon),
          b.getF32FloatAttr(weightDecay));
      returnState(op.getNewParam(), param);
      returnState(op.getNewExpAvg(), m);
      returnState(op.getNewExpAvgSq(), v);
    }
  }
  if (scaleArg) {
    // PyTorch's GradScaler: after an overflow the scale halves and the
    // count of good steps restarts; after `window` good steps in a row it
    // doubles.
    Value zero = scalarF32(b, loc, 0.0);
    Value good = b.create<AddOp>(loc, goodArg, one);
    Value grow = b.create<CompareOp>(loc, ComparePredicate::ge, good,
                                     scalarF32(b, loc, lossScaleWindow));
    Value grown = b.create<SelectOp>(
        loc, grow, b.create<MulOp>(loc, scaleArg, scalarF32(b, loc, 2.0)),
        scaleArg);
    Value halved = b.create<MulOp>(loc, scaleArg, scalarF32(b, loc, 0.5));
    returnState(b.create<SelectOp>(loc, finite, grown, halved), scaleArg);
    returnState(b.create<SelectOp>(loc, finite,
                                   b.create<SelectOp>(loc, grow, zero, good),
                                   zero),
                goodArg);
    if (countArg)
      returnState(b.create<SelectOp>(loc, finite, step, countArg), countArg);
    // The scale this step used, for the driver's log.
    results.push_back(scaleArg);
    resultAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("bb.name", b.getStringAttr("loss_scale")),
         b.getNamedAttr("bb.role", b.getStringAttr("loss_scale"))}));
  }
  b.create<func::ReturnOp>(loc, results);
  ret.erase();
  func.setType(FunctionType::get(&getContext(), body.getArgumentTypes(),
                                 TypeRange(ValueRange(results))));
  func.setAllResultAttrs(resultAttrs);
}
} // namespace
