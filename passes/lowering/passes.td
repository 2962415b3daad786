//===- passes.td - from bb to runtime calls ----------------*- tablegen -*-===//
#ifndef BB_PASSES_LOWERING_PASSES_TD
#define BB_PASSES_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def BufferizeToBbrt : Pass<"bb-bufferize", "ModuleOp"> {
  let summary = "Bufferize @forward into runtime kernel calls on buffers";
  let description = [{
    Rewrites `func.func @forward` (tensors in, tensors out) into a function
    without arguments or results whose body works on buffers:
    graph inputs become `bbrt.input`, constants `bbrt.weight`, every other bb
    op a `memref.alloc` per result and a `bbrt.kernel` that writes it;
    `bb.reshape` becomes a `bbrt.view` (no copy), and each returned value a
    `bbrt.output` (copied into a buffer of its own when it is an input, a
    weight, a view, or returned twice). bb ops have value semantics and no
    regions, so every result gets a fresh buffer; reuse is the memory
    planner's job.
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
    offset. The function gets `bbrt.arena_size` (bytes) and
    `bbrt.unplanned_size` (the sum of all buffers, for comparison).
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Alignment of every buffer's offset, in bytes">,
  ];
}

def ConvertBbrtToEmitC : Pass<"bbrt-to-emitc", "ModuleOp"> {
  let summary = "Turn the planned bbrt function into EmitC runtime calls";
  let description = [{
    Replaces `@forward` with two `emitc.func`s that MLIR's C++ emitter prints:
    `bb_describe(bbrt::ModelInfo*)` declares the inputs, outputs (name, dtype,
    shape, arena offset), weights and arena size; `bb_forward(bbrt::Context*)`
    makes a `bbrt::Tensor` for each buffer and calls one runtime kernel per
    `bbrt.kernel` (see runtime/include/bbrt/bbrt.h).
  }];
  let dependentDialects = ["::mlir::emitc::EmitCDialect"];
}

#endif // BB_PASSES_LOWERING_PASSES_TD
