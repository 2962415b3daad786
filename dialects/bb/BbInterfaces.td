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
  ];
}

#endif // BB_INTERFACES_TD
