//===- passes.td - reverse-mode differentiation of bb ------*- tablegen -*-===//
#ifndef BB_PASSES_AUTODIFF_PASSES_TD
#define BB_PASSES_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

def Autodiff : Pass<"bb-autodiff", "ModuleOp"> {
  let summary = "Append a loss and its reverse-mode gradients to @forward";
  let description = [{
    Extends `func.func @forward` with a labels argument, a loss on one of its
    outputs and the gradient of that loss with respect to every trainable
    parameter. The function then returns the loss followed by one gradient per
    parameter (result names `loss` and `grad:<parameter name>`).

    Trainable parameters are the float constants that came from ONNX
    initializers (they carry `bb.name`), except those whose name matches
    `freeze` (a regular expression). Gradients are built in reverse program
    order from each op's `bb::AutodiffOpInterface`, only for values that
    depend on a parameter (dead gradients are never built) and summed where a
    value has several users.

    Losses: `cross_entropy` (labels are class indices of the logits' shape
    without the last dimension; positions equal to `ignore-index` do not
    count) and `mse` (labels have the output's shape; mean squared error).
  }];
  let options = [
    Option<"loss", "loss", "std::string", "\"cross_entropy\"",
           "cross_entropy or mse">,
    Option<"labels", "labels", "std::string", "\"labels\"",
           "Name of the labels input that the pass adds">,
    Option<"output", "output", "int64_t", "0",
           "Which result of @forward the loss is computed on">,
    Option<"ignoreIndex", "ignore-index", "int64_t", "-100",
           "cross_entropy: label value that does not count">,
    Option<"freeze", "freeze", "std::string", "\"\"",
           "Regular expression: matching parameters are not trained">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

#endif // BB_PASSES_AUTODIFF_PASSES_TD
