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
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSwitch.h"

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
  Value call(StringRef callee, Type result = {}) {
    SmallVector<Type> results;
    if (result)
      results.push_back(result);
    auto op = b.create<emitc::CallOpaqueOp>(loc, results, callee, operands,
                                            b.getArrayAttr(args));
    return result ? op.getResult(0) : Value();
  }

private:
  OpBuilder &b;
  Location loc;
  SmallVector<Attribute> args;
  SmallVector<Value> operands;
};

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

struct ConvertBbrtToEmitCPass
    : mlir::bb::impl::ConvertBbrtToEmitCBase<ConvertBbrtToEmitCPass> {
  void runOnOperation() override;

  LogicalResult convertKernel(bbrt::KernelOp kernel, OpBuilder &b,
                              llvm::function_ref<Value(Value)> tensorOf,
                              Value none);
};

LogicalResult ConvertBbrtToEmitCPass::convertKernel(
    bbrt::KernelOp kernel, OpBuilder &b,
    llvm::function_ref<Value(Value)> tensorOf, Value none) {
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
  auto arr = [&](StringRef name) {
    return cast<DenseI64ArrayAttr>(p.get(name)).asArrayRef();
  };
  auto has = [&](StringRef name) { return static_cast<bool>(p.get(name)); };

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
        .call("bbrt::matmul");
  } else if (op == "bb.conv") {
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .dims(arr("strides")).dims(arr("pads")).dims(arr("dilations"))
        .i64(has("group") ? i64("group") : 1).call("bbrt::conv");
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
    int64_t rank = cast<MemRefType>(kernel.getInputs()[0].getType()).getRank();
    int64_t axis = has("axis") ? i64("axis") : -1;
    call.operand(ins[0]).operand(ins[1]).operand(ins[2]).operand(out)
        .i64(axis < 0 ? axis + rank : axis)
        .f32(has("epsilon") ? f32("epsilon") : 1e-5f).call("bbrt::layerNorm");
  } else if (op == "bb.softmax" || op == "bb.log_softmax") {
    int64_t rank = cast<MemRefType>(kernel.getInputs()[0].getType()).getRank();
    int64_t axis = has("axis") ? i64("axis") : -1;
    call.operand(ins[0]).operand(out).i64(axis < 0 ? axis + rank : axis)
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
  } else {
    return kernel.emitError("bbrt-to-emitc: no runtime kernel for ") << op;
  }
  return success();
}

void ConvertBbrtToEmitCPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto func = module.lookupSymbol<func::FuncOp>("forward");
  if (!func || !func->hasAttr("bbrt.arena_size")) {
    module.emitError("bbrt-to-emitc: needs a planned @forward (run "
                     "bb-bufferize and bbrt-plan-memory first)");
    return signalPassFailure();
  }
  MLIRContext *ctx = &getContext();
  OpBuilder b(ctx);
  Location loc = func.getLoc();
  auto opaque = [&](StringRef t) { return emitc::OpaqueType::get(ctx, t); };
  auto ptr = [&](Type t) { return emitc::PointerType::get(t); };
  Type tensorTy = opaque("bbrt::Tensor");

  b.setInsertionPoint(func);
  b.create<emitc::IncludeOp>(loc, "bbrt/bbrt.h", /*is_standard_include=*/false);

  // bb_describe: what the runtime needs to know before running.
  auto describe = b.create<emitc::FuncOp>(
      loc, "bb_describe",
      b.getFunctionType({ptr(opaque("bbrt::ModelInfo"))}, {}));
  Block *db = describe.addEntryBlock();
  // bb_forward: the kernel calls.
  auto forward = b.create<emitc::FuncOp>(
      loc, "bb_forward", b.getFunctionType({ptr(opaque("bbrt::Context"))}, {}));
  Block *fb = forward.addEntryBlock();
  Value info = db->getArgument(0), context = fb->getArgument(0);

  OpBuilder d = OpBuilder::atBlockEnd(db), f = OpBuilder::atBlockEnd(fb);
  auto source = module->getAttrOfType<StringAttr>("bb.source");
  CallBuilder(d, loc).operand(info).string(source ? source.getValue() : "model")
      .call("bbrt::setModelName");

  Value none = CallBuilder(f, loc).call("bbrt::none", tensorTy);
  llvm::DenseMap<Value, Value> pointers, tensors;
  auto shapeOf = [](Value v) {
    return cast<MemRefType>(v.getType()).getShape();
  };
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

  Type voidPtr = ptr(opaque("void"));
  Type constVoidPtr = ptr(opaque("const void"));
  for (Operation &op : func.getBody().front()) {
    Location l = op.getLoc();
    if (!llvm::all_of(op.getResultTypes(), [&](Type t) {
          auto m = dyn_cast<MemRefType>(t);
          return !m || !dtypeOf(m.getElementType()).empty();
        })) {
      op.emitError("bbrt-to-emitc: unsupported element type");
      return signalPassFailure();
    }
    if (auto arena = dyn_cast<bbrt::ArenaOp>(op)) {
      pointers[arena.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(arena.getOffset()).call("bbrt::arena", voidPtr);
    } else if (auto input = dyn_cast<bbrt::InputOp>(op)) {
      if (!input.getOffset()) {
        input.emitError("bbrt-to-emitc: input has no planned offset");
        return signalPassFailure();
      }
      auto type = cast<MemRefType>(input.getType());
      CallBuilder(d, l).operand(info).string(input.getName())
          .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
          .i64(*input.getOffset()).call("bbrt::addInput");
      pointers[input.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(*input.getOffset()).call("bbrt::arena", voidPtr);
    } else if (auto weight = dyn_cast<bbrt::WeightOp>(op)) {
      auto type = cast<MemRefType>(weight.getType());
      CallBuilder(d, l).operand(info).string(weight.getName())
          .opaque(dtypeOf(type.getElementType())).dims(type.getShape())
          .call("bbrt::addWeight");
      pointers[weight.getBuffer()] = CallBuilder(f, l).operand(context)
          .i64(weight.getIndex()).call("bbrt::weight", constVoidPtr);
    } else if (auto view = dyn_cast<bbrt::ViewOp>(op)) {
      pointers[view.getResult()] = pointers.lookup(view.getSource());
    } else if (auto output = dyn_cast<bbrt::OutputOp>(op)) {
      auto type = cast<MemRefType>(output.getBuffer().getType());
      auto arena = output.getBuffer().getDefiningOp<bbrt::ArenaOp>();
      if (!arena) {
        output.emitError("bbrt-to-emitc: output is not an arena buffer");
        return signalPassFailure();
      }
      CallBuilder(d, l).operand(info).string(output.getName())
          .opaque(dtypeOf(type.getElementType())).dims(shapeOf(output.getBuffer()))
          .i64(arena.getOffset()).call("bbrt::addOutput");
    } else if (auto kernel = dyn_cast<bbrt::KernelOp>(op)) {
      if (failed(convertKernel(kernel, f, tensorOf, none)))
        return signalPassFailure();
    } else if (isa<func::ReturnOp>(op)) {
      continue;
    } else {
      op.emitError("bbrt-to-emitc: unexpected op");
      return signalPassFailure();
    }
  }
  CallBuilder(d, loc).operand(info)
      .i64(func->getAttrOfType<IntegerAttr>("bbrt.arena_size").getInt())
      .call("bbrt::setArenaSize");
  d.create<emitc::ReturnOp>(loc, Value());
  f.create<emitc::ReturnOp>(loc, Value());
  func.erase();
}
} // namespace
