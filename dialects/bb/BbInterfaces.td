//===- BbInterfaces.td - op interfaces of the bb dialect ---*- tablegen -*-===//
#ifndef BB_INTERFACES_TD
#define BB_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Bb_CostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::mlir::bb";
  let description = [{
    What executing the op costs, independent of any device: floating-point
    operations (a multiply-add counts as 2) and bytes read and written at
    tensor level (each operand read once, each result written once). The cost
    model turns these into time with a roofline per device kind.

    The defaults describe an elementwise op: one FLOP per result element, every
    operand read and every result written once.
  }];
  let methods = [
    InterfaceMethod<"Floating-point operations performed by the op.",
      "int64_t", "getFlops", (ins), "",
      [{ return ::mlir::bb::detail::defaultFlops($_op); }]>,
    InterfaceMethod<"Bytes the op reads from its operands.",
      "int64_t", "getBytesRead", (ins), "",
      [{ return ::mlir::bb::detail::defaultBytesRead($_op); }]>,
    InterfaceMethod<"Bytes the op writes to its results.",
      "int64_t", "getBytesWritten", (ins), "",
      [{ return ::mlir::bb::detail::defaultBytesWritten($_op); }]>,
    InterfaceMethod<[{Whether the op's results overwrite operands it reads
      (bufferization gives them the operands' buffers): its traffic runs at
      the device's in-place bandwidth, which on a CPU is higher, since the
      lines written were just read.}],
      "bool", "updatesInPlace", (ins), "",
      [{ return false; }]>,
  ];
}

def Bb_AutodiffOpInterface : OpInterface<"AutodiffOpInterface"> {
  let cppNamespace = "::mlir::bb";
  let description = [{
    Reverse-mode differentiation of one op: given the gradient of the loss
    with respect to each result (`resultGrads`, null when a result does not
    reach the loss), build `bb` ops at the builder's insertion point that
    compute the gradient with respect to each operand whose `needed` flag is
    set (null for the others, and for operands that are not differentiable,
    such as integer indices). Vector-Jacobian products are written in `bb`
    ops only, so the whole training step stays one `bb` function that later
    passes (sharding, bufferization) see whole.
  }];
  let methods = [
    InterfaceMethod<"Builds the operand gradients.",
      "::llvm::LogicalResult", "buildVjp",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // BB_INTERFACES_TD
