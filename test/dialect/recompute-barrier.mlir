// RUN: bb-opt %s --split-input-file | bb-opt --split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: bb-opt %s --split-input-file --canonicalize --cse | FileCheck %s
// RUN: bb-opt %s --split-input-file --bb-lower-to-bbrt | FileCheck %s --check-prefix=BUF

// bb.recompute_barrier (C1: the result has the input's type): the same op
// on a value and on the barrier's result stay two ops through
// canonicalization and CSE; a barrier nobody reads goes; on a constant it is
// not folded.
// ROUND-LABEL: func.func @forward
// ROUND: bb.recompute_barrier %{{.*}} : tensor<2x4xf32>
// CHECK-LABEL: func.func @forward
// CHECK: %[[C:.*]] = bb.constant dense<2.000000e+00>
// CHECK: %[[T:.*]] = bb.tanh %arg0
// CHECK: %[[B:.*]] = bb.recompute_barrier %arg0 : tensor<2x4xf32>
// CHECK: %[[T2:.*]] = bb.tanh %[[B]]
// CHECK: %[[BC:.*]] = bb.recompute_barrier %[[C]]
// CHECK-NOT: bb.recompute_barrier
// CHECK: bb.add %[[T]], %[[T2]]

// Bufferized, the barrier is the same buffer: no copy and no kernel, and the
// memory plan keeps the input's bytes alive through the barrier's readers.
// BUF-LABEL: func.func @forward
// BUF: %[[X:.*]] = bbrt.input 0 "x"
// BUF-NOT: recompute_barrier
// BUF: bbrt.kernel "bb.tanh" {} ins(%[[X]] : memref<2x4xf32>)
// BUF: bbrt.kernel "bb.tanh" {} ins(%[[X]] : memref<2x4xf32>)
func.func @forward(%x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "y"}) {
  %c = bb.constant dense<2.0> : tensor<2x4xf32>
  %t = bb.tanh %x : tensor<2x4xf32>
  %b = bb.recompute_barrier %x : tensor<2x4xf32>
  %unused = bb.recompute_barrier %t : tensor<2x4xf32>
  %t2 = bb.tanh %b : tensor<2x4xf32>
  %bc = bb.recompute_barrier %c : tensor<2x4xf32>
  %s = bb.add %t, %t2 : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %y = bb.mul %s, %bc : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
