//===- passes.td - from bb to runtime calls ----------------*- tablegen -*-===//
#ifndef BB_PASSES_LOWERING_PASSES_TD
#define BB_PASSES_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def BufferizeToBbrt : Pass<"bb-bufferize", "ModuleOp"> {
  let summary = "Bufferize every function into runtime kernel calls on buffers";
  let description = [{
    Rewrites each `func.func` of the module, an entry point of the program
    (`@forward`, or `@train_step` and `@eval_step`), from tensors in and out
    into a function without arguments or results whose body works on buffers:
    graph inputs become `bbrt.input` (keeping their `bb.role`), arguments
    marked `bb.state` become `bbrt.state` (numbered by name across the
    module, initial value from `bb.init`), constants `bbrt.weight` (numbered
    by value across the module), every other bb
    op a `memref.alloc` per result and a `bbrt.kernel` that writes it;
    `bb.reshape` becomes a `bbrt.view` (no copy), and each returned value a
    `bbrt.output` (copied into a buffer of its own when it is an input, a
    weight, a view of one, or a buffer another output already has; a view
    of a buffer computed here, such as a weight gradient of a batched
    product reshaped to the weight's shape, is output as that view). A result marked `bb.updates = k`
    is the new value of state argument `k`: the op that computes it writes
    straight into the state buffer when it is the last user of the old value
    (optimizer updates are), otherwise it is copied there at the end. bb ops
    have value semantics and no regions, so every other result gets a fresh
    buffer; reuse is the memory planner's job.
  }];
  let dependentDialects = ["::mlir::bbrt::BbrtDialect",
                           "::mlir::memref::MemRefDialect"];
}

def PlanMemory : Pass<"bbrt-plan-memory", "func::FuncOp"> {
  let summary = "Place every buffer in one arena, reusing bytes by liveness";
  let description = [{
    Computes each buffer's live range over the straight-line body (a view
    extends its source's range; inputs live from the start, outputs to the
    end) and assigns offsets greedily, largest buffer first, at the lowest
    64-byte-aligned offset that overlaps no placed buffer with an overlapping
    live range. `memref.alloc`s become `bbrt.arena` ops and inputs get their
    offset. What the pipeline driver always binds gets no place: stashes
    (inputs and outputs with role `stash`, bound to a micro-batch's slot),
    gradient inputs (role `grad`, bound to the accumulators), and a
    backward's accumulators (role `accumulator`, bb-accumulate-gradients)
    and the gradients it returns into them: such inputs get offset -1, such
    outputs' buffers become `bbrt.bound_output`. The function gets `bbrt.arena_size` (bytes) and
    `bbrt.unplanned_size` (the sum of the planned buffers, for comparison).
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Alignment of every buffer's offset, in bytes">,
  ];
}

def ConvertBbrtToEmitC : Pass<"bbrt-to-emitc", "ModuleOp"> {
  let summary = "Turn the planned bbrt functions into EmitC runtime calls";
  let description = [{
    Replaces each planned function `@NAME` with an `emitc.func`
    `bb_NAME(bbrt::Context*)` that makes a `bbrt::Tensor` for each buffer and
    calls one runtime kernel per `bbrt.kernel`, and adds
    `bb_describe(bbrt::ModelInfo*)`, which declares the weights and state,
    then each entry point with its inputs and outputs (name, dtype, shape,
    arena offset, role) and arena size, and the module's `bb.attributes`
    (string pairs such as the training hyperparameters). MLIR's C++ emitter
    prints the result (see runtime/include/bbrt/bbrt.h).
  }];
  let dependentDialects = ["::mlir::emitc::EmitCDialect"];
}

#endif // BB_PASSES_LOWERING_PASSES_TD
