//===- ConvertBbrtToEmitC.cpp - planned bbrt to EmitC runtime calls --------===//
//
// The generated C++ is built from EmitC ops only; MLIR's C++ emitter prints
// it. Literals that C++ needs verbatim (enumerators, braced dimension lists,
// string literals) are #emitc.opaque attributes made by the helpers below.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/bb/BbOps.h"
#include "dialects/bbrt/BbrtDialect.h"
#include "mlir/Conversion/ArithToEmitC/ArithToEmitC.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/DialectConversion.h"
#include "passes/sharding/ShardingRules.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"

#include <map>

namespace mlir::bb {
#define GEN_PASS_DEF_CONVERTBBRTTOEMITC
#include "passes/lowering/passes.h.inc"
} // namespace mlir::bb

using namespace mlir;
using namespace mlir::bb;

namespace {

/// Builds EmitC calls with literal arguments mixed among operands.
class CallBuilder {
public:
  CallBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  /// An operand reference in the argument list.
  CallBuilder &operand(Value v) {
    args.push_back(b.getIndexAttr(operands.size()));
    operands.push_back(v);
    return *this;
  }
  CallBuilder &opaque(const Twine &text) {
    args.push_back(emitc::OpaqueAttr::get(b.getContext(), text.str()));
    return *this;
  }
  CallBuilder &i64(int64_t v) {
    args.push_back(b.getI64IntegerAttr(v));
    return *this;
  }
  CallBuilder &f32(float v) {
    args.push_back(b.getF32FloatAttr(v));
    return *this;
  }
  CallBuilder &boolean(bool v) {
    args.push_back(b.getBoolAttr(v));
    return *this;
  }
  CallBuilder &dims(ArrayRef<int64_t> values) {
    std::string s = "{";
    for (size_t i = 0; i < values.size(); ++i)
      s += (i ? ", " : "") + std::to_string(values[i]);
    return opaque(s + "}");
  }
  CallBuilder &string(StringRef text) {
    std::string s = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\')
        s += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\%03o", c);
        s += buf;
        continue;
      }
      s += c;
    }
    return opaque(s + "\"");
  }
  /// A template argument of the callee (`callee<text>(...)`).
  CallBuilder &templateArg(const Twine &text) {
    templateArgs.push_back(emitc::OpaqueAttr::get(b.getContext(), text.str()));
    return *this;
  }
  Value call(StringRef callee, Type result = {}) {
    SmallVector<Type> results;
    if (result)
      results.push_back(result);
    auto op = b.create<emitc::CallOpaqueOp>(
        loc, results, callee, operands, b.getArrayAttr(args),
        templateArgs.empty() ? ArrayAttr() : b.getArrayAttr(templateArgs));
    return result ? op.getResult(0) : Value();
  }

private:
  OpBuilder &b;
  Location loc;
  SmallVector<Attribute> args;
  SmallVector<Attribute> templateArgs;
  SmallVector<Value> operands;
};

/// math.* in a fused body -> a call of bbrt/fused.h's function of that name.
template <typename MathOp>
struct MathToCall : OpConversionPattern<MathOp> {
  MathToCall(MLIRContext *ctx, StringRef callee)
      : OpConversionPattern<MathOp>(ctx), callee(callee.str()) {}
  LogicalResult
  matchAndRewrite(MathOp op, typename MathOp::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<emitc::CallOpaqueOp>(
        op, op->getResultTypes(), callee, adaptor.getOperands());
    return success();
  }
  std::string callee;
};

/// arith.negf -> emitc.unary_minus (-x, -0 for 0, as the runtime's Neg).
struct NegFToUnaryMinus : OpConversionPattern<arith::NegFOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(arith::NegFOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<emitc::UnaryMinusOp>(op, op.getType(),
                                                     adaptor.getOperand());
    return success();
  }
};

/// The body of `fused` as a C++ function of its elements at the module's
/// end: `BBRT_FUSED float NAME(float v0, ...)`, arith ops through
/// upstream's arith-to-emitc patterns, math ops as calls of bbrt/fused.h's
/// functions.
FailureOr<emitc::FuncOp> emitFusedBody(Operation *fused, ValueRange inputs,
                                       Value output, Region &region,
                                       StringRef name) {
  MLIRContext *ctx = fused->getContext();
  Block &body = region.front();
  auto f32 = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType().isF32();
  };
  if (!f32(output) || !llvm::all_of(inputs, f32))
    return fused->emitError("bbrt-to-emitc: the runtime's fused kernel takes "
                            "f32 buffers only");
  auto at = OpBuilder::atBlockEnd(
      fused->getParentOfType<ModuleOp>().getBody());
  auto yield = body.getTerminator();
  auto fn = at.create<emitc::FuncOp>(
      fused->getLoc(), name,
      FunctionType::get(ctx, body.getArgumentTypes(),
                        {yield->getOperand(0).getType()}));
  fn.setSpecifiersAttr(at.getStrArrayAttr({"BBRT_FUSED"}));
  Block *entry = fn.addEntryBlock();
  IRMapping map;
  map.map(body.getArguments(), entry->getArguments());
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
  b.create<emitc::ReturnOp>(yield->getLoc(), map.lookup(yield->getOperand(0)));

  TypeConverter types;
  types.addConversion([](Type t) { return t; });
  RewritePatternSet patterns(ctx);
  populateArithToEmitCPatterns(types, patterns);
  patterns.add<NegFToUnaryMinus>(ctx);
  patterns.add<MathToCall<math::ExpOp>>(ctx, "bbrt::fused::exp");
  patterns.add<MathToCall<math::LogOp>>(ctx, "bbrt::fused::log");
  patterns.add<MathToCall<math::SqrtOp>>(ctx, "bbrt::fused::sqrt");
  patterns.add<MathToCall<math::ErfOp>>(ctx, "bbrt::fused::erf");
  patterns.add<MathToCall<math::TanhOp>>(ctx, "bbrt::fused::tanh");
  patterns.add<MathToCall<math::AbsFOp>>(ctx, "bbrt::fused::abs");
  patterns.add<MathToCall<math::PowFOp>>(ctx, "bbrt::fused::pow");
  ConversionTarget target(*ctx);
  target.addLegalDialect<emitc::EmitCDialect>();
  target.addIllegalDialect<arith::ArithDialect, math::MathDialect>();
  if (failed(applyFullConversion(fn, target, std::move(patterns))))
    return fused->emitError("bbrt-to-emitc: the fused body has an op that "
                            "C++ emission does not support");
  return fn;
}

std::string dtypeOf(Type t) {
  std::string name;
  if (t.isF32()) name = "F32";
  else if (t.isF64()) name = "F64";
  else if (t.isF16()) name = "F16";
  else if (t.isBF16()) name = "BF16";
  else if (t.isInteger(1)) name = "Bool";
  else if (t.isUnsignedInteger(8)) name = "U8";
  else if (t.isInteger(8)) name = "I8";
  else if (t.isInteger(16)) name = "I16";
  else if (t.isInteger(32)) name = "I32";
  else if (t.isInteger(64)) name = "I64";
  else return "";
  return "bbrt::DType::" + name;
}

/// `double t = bbrt::profileStart(ctx);` before a kernel call (bbrt.h).
Value profileStart(OpBuilder &b, Location loc, Value context) {
  return CallBuilder(b, loc).operand(context).call("bbrt::profileStart",
                                                   b.getF64Type());
}

/// `bbrt::profileEnd(ctx, "bb.matmul", FLOPs, bytes, t);` after it, with
/// the work bb-bufferize kept on `op` (bbrt.flops, bbrt.bytes; 0 if none).
void profileEnd(OpBuilder &b, Operation *op, StringRef kind, Value context,
                Value start) {
  auto count = [&](StringRef name) {
    auto attr = op->getAttrOfType<IntegerAttr>(name);
    return std::to_string(attr ? attr.getInt() : 0) + ".0";
  };
  CallBuilder(b, op->getLoc()).operand(context).string(kind)
      .opaque(count("bbrt.flops")).opaque(count("bbrt.bytes")).operand(start)
      .call("bbrt::profileEnd");
}

struct ConvertBbrtToEmitCPass
    : mlir::bb::impl::ConvertBbrtToEmitCBase<ConvertBbrtToEmitCPass> {
  void runOnOperation() override;

  LogicalResult convertFunction(func::FuncOp func, OpBuilder &describe,
                                Value info);
  LogicalResult convertKernel(bbrt::KernelOp kernel, OpBuilder &b,
                              llvm::function_ref<Value(Value)> tensorOf,
                              Value none, Value context);

  /// The fused bodies' functions made so far (at the module's end; they
  /// move before the entry points when all are made).
  SmallVector<Operation *> fusedBodyFns;
  /// Pipeline stages on meshes of their own: each stage mesh's index.
  llvm::StringMap<int64_t> stageOfMesh;
  /// After a weight, state or input declaration with a sharding: the stage
  /// mesh it is on (bbrt::setShardingMesh), where the module has several.
  LogicalResult declareShardingMesh(OpBuilder &describe, Value info,
                                    Operation *op,
                                    std::optional<StringRef> mesh);
};

LogicalResult ConvertBbrtToEmitCPass::declareShardingMesh(
    OpBuilder &describe, Value info, Operation *op,
    std::optional<StringRef> mesh) {
  if (stageOfMesh.empty() || !mesh)
    return success();
  auto it = stageOfMesh.find(*mesh);
  if (it == stageOfMesh.end())
    return op->emitError("bbrt-to-emitc: sharded over no stage mesh");
  CallBuilder(describe, op->getLoc()).operand(info).i64(it->second)
      .call("bbrt::setShardingMesh");
  return success();
}

LogicalResult ConvertBbrtToEmitCPass::convertKernel(
    bbrt::KernelOp kernel, OpBuilder &b,
    llvm::function_ref<Value(Value)> tensorOf, Value none, Value context) {
  CallBuilder call(b, kernel.getLoc());
  StringRef op = kernel.getOp();
  DictionaryAttr p = kernel.getParams();
  SmallVector<Value> ins;
  for (Value v : kernel.getInputs())
    ins.push_back(tensorOf(v));
  // Re-insert absent optional operands as bbrt::none().
  if (auto absent = kernel.getOptionalAbsent())
    for (int64_t pos : *absent)
      ins.insert(ins.begin() + std::min<size_t>(pos, ins.size()), none);
  Value out = tensorOf(kernel.getOutputs().front());
  auto i64 = [&](StringRef name) {
    return cast<IntegerAttr>(p.get(name)).getInt();
  };
  auto f32 = [&](StringRef name) {
    return static_cast<float>(cast<FloatAttr>(p.get(name)).getValueAsDouble());
  };
  auto f32or = [&](StringRef name, float fallback) {
    return p.get(name) ? f32(name) : fallback;
  };
  auto arr = [&](StringRef name) {
    return cast<DenseI64ArrayAttr>(p.get(name)).asArrayRef();
  };
  auto has = [&](StringRef name) { return static_cast<bool>(p.get(name)); };
  // `axis` (default -1) made non-negative against the first input's rank.
  auto normalizedAxis = [&]() {
    int64_t rank = cast<MemRefType>(kernel.getInputs()[0].getType()).getRank();
    int64_t axis = has("axis") ? i64("axis") : -1;
    return axis < 0 ? axis + rank : axis;
  };

  std::optional<StringRef> unary = llvm::StringSwitch<std::optional<StringRef>>(op)
      .Case("bb.neg", "Neg").Case("bb.abs", "Abs").Case("bb.sqrt", "Sqrt")
      .Case("bb.exp", "Exp").Case("bb.log", "Log").Case("bb.erf", "Erf")
      .Case("bb.tanh", "Tanh").Case("bb.sigmoid", "Sigmoid")
      .Case("bb.relu", "Relu").Case("bb.hard_swish", "HardSwish")
      .Case("bb.hard_sigmoid", "HardSigmoid").Case("bb.gelu", "Gelu")
      .Default(std::nullopt);
  if (unary) {
    std::string kind = unary->str();
    if (op == "bb.gelu") {
      auto approx = p.getAs<GeluApproximationAttr>("approximation");
      if (approx && approx.getValue() == GeluApproximation::tanh)
        kind = "GeluTanh";
    }
    call.opaque("bbrt::UnaryKind::" + kind).operand(ins[0]).operand(out);
    if (op == "bb.hard_sigmoid")
      call.f32(f32("alpha")).f32(f32("beta"));
    call.call("bbrt::unary");
    return success();
  }
  std::optional<StringRef> binary = llvm::StringSwitch<std::optional<StringRef>>(op)
      .Case("bb.add", "Add").Case("bb.sub", "Sub").Case("bb.mul", "Mul")
      .Case("bb.div", "Div").Case("bb.pow", "Pow").Default(std::nullopt);
  if (op == "bb.compare") {
    static const char *kinds[] = {"Eq", "Ne", "Lt", "Le", "Gt", "Ge"};
    auto pred = p.getAs<ComparePredicateAttr>("predicate").getValue();
    binary = kinds[static_cast<int>(pred)];
  }
  if (binary) {
    call.opaque("bbrt::BinaryKind::" + *binary).operand(ins[0]).operand(ins[1])
        .operand(out).call("bbrt::binary");
    return success();
  }
  if (op == "bb.select") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .call("bbrt::select");
  } else if (op == "bb.convert" || op == "bbrt.copy") {
    call.operand(ins[0]).operand(out)
        .call(op == "bb.convert" ? "bbrt::convert" : "bbrt::copy");
  } else if (op == "bb.matmul") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .boolean(has("transpose_lhs")).boolean(has("transpose_rhs"))
        .boolean(has("tf32")).call("bbrt::matmul");
  } else if (op == "bb.linear") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .boolean(has("transpose_lhs")).boolean(has("transpose_rhs"))
        .boolean(has("tf32")).call("bbrt::linear");
  } else if (op == "bb.conv") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .dims(arr("strides")).dims(arr("pads")).dims(arr("dilations"))
        .i64(has("group") ? i64("group") : 1).boolean(has("relu"))
        .call("bbrt::conv");
  } else if (op == "bb.max_pool") {
    call.operand(ins[0]).operand(out).dims(arr("kernel_shape"))
        .dims(arr("strides")).dims(arr("pads")).call("bbrt::maxPool");
  } else if (op == "bb.avg_pool") {
    call.operand(ins[0]).operand(out).dims(arr("kernel_shape"))
        .dims(arr("strides")).dims(arr("pads"))
        .boolean(has("count_include_pad")).call("bbrt::avgPool");
  } else if (op == "bb.batch_norm") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(ins[3])
        .operand(ins[4]).operand(out).f32(has("epsilon") ? f32("epsilon") : 1e-5f)
        .call("bbrt::batchNorm");
  } else if (op == "bb.layer_norm") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .i64(normalizedAxis())
        .f32(has("epsilon") ? f32("epsilon") : 1e-5f).call("bbrt::layerNorm");
  } else if (op == "bb.layer_norm_grad") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]);
    for (Value v : kernel.getOutputs())
      call.operand(tensorOf(v));
    call.i64(normalizedAxis())
        .f32(has("epsilon") ? f32("epsilon") : 1e-5f)
        .call("bbrt::layerNormGrad");
  } else if (op == "bb.softmax" || op == "bb.log_softmax") {
    call.operand(ins[0]).operand(out).i64(normalizedAxis())
        .boolean(op == "bb.log_softmax").call("bbrt::softmax");
  } else if (op == "bb.reduce_sum" || op == "bb.reduce_mean" ||
             op == "bb.reduce_max") {
    StringRef kind = op == "bb.reduce_sum" ? "Sum"
                     : op == "bb.reduce_mean" ? "Mean" : "Max";
    call.opaque("bbrt::ReduceKind::" + kind).operand(ins[0]).operand(out)
        .dims(arr("axes")).call("bbrt::reduce");
  } else if (op == "bb.gather") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .i64(has("axis") ? i64("axis") : 0).call("bbrt::gather");
  } else if (op == "bb.transpose") {
    call.operand(ins[0]).operand(out).dims(arr("permutation"))
        .call("bbrt::transpose");
  } else if (op == "bb.concat") {
    call.operand(out).i64(i64("axis"));
    for (Value v : ins)
      call.operand(v);
    call.call("bbrt::concat");
  } else if (op == "bb.slice") {
    call.operand(ins[0]).operand(out).dims(arr("starts")).dims(arr("strides"))
        .call("bbrt::slice");
  } else if (op == "bb.broadcast_to") {
    call.operand(ins[0]).operand(out).call("bbrt::broadcastTo");
  } else if (op == "bb.trilu") {
    call.operand(ins[0]).operand(out)
        .boolean(cast<BoolAttr>(p.get("upper")).getValue())
        .i64(has("k") ? i64("k") : 0).call("bbrt::trilu");
  } else if (op == "bb.scatter_add") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .i64(has("axis") ? i64("axis") : 0).call("bbrt::scatterAdd");
  } else if (op == "bb.cross_entropy") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .i64(has("ignore_index") ? i64("ignore_index") : -100)
        .call("bbrt::crossEntropy");
  } else if (op == "bb.cross_entropy_grad") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .i64(has("ignore_index") ? i64("ignore_index") : -100)
        .call("bbrt::crossEntropyGrad");
  } else if (op == "bb.attention" || op == "bb.attention_grad") {
    // Operands in the bb op's order (the mask and bias bbrt::none() when
    // absent), then the results.
    for (Value v : ins)
      call.operand(v);
    for (Value v : kernel.getOutputs())
      call.operand(tensorOf(v));
    // attention_grad without the scores' gradient (no trained bias).
    if (op == "bb.attention_grad" && kernel.getOutputs().size() == 3)
      call.operand(none);
    std::string products = "F32";
    if (auto t = p.getAs<TypeAttr>("products"))
      products = isa<FloatTF32Type>(t.getValue()) ? "TF32"
                 : t.getValue().isBF16()          ? "BF16"
                                                  : "F16";
    call.f32(f32or("scale", 1.f))
        .opaque("bbrt::Products::" + products)
        .call(op == "bb.attention" ? "bbrt::attention" : "bbrt::attentionGrad");
  } else if (op == "bb.conv_input_grad" || op == "bb.conv_weight_grad") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .dims(arr("strides")).dims(arr("pads")).dims(arr("dilations"))
        .i64(has("group") ? i64("group") : 1)
        .call(op == "bb.conv_input_grad" ? "bbrt::convInputGrad"
                                         : "bbrt::convWeightGrad");
  } else if (op == "bb.max_pool_grad") {
    call.operand(ins[0]).operand(ins[1]).operand(out)
        .dims(arr("kernel_shape")).dims(arr("strides")).dims(arr("pads"))
        .call("bbrt::maxPoolGrad");
  } else if (op == "bb.avg_pool_grad") {
    call.operand(ins[0]).operand(out).dims(arr("kernel_shape"))
        .dims(arr("strides")).dims(arr("pads"))
        .boolean(has("count_include_pad")).call("bbrt::avgPoolGrad");
  } else if (op == "bb.slice_grad") {
    call.operand(ins[0]).operand(out).dims(arr("starts")).dims(arr("strides"))
        .call("bbrt::sliceGrad");
  } else if (op.starts_with("mesh.")) {
    // Collectives over the process groups that differ along `mesh_axes`.
    SmallVector<int64_t> axes;
    if (auto a = p.getAs<DenseI16ArrayAttr>("mesh_axes"))
      axes.assign(a.asArrayRef().begin(), a.asArrayRef().end());
    auto kind = [&]() -> std::string {
      auto r = p.getAs<mesh::ReductionKindAttr>("reduction");
      mesh::ReductionKind k = r ? r.getValue() : mesh::ReductionKind::Sum;
      switch (k) {
      case mesh::ReductionKind::Sum: return "Sum";
      case mesh::ReductionKind::Max: return "Max";
      case mesh::ReductionKind::Min: return "Min";
      case mesh::ReductionKind::Average: return "Mean";
      default: return "";
      }
    }();
    auto index = [&](StringRef name) {
      return cast<IntegerAttr>(p.get(name)).getInt();
    };
    call.operand(context).operand(ins[0]).operand(out);
    if (op == "mesh.all_reduce") {
      if (kind.empty())
        return kernel.emitError("bbrt-to-emitc: unsupported reduction");
      call.opaque("bbrt::ReduceKind::" + kind).dims(axes).call("bbrt::allReduce");
    } else if (op == "mesh.all_gather") {
      call.i64(index("gather_axis")).dims(axes).call("bbrt::allGather");
    } else if (op == "mesh.reduce_scatter") {
      if (kind.empty())
        return kernel.emitError("bbrt-to-emitc: unsupported reduction");
      call.i64(index("scatter_axis")).opaque("bbrt::ReduceKind::" + kind)
          .dims(axes).call("bbrt::reduceScatter");
    } else if (op == "mesh.all_to_all") {
      call.i64(index("split_axis")).i64(index("concat_axis")).dims(axes)
          .call("bbrt::allToAll");
    } else {
      return kernel.emitError("bbrt-to-emitc: no runtime call for ") << op;
    }
  } else if (op == "bb.shard_slice") {
    call.operand(context).operand(ins[0]).operand(out)
        .string(sharding::splitAxesText(p.getAs<mesh::MeshShardingAttr>("sharding")))
        .call("bbrt::shardSlice");
  } else if (op == "bb.sgd_update") {
    SmallVector<Value> outs;
    for (Value v : kernel.getOutputs())
      outs.push_back(tensorOf(v));
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(ins[3])
        .operand(ins[4]).operand(outs[0]).operand(outs[1])
        .f32(f32or("momentum", 0.f)).f32(f32or("weight_decay", 0.f))
        .boolean(has("nesterov")).call("bbrt::sgdUpdate");
  } else if (op == "bb.adamw_update") {
    SmallVector<Value> outs;
    for (Value v : kernel.getOutputs())
      outs.push_back(tensorOf(v));
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(ins[3])
        .operand(ins[4]).operand(ins[5]).operand(ins[6]).operand(outs[0])
        .operand(outs[1]).operand(outs[2]).f32(f32or("beta1", 0.9f))
        .f32(f32or("beta2", 0.999f)).f32(f32or("epsilon", 1e-8f))
        .f32(f32or("weight_decay", 0.f)).call("bbrt::adamwUpdate");
  } else {
    return kernel.emitError("bbrt-to-emitc: no runtime kernel for ") << op;
  }
  return success();
}

/// "bb_" and the symbol, with anything that is not a C identifier
/// character replaced.
std::string entryName(StringRef symbol) {
  std::string name = "bb_";
  for (char c : symbol)
    name += llvm::isAlnum(c) ? c : '_';
  return name;
}

void ConvertBbrtToEmitCPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> funcs;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func->hasAttr("bbrt.arena_size")) {
      func.emitError("bbrt-to-emitc: needs planned functions (run "
                     "bb-bufferize and bbrt-plan-memory first)");
      return signalPassFailure();
    }
    funcs.push_back(func);
  }
  if (funcs.empty()) {
    module.emitError("bbrt-to-emitc: the module has no function");
    return signalPassFailure();
  }
  MLIRContext *ctx = &getContext();
  OpBuilder b(ctx);
  Location loc = module.getLoc();
  auto opaque = [&](StringRef t) { return emitc::OpaqueType::get(ctx, t); };
  auto ptr = [&](Type t) { return emitc::PointerType::get(t); };

  b.setInsertionPointToStart(module.getBody());
  b.create<emitc::IncludeOp>(loc, "bbrt/bbrt.h", /*is_standard_include=*/false);
  bool anyFused = false;
  module.walk([&](Operation *op) {
    anyFused |= isa<bbrt::FusedElementwiseOp, bbrt::FusedReduceOp>(op);
  });
  if (anyFused)
    b.create<emitc::IncludeOp>(loc, "bbrt/fused.h", /*is_standard_include=*/false);
  fusedBodyFns.clear();

  // bb_describe comes last, after the entry points it refers to.
  b.setInsertionPointToEnd(module.getBody());
  auto describe = b.create<emitc::FuncOp>(
      loc, "bb_describe",
      b.getFunctionType({ptr(opaque("bbrt::ModelInfo"))}, {}));
  Block *db = describe.addEntryBlock();
  Value info = db->getArgument(0);
  OpBuilder d = OpBuilder::atBlockEnd(db);
  auto source = module->getAttrOfType<StringAttr>("bb.source");
  CallBuilder(d, loc).operand(info).string(source ? source.getValue() : "model")
      .call("bbrt::setModelName");

  // A sharded program's mesh; processes map onto it row-major. Pipeline
  // stages on meshes of their own (@stage0, @stage1, ...): a world of one
  // axis, then each stage's mesh on the ranks after the earlier stages'.
  SmallVector<mesh::MeshOp> meshes(module.getOps<mesh::MeshOp>());
  stageOfMesh.clear();
  if (meshes.size() > 1) {
    SmallVector<mesh::MeshOp> stages;
    int64_t world = 0;
    for (size_t s = 0; s < meshes.size(); ++s) {
      auto m = module.lookupSymbol<mesh::MeshOp>("stage" + std::to_string(s));
      if (!m) {
        meshes[s].emitError("bbrt-to-emitc: a program runs on one mesh, or "
                            "on one per pipeline stage named @stage<s>");
        return signalPassFailure();
      }
      stages.push_back(m);
      stageOfMesh[m.getSymName()] = static_cast<int64_t>(s);
      world += sharding::meshDevices(m.getShape());
    }
    CallBuilder(d, loc).operand(info).dims(ArrayRef<int64_t>{world}).call("bbrt::setMesh");
    for (mesh::MeshOp m : stages)
      CallBuilder(d, loc).operand(info).dims(m.getShape())
          .call("bbrt::addStageMesh");
  } else if (!meshes.empty()) {
    CallBuilder(d, loc).operand(info).dims(meshes[0].getShape())
        .call("bbrt::setMesh");
  }
  for (mesh::MeshOp m : meshes)
    m.erase();

  // Module-wide: weights and state, declared in index order.
  std::map<int64_t, bbrt::WeightOp> weights;
  std::map<int64_t, bbrt::StateOp> states;
  module.walk([&](bbrt::WeightOp w) { weights.try_emplace(w.getIndex(), w); });
  module.walk([&](bbrt::StateOp s) { states.try_emplace(s.getIndex(), s); });
  auto checkDtype = [&](Operation *op, Type t) {
    if (!dtypeOf(cast<MemRefType>(t).getElementType()).empty())
      return true;
    op->emitError("bbrt-to-emitc: unsupported element type");
    return false;
  };
  int64_t expected = 0;
  for (auto [i, w] : weights) {
    if (i != expected++) {
      w.emitError("bbrt-to-emitc: weight indices are not dense");
      return signalPassFailure();
    }
    if (!checkDtype(w, w.getType()))
      return signalPassFailure();
    auto type = cast<MemRefType>(w.getType());
    CallBuilder(d, w.getLoc()).operand(info).string(w.getName())
        .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
        .call("bbrt::addWeight");
    if (auto sharding = w.getSharding()) {
      CallBuilder(d, w.getLoc()).operand(info).string(*sharding)
          .call("bbrt::setSharding");
      if (failed(declareShardingMesh(d, info, w, w.getMesh())))
        return signalPassFailure();
    }
  }
  expected = 0;
  for (auto [i, s] : states) {
    if (i != expected++) {
      s.emitError("bbrt-to-emitc: state indices are not dense");
      return signalPassFailure();
    }
    if (!checkDtype(s, s.getType()))
      return signalPassFailure();
    auto type = cast<MemRefType>(s.getType());
    CallBuilder(d, s.getLoc()).operand(info).string(s.getName())
        .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
        .boolean(static_cast<bool>(s.getInit())).call("bbrt::addState");
    if (auto sharding = s.getSharding()) {
      CallBuilder(d, s.getLoc()).operand(info).string(*sharding)
          .call("bbrt::setSharding");
      if (failed(declareShardingMesh(d, info, s, s.getMesh())))
        return signalPassFailure();
    }
  }

  for (func::FuncOp func : funcs)
    if (failed(convertFunction(func, d, info)))
      return signalPassFailure();
  // The fused bodies' functions come first, after the includes.
  Operation *first = nullptr;
  for (Operation &op : *module.getBody())
    if (!isa<emitc::IncludeOp>(op)) {
      first = &op;
      break;
    }
  for (Operation *fn : fusedBodyFns)
    if (fn != first)
      fn->moveBefore(first);

  if (auto attrs = module->getAttrOfType<DictionaryAttr>("bb.attributes"))
    for (NamedAttribute a : attrs)
      if (auto value = dyn_cast<StringAttr>(a.getValue()))
        CallBuilder(d, loc).operand(info).string(a.getName().getValue())
            .string(value.getValue()).call("bbrt::setAttribute");
  d.create<emitc::ReturnOp>(loc, Value());
  for (func::FuncOp func : funcs)
    func.erase();
}

LogicalResult ConvertBbrtToEmitCPass::convertFunction(func::FuncOp func,
                                                      OpBuilder &d,
                                                      Value info) {
  MLIRContext *ctx = &getContext();
  Location loc = func.getLoc();
  auto opaque = [&](StringRef t) { return emitc::OpaqueType::get(ctx, t); };
  auto ptr = [&](Type t) { return emitc::PointerType::get(t); };
  Type tensorTy = opaque("bbrt::Tensor");
  Type voidPtr = ptr(opaque("void"));
  Type constVoidPtr = ptr(opaque("const void"));

  std::string name = entryName(func.getSymName());
  OpBuilder b(func);
  auto entry = b.create<emitc::FuncOp>(
      loc, name, b.getFunctionType({ptr(opaque("bbrt::Context"))}, {}));
  Block *fb = entry.addEntryBlock();
  Value context = fb->getArgument(0);
  OpBuilder f = OpBuilder::atBlockEnd(fb);
  CallBuilder(d, loc).operand(info).string(func.getSymName()).opaque(name)
      .call("bbrt::addFunction");

  Value none = CallBuilder(f, loc).call("bbrt::none", tensorTy);
  llvm::DenseMap<Value, Value> pointers, tensors;
  auto tensorOf = [&](Value buffer) -> Value {
    if (Value t = tensors.lookup(buffer))
      return t;
    auto type = cast<MemRefType>(buffer.getType());
    Value t = CallBuilder(f, buffer.getLoc())
                  .operand(pointers.lookup(buffer))
                  .opaque(dtypeOf(type.getElementType()))
                  .dims(type.getShape())
                  .call("bbrt::Tensor", tensorTy);
    tensors[buffer] = t;
    return t;
  };
  auto roleOf = [](StringAttr role) {
    return role ? role.getValue() : StringRef();
  };
  // An output's buffer is reached through bbrt::outputBuffer, which a
  // driver may bind elsewhere (a pipeline's stash slots, gradients).
  llvm::DenseMap<Value, int64_t> outputOf;
  for (auto output : func.getBody().front().getOps<bbrt::OutputOp>())
    outputOf[bbrt::rootBuffer(output.getBuffer())] = output.getIndex();

  for (Operation &op : func.getBody().front()) {
    Location l = op.getLoc();
    if (!llvm::all_of(op.getResultTypes(), [&](Type t) {
          auto m = dyn_cast<MemRefType>(t);
          return !m || !dtypeOf(m.getElementType()).empty();
        }))
      return op.emitError("bbrt-to-emitc: unsupported element type");
    if (auto arena = dyn_cast<bbrt::ArenaOp>(op)) {
      auto output = outputOf.find(arena.getBuffer());
      pointers[arena.getBuffer()] =
          output == outputOf.end()
              ? CallBuilder(f, l).operand(context).i64(arena.getOffset())
                    .call("bbrt::arena", voidPtr)
              : CallBuilder(f, l).operand(context).i64(output->second)
                    .i64(arena.getOffset())
                    .call("bbrt::outputBuffer", voidPtr);
    } else if (auto bound = dyn_cast<bbrt::BoundOutputOp>(op)) {
      pointers[bound.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(bound.getIndex()).i64(-1)
          .call("bbrt::outputBuffer", voidPtr);
    } else if (auto input = dyn_cast<bbrt::InputOp>(op)) {
      if (!input.getOffset())
        return input.emitError("bbrt-to-emitc: input has no planned offset");
      auto type = cast<MemRefType>(input.getType());
      CallBuilder(d, l).operand(info).string(input.getName())
          .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
          .i64(input.getOffsetAttr().getInt())
          .string(roleOf(input.getRoleAttr()))
          .call("bbrt::addInput");
      if (auto sharding = input.getSharding()) {
        CallBuilder(d, l).operand(info).string(*sharding)
            .call("bbrt::setSharding");
        if (failed(declareShardingMesh(d, info, input, input.getMesh())))
          return failure();
      }
      pointers[input.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(input.getIndex()).i64(input.getOffsetAttr().getInt())
          .call("bbrt::inputBuffer", voidPtr);
    } else if (auto weight = dyn_cast<bbrt::WeightOp>(op)) {
      pointers[weight.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(weight.getIndex()).call("bbrt::weight", constVoidPtr);
    } else if (auto state = dyn_cast<bbrt::StateOp>(op)) {
      pointers[state.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(state.getIndex()).call("bbrt::state", voidPtr);
    } else if (auto view = dyn_cast<bbrt::ViewOp>(op)) {
      pointers[view.getResult()] = pointers.lookup(view.getSource());
    } else if (auto output = dyn_cast<bbrt::OutputOp>(op)) {
      auto type = cast<MemRefType>(output.getBuffer().getType());
      Value root = bbrt::rootBuffer(output.getBuffer());
      auto arena = root.getDefiningOp<bbrt::ArenaOp>();
      auto bound = root.getDefiningOp<bbrt::BoundOutputOp>();
      if (!arena && !(bound && bound.getIndex() == output.getIndex()))
        return output.emitError("bbrt-to-emitc: output is not an arena buffer");
      CallBuilder(d, l).operand(info).string(output.getName())
          .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
          .i64(arena ? arena.getOffset() : -1)
          .string(roleOf(output.getRoleAttr()))
          .call("bbrt::addOutput");
    } else if (auto kernel = dyn_cast<bbrt::KernelOp>(op)) {
      Value start = profileStart(f, l, context);
      if (failed(convertKernel(kernel, f, tensorOf, none, context)))
        return failure();
      profileEnd(f, &op, kernel.getOp(), context, start);
    } else if (isa<bbrt::FusedElementwiseOp, bbrt::FusedReduceOp>(op)) {
      Value start = profileStart(f, l, context);
      auto reduce = dyn_cast<bbrt::FusedReduceOp>(op);
      auto elementwise = dyn_cast<bbrt::FusedElementwiseOp>(op);
      ValueRange inputs = reduce ? reduce.getInputs() : elementwise.getInputs();
      Value output = reduce ? reduce.getOutput() : elementwise.getOutput();
      std::string body = "bb_fused" + std::to_string(fusedBodyFns.size());
      FailureOr<emitc::FuncOp> fn = emitFusedBody(
          &op, inputs, output, op.getRegion(0), body);
      if (failed(fn))
        return failure();
      fusedBodyFns.push_back(*fn);
      CallBuilder call(f, l);
      call.operand(tensorOf(output));
      if (reduce) {
        // The iteration shape (the inputs' broadcast), the summed axes.
        SmallVector<int64_t> shape;
        for (Value input : inputs) {
          SmallVector<int64_t> joined;
          OpTrait::util::getBroadcastedShape(
              shape, cast<MemRefType>(input.getType()).getShape(), joined);
          shape = joined;
        }
        call.dims(shape).dims(reduce.getAxes()).boolean(reduce.getMean());
      }
      for (Value input : inputs)
        call.operand(tensorOf(input));
      call.templateArg(body).call(reduce ? "bbrt::fusedReduce"
                                         : "bbrt::fusedElementwise");
      profileEnd(f, &op, reduce ? "bb.fused_reduce" : "bb.fused_elementwise",
                 context, start);
    } else if (!isa<func::ReturnOp>(op)) {
      return op.emitError("bbrt-to-emitc: unexpected op");
    }
  }
  CallBuilder(d, loc).operand(info)
      .i64(func->getAttrOfType<IntegerAttr>("bbrt.arena_size").getInt())
      .call("bbrt::setArenaSize");
  f.create<emitc::ReturnOp>(loc, Value());
  return success();
}
} // namespace
