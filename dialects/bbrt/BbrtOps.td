//===- BbrtOps.td - the runtime-call level dialect ---------*- tablegen -*-===//
//
// bbrt sits between bufferized bb and EmitC: buffers are memrefs placed in
// one arena by the memory planner, and each op is one call into runtime/.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_OPS_TD
#define BBRT_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Bbrt_Dialect : Dialect {
  let name = "bbrt";
  let cppNamespace = "::mlir::bbrt";
  let summary = "Runtime-call level: buffers in an arena and calls to runtime kernels";
  let description = [{
    After bufferization every `bb` op has become a `bbrt.kernel` that reads
    operand buffers and writes result buffers (destination-passing style).
    Buffers are `memref.alloc`s until the memory planner assigns each an
    offset in the one arena (`bbrt.arena`), reusing bytes between buffers whose
    lifetimes do not overlap. Weights are `bbrt.weight`s read from the
    program's safetensors file. Graph inputs and outputs are arena buffers too,
    whose offsets the generated program reports to the runtime.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

class Bbrt_Op<string mnemonic, list<Trait> traits = []>
    : Op<Bbrt_Dialect, mnemonic, traits>;

def Bbrt_WeightOp : Bbrt_Op<"weight", [Pure]> {
  let summary = "a read-only weight buffer";
  let description = [{
    The bytes of `value`, written to the safetensors file under `name`; the
    generated program maps them read-only. `index` is the weight's position in
    the file's declaration order. In a per-process program, `sharding` (mesh
    split axes per dimension, e.g. "[[], [0]]") says which block of `value`
    this process holds: the buffer has the block's shape and each process
    loads only its block. `mesh` names the mesh the split axes refer to
    when the module has several (a pipeline stage's own).

    Example:
    ```mlir
    %w = bbrt.weight 0 "fc1.weight" dense_resource<fc1.weight> : tensor<64x32xf32> -> memref<64x32xf32>
    ```
  }];
  let arguments = (ins I64Attr:$index, StrAttr:$name, ElementsAttr:$value,
                       OptionalAttr<StrAttr>:$sharding,
                       OptionalAttr<FlatSymbolRefAttr>:$mesh);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$index $name $value attr-dict `->` type($buffer)";
}

def Bbrt_StateOp : Bbrt_Op<"state", [Pure]> {
  let summary = "a mutable buffer that persists across calls";
  let description = [{
    State `index` (named `name`) of the program: a training parameter or an
    optimizer moment. The runtime owns it, outside the arena, for the whole
    run; entry points read it and update it in place, and checkpoints save
    it. Its initial value is `init` (written to the safetensors file under
    `name`), or zeros without `init`. `index` is shared by every entry point
    of the module. With `sharding` (as for `bbrt.weight`), each process holds
    its block of the state (on `mesh`, as for `bbrt.weight`); `init` is the
    whole tensor. `kind` is the
    `bb.state` of the argument it comes from: `param` (a trained parameter
    of the model, which `--export` writes back into the ONNX file),
    `optimizer` (a moment) or `scalar` (the loss scaler's values, AdamW's
    count).

    Example:
    ```mlir
    %w = bbrt.state 0 "fc1.weight" {init = dense_resource<fc1.weight> : tensor<64x32xf32>} : memref<64x32xf32>
    ```
  }];
  let arguments = (ins I64Attr:$index, StrAttr:$name,
                       OptionalAttr<ElementsAttr>:$init,
                       OptionalAttr<StrAttr>:$sharding,
                       OptionalAttr<StrAttr>:$kind,
                       OptionalAttr<FlatSymbolRefAttr>:$mesh);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$index $name attr-dict `:` type($buffer)";
}

def Bbrt_ArenaOp : Bbrt_Op<"arena", [Pure]> {
  let summary = "a buffer at a fixed offset in the arena";
  let description = [{
    The planned home of a buffer: `offset` bytes into the arena (64-byte
    aligned). Produced by the memory planner from `memref.alloc`.

    Example:
    ```mlir
    %b = bbrt.arena 4096 : memref<4x16xf32>
    ```
  }];
  let arguments = (ins I64Attr:$offset);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$offset attr-dict `:` type($buffer)";
}

def Bbrt_BoundOutputOp : Bbrt_Op<"bound_output", [Pure]> {
  let summary = "the buffer of output `index`, which the driver always binds";
  let description = [{
    An output the training driver always binds to memory of its own before
    the run (`bindOutput`: a pipeline stage's stash, written straight into
    its micro-batch's slot), so it has no place in the arena. Produced by
    the memory planner from the `memref.alloc` of an output with role
    `stash`.

    Example:
    ```mlir
    %s = bbrt.bound_output 2 : memref<4x16xf32>
    ```
  }];
  let arguments = (ins I64Attr:$index);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$index attr-dict `:` type($buffer)";
}

def Bbrt_InputOp : Bbrt_Op<"input"> {
  let summary = "the buffer holding graph input `index`";
  let description = [{
    Where the program places input `index` (named `name`) before running;
    lives for the whole run. `role` tells a training driver what to put
    there: `labels`, `lr` (the learning rate) or `step` (the 1-based step
    number); model inputs have none. The memory planner sets `offset`, its place in
    the arena, or -1 for an input the driver always binds (`bindInput`:
    role `stash`, read from its micro-batch's slot, and role `grad`, read
    from its accumulator). `sharding` and `mesh` (as for `bbrt.weight`): a
    pipeline crossing (role `recv`) that the sending stage sends whole and
    this process receives as its block, cut by the driver (stages on meshes
    of different shapes).

    Example:
    ```mlir
    %x = bbrt.input 0 "x" : memref<4x64xf32>
    ```
  }];
  let arguments = (ins I64Attr:$index, StrAttr:$name,
                       OptionalAttr<I64Attr>:$offset,
                       OptionalAttr<StrAttr>:$role,
                       OptionalAttr<StrAttr>:$sharding,
                       OptionalAttr<FlatSymbolRefAttr>:$mesh);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "$index $name attr-dict `:` type($buffer)";
}

def Bbrt_OutputOp : Bbrt_Op<"output"> {
  let summary = "declares `buffer` as graph output `index`";
  let description = [{
    After the run, the program writes `buffer` as output `index` (`name`).
    `role` marks the outputs a training driver reads: `loss` and
    `grad_norm`.
    Example: `bbrt.output 0 "y" %y : memref<4x10xf32>`
  }];
  let arguments = (ins I64Attr:$index, StrAttr:$name, AnyStaticShapeMemRef:$buffer,
                       OptionalAttr<StrAttr>:$role);
  let assemblyFormat = "$index $name $buffer attr-dict `:` type($buffer)";
}

def Bbrt_ViewOp : Bbrt_Op<"view", [Pure]> {
  let summary = "the same bytes with another shape (reshape without a copy)";
  let description = [{
    Example: `%v = bbrt.view %b : memref<2x8xf32> to memref<16xf32>`
  }];
  let arguments = (ins AnyStaticShapeMemRef:$source);
  let results = (outs AnyStaticShapeMemRef:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `to` type($result)";
  let hasVerifier = 1;
}

def Bbrt_KernelOp : Bbrt_Op<"kernel", [AttrSizedOperandSegments]> {
  let summary = "one call of a runtime kernel";
  let description = [{
    Runs the kernel that implements the bb op `op` (e.g. "bb.matmul") with
    that op's attributes `params`, reading `inputs` and writing `outputs`.
    An absent optional bb operand (conv without bias) is absent here too;
    `optional_absent` lists the bb operand positions left out.

    Example:
    ```mlir
    bbrt.kernel "bb.matmul" {transpose_rhs} ins(%x, %w : memref<4x8xf32>, memref<16x8xf32>)
        outs(%y : memref<4x16xf32>)
    ```
  }];
  let arguments = (ins StrAttr:$op, DictionaryAttr:$params,
                       Variadic<AnyStaticShapeMemRef>:$inputs,
                       Variadic<AnyStaticShapeMemRef>:$outputs,
                       OptionalAttr<DenseI64ArrayAttr>:$optional_absent);
  let assemblyFormat = [{
    $op $params (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict
  }];
}

def Bbrt_FusedElementwiseOp : Bbrt_Op<"fused_elementwise",
    [IsolatedFromAbove, SingleBlock]> {
  let summary = "one call of the runtime's fused elementwise kernel with a scalar body";
  let description = [{
    Writes `output[i] = body(inputs[0][i], ...)` at every index of `output`,
    each input broadcast to its shape: `bb.fused_elementwise` on buffers,
    with the same body (`arith` and `math` ops on the inputs' elements,
    ended by `bb.yield`). Code generation writes the body as a C++
    function and instantiates `bbrt::fusedElementwise` (bbrt/fused.h) with
    it.

    Example:
    ```mlir
    bbrt.fused_elementwise ins(%x, %b : memref<8x64xf32>, memref<64xf32>)
        outs(%y : memref<8x64xf32>) {
    ^bb0(%v: f32, %c: f32):
      %s = arith.addf %v, %c : f32
      bb.yield %s : f32
    }
    ```
  }];
  let arguments = (ins Variadic<AnyStaticShapeMemRef>:$inputs,
                       AnyStaticShapeMemRef:$output);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `ins` `(` $inputs `:` type($inputs) `)`
    `outs` `(` $output `:` type($output) `)` attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Bbrt_FusedReduceOp : Bbrt_Op<"fused_reduce", [IsolatedFromAbove, SingleBlock]> {
  let summary = "one call of the runtime's fused reduction with a scalar body";
  let description = [{
    `bb.fused_reduce` on buffers: `output` is the sum (with `mean`, the
    mean) over `axes` of the body at every index of the inputs' broadcast
    shape. Code generation writes the body as a C++ function and
    instantiates `bbrt::fusedReduce` (bbrt/fused.h) with it.

    Example:
    ```mlir
    bbrt.fused_reduce ins(%x : memref<8x64xf32>) outs(%s : memref<8x1xf32>)
        attributes {axes = array<i64: 1>} {
    ^bb0(%v: f32):
      %q = arith.mulf %v, %v : f32
      bb.yield %q : f32
    }
    ```
  }];
  let arguments = (ins Variadic<AnyStaticShapeMemRef>:$inputs,
                       AnyStaticShapeMemRef:$output, DenseI64ArrayAttr:$axes,
                       UnitAttr:$mean);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `ins` `(` $inputs `:` type($inputs) `)`
    `outs` `(` $output `:` type($output) `)` attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

#endif // BBRT_OPS_TD
