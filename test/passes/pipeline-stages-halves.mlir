// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-pipeline-stages="stages=2 microbatches=2" | FileCheck %s
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --cse --bb-recompute --canonicalize --cse --bb-pipeline-stages="stages=2 microbatches=2" | FileCheck %s --check-prefix=RECOMPUTE
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --cse --bb-recompute=blocks=cut --canonicalize --cse --bb-pipeline-stages="stages=2 microbatches=2" | FileCheck %s --check-prefix=CUT
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --bb-recompute=blocks=halves 2>&1 | FileCheck %s --check-prefix=BADBLOCKS

// A stage may end inside a layer where no more crosses than at the
// layer's start. The blocks: the embedding, the residual layer's first
// half (ln_1, the attention, the residual addition), its MLP half (ln_2
// and the MLP), and the head. Between ln_1 and the attention, the layer's
// input and ln_1's result would both cross, so the attention is no block
// of its own; after the first addition only x1 crosses, as the embedding's
// result does at the layer's start. The attention dominates: stage 0 takes
// the embedding and the first half, stage 1 the MLP half and the head (a
// cut between whole layers leaves the attention and the MLP, or the
// embedding, the MLP and the head, on one stage). The MLP half is named
// after its costliest part. The second addition (named like the first,
// but adding the MLP's output) runs on stage 1, and so does its backward.
// Under recomputation a stage starts at a layer only (starting at the MLP
// half, stage 1 would recompute the attention as well).
// RECOMPUTE: pipeline.stage0.blocks = "embed,h.0"
// RECOMPUTE-SAME: pipeline.stage1.blocks = "head"
// Recomputing each block of the cut (bb-recompute blocks=cut, as bbc does
// for pipelines) lets the stage start at the MLP half again: stage 1
// recomputes the MLP half from its own input (x1, stashed), stage 0 the
// attention from the layer's.
// CUT: pipeline.stage0.blocks = "embed,h.0"
// CUT-SAME: pipeline.stage1.blocks = "h.0/mlp,head"
// CUT-LABEL: func.func @stage0_backward(
// CUT: bb.recompute_barrier
// CUT-NEXT: bb.tanh {{.*}}bb.recomputed
// CUT-LABEL: func.func @stage1_backward(
// CUT: bb.recompute_barrier
// CUT-NEXT: bb.relu {{.*}}bb.recomputed
// BADBLOCKS: error: bb-recompute: blocks=halves: expected layers or cut
// CHECK: pipeline.stage0.blocks = "embed,h.0"
// CHECK-SAME: pipeline.stage1.blocks = "h.0/mlp,head"

// CHECK-LABEL: func.func @stage0_forward(
// CHECK-SAME: -> (tensor<64x64xf32> {bb.name = "[[X1:xfer[0-9]+]]", bb.role = "send"}
// CHECK-NOT: bb.relu
// CHECK: return

// CHECK-LABEL: func.func @stage1_forward(
// CHECK-SAME: {bb.name = "[[X1]]", bb.role = "recv"}
// CHECK: %[[R:.*]] = bb.relu %arg0
// CHECK: %[[M:.*]] = bb.matmul %[[R]]
// CHECK: bb.add %arg0, %[[M]]
// CHECK: return

// The gradient crosses back where the activation crossed.
// CHECK-LABEL: func.func @stage0_backward(
// CHECK-SAME: {bb.name = "{{xfer[0-9]+}}", bb.role = "recv"}
// CHECK-LABEL: func.func @stage1_backward(
// CHECK-SAME: -> (tensor<64x64xf32> {bb.name = "{{xfer[0-9]+}}", bb.role = "send"}
// CHECK-SAME: {bb.name = "grad:Wm", bb.role = "grad"}
func.func @forward(%x: tensor<64x64xf32> {bb.name = "x"}) -> (tensor<64x64xf32> {bb.name = "y"}) {
  %we = bb.constant {bb.name = "We"} dense<0.01> : tensor<64x64xf32> loc("We")
  %wq = bb.constant {bb.name = "Wq"} dense<0.01> : tensor<64x512xf32> loc("Wq")
  %wo = bb.constant {bb.name = "Wo"} dense<0.01> : tensor<512x64xf32> loc("Wo")
  %wm = bb.constant {bb.name = "Wm"} dense<0.02> : tensor<64x64xf32> loc("Wm")
  %wh = bb.constant {bb.name = "Wh"} dense<0.03> : tensor<64x64xf32> loc("Wh")
  %e = bb.matmul %x, %we : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32> loc("/embed/MatMul")
  %n = bb.tanh %e : tensor<64x64xf32> loc("/h.0/ln_1/Tanh")
  %q = bb.matmul %n, %wq : tensor<64x64xf32>, tensor<64x512xf32> -> tensor<64x512xf32> loc("/h.0/attn/MatMul")
  %a = bb.matmul %q, %wo : tensor<64x512xf32>, tensor<512x64xf32> -> tensor<64x64xf32> loc("/h.0/attn/MatMul_1")
  %x1 = bb.add %e, %a : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32> loc("/h.0/Add")
  %r = bb.relu %x1 : tensor<64x64xf32> loc("/h.0/ln_2/Relu")
  %m = bb.matmul %r, %wm : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32> loc("/h.0/mlp/MatMul")
  %x2 = bb.add %x1, %m : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32> loc("/h.0/Add_1")
  %y = bb.matmul %x2, %wh : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32> loc("/head/MatMul")
  return %y : tensor<64x64xf32>
}
