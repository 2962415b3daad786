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

def TrainStep : Pass<"bb-train-step", "ModuleOp"> {
  let summary = "Turn a gradient program into @train_step and @eval_step";
  let description = [{
    Runs after `bb-autodiff`, on its `@forward` (the loss, then one gradient
    per parameter). Every parameter that has a gradient becomes an argument
    of the function (`bb.state = "param"`, its initial value in `bb.init`),
    and so does its optimizer state (`bb.state = "optimizer"`, zeros
    initially; SGD keeps `<name>#momentum`, AdamW `<name>#exp_avg` and
    `<name>#exp_avg_sq`). The gradients feed one `bb.sgd_update` or
    `bb.adamw_update` per parameter, whose new values the function returns
    (result attribute `bb.updates` = the argument they replace), after the
    loss and the global gradient norm. The learning rate and, for AdamW, the
    step number are scalar arguments (`bb.role` = `lr`, `step`), so the
    schedule lives in the training driver.

    With `grad-clip` > 0 every gradient is scaled by
    `min(1, grad-clip / (norm + 1e-6))` before the update, as
    `torch.nn.utils.clip_grad_norm_` does.

    With `loss-scale` > 0 (dynamic loss scaling, for f16 products) the
    backward pass starts from the scale `S` instead of 1 (bb-autodiff's seed,
    marked `bb.loss_seed`), so every gradient is S times the true one and
    small ones survive f16. The reported norm is the scaled norm / S; the
    updates take `grad_scale` = clip factor / S, or NaN when the scaled norm
    is not finite, which skips every update of the step. The scaler is
    state (`bb.state = "scalar"`): `loss_scaler#scale` (initially `loss-scale`)
    halves after such a step and doubles after `loss-scale-window` good
    steps in a row (`loss_scaler#good_steps` counts them), as PyTorch's
    GradScaler does; AdamW's step number is the state `adamw#step`, which
    a skipped step does not advance, instead of the `step` argument. The
    function returns the scale the step used last (`bb.role = "loss_scale"`).

    The result is one `bb` function holding forward, loss, backward and the
    update, `@train_step`, plus `@eval_step`: the same forward and loss on
    the same parameters without backward or update. Parameters whose
    gradient is identically zero (buffers such as an attention mask, reached
    only through comparisons) stay constants and are not trained.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", "\"adamw\"",
           "sgd or adamw">,
    Option<"momentum", "momentum", "double", "0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", "false", "SGD: Nesterov momentum">,
    Option<"beta1", "beta1", "double", "0.9", "AdamW: first moment decay">,
    Option<"beta2", "beta2", "double", "0.999", "AdamW: second moment decay">,
    Option<"epsilon", "epsilon", "double", "1e-8", "AdamW: denominator term">,
    Option<"weightDecay", "weight-decay", "double", "0.0",
           "Decoupled (AdamW) or L2 (SGD) weight decay">,
    Option<"gradClip", "grad-clip", "double", "0.0",
           "Clip the global gradient norm to this value (0: no clipping)">,
    Option<"lossScale", "loss-scale", "double", "0.0",
           "Dynamic loss scaling from this initial scale (0: none)">,
    Option<"lossScaleWindow", "loss-scale-window", "int64_t", "2000",
           "Good steps in a row after which the loss scale doubles">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

def Recompute : Pass<"bb-recompute", "ModuleOp"> {
  let summary = "Recompute each block's forward activations before its backward";
  let description = [{
    Runs on the `@train_step` that `bb-train-step` builds, before sharding.
    Megatron's full per-layer activation recomputation: the forward values
    that a block's gradient ops read are no longer kept alive from the
    forward pass; instead the block's forward ops are cloned just before the
    block's first gradient op, and its gradient ops read the copies. Only
    the block's inputs (the activations it reads from outside the block)
    stay alive between the forward and the backward pass. The step computes
    the same values; it costs one more forward pass of every block.

    Forward ops are those the loss depends on. Blocks are the ONNX
    node-name paths up to the first component with a layer number
    (`/transformer/h.3/...` is block `transformer/h.3`), the blocks the
    pipeline cut uses; `bb-autodiff` gives each gradient op the location
    of the op it differentiates, so it belongs to that op's block. Ops
    outside any block (embeddings, the final norm, the loss) are not
    recomputed, and neither are a block's ops on parameters and constants
    alone (no activation).

    The copies read the block's inputs through `bb.recompute_barrier`, so
    that no later CSE or canonicalization merges them into the originals,
    and carry the unit attribute `bb.recomputed` (bb-auto-shard counts
    their time but leaves their FLOPs out of the model FLOPs behind MFU).

    With `blocks=cut` the blocks are those of the pipeline cut
    (passes/pipeline/StageCut.h): layers, and the parts of layers where no
    more bytes cross than at the layer's start (a transformer layer's MLP
    half), so a layer split over two pipeline stages is recomputed on each
    from its own half's input. The step then keeps each half's input
    instead of each layer's; `@train_step` gets the unit attribute
    `bb.recomputed_blocks`, which lets the cut start stages at halves.

    Errors: no `@train_step`; no result with `bb.role = "loss"`; no blocks
    (no node name with a layer number).
  }];
  let options = [
    Option<"blocks", "blocks", "std::string", "\"layers\"",
           "what is recomputed as one: layers, or the blocks of the pipeline cut (cut)">,
  ];
  let dependentDialects = ["::mlir::bb::BbDialect"];
}

#endif // BB_PASSES_AUTODIFF_PASSES_TD
