// RUN: bb-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(bb-merge-all-reduces))' | FileCheck %s

// The global norm's sum of squares after bb-spmdize: each gradient's local
// sum all-reduced, then the sums added, with a replicated gradient's sum
// (%c) in the middle of the chain. One all-reduce of the local sums
// remains, added to %c.
// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[A:.*]]: tensor<f32>, %[[B:.*]]: tensor<f32>, %[[C:.*]]: tensor<f32>, %[[D:.*]]: tensor<f32>)
// CHECK: %[[AB:.*]] = bb.add %[[A]], %[[B]]
// CHECK: %[[ABD:.*]] = bb.add %[[AB]], %[[D]]
// CHECK: %[[R:.*]] = mesh.all_reduce %[[ABD]] on @mesh mesh_axes = [0]
// CHECK-NOT: mesh.all_reduce
// CHECK: %[[S:.*]] = bb.add %[[C]], %[[R]]
// CHECK: return %[[S]]
module {
  mesh.mesh @mesh(shape = 2x2)
  func.func @norm(%a: tensor<f32>, %b: tensor<f32>, %c: tensor<f32>, %d: tensor<f32>) -> tensor<f32> {
    %ra = mesh.all_reduce %a on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %rb = mesh.all_reduce %b on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %rd = mesh.all_reduce %d on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %s1 = bb.add %ra, %rb : tensor<f32>, tensor<f32> -> tensor<f32>
    %s2 = bb.add %s1, %c : tensor<f32>, tensor<f32> -> tensor<f32>
    %s3 = bb.add %s2, %rd : tensor<f32>, tensor<f32> -> tensor<f32>
    return %s3 : tensor<f32>
  }
}

// -----

// Not merged: other axes, a maximum, an all-reduce used twice, and a sum
// that broadcasts.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-6: mesh.all_reduce
// CHECK-NOT: mesh.all_reduce
module {
  mesh.mesh @mesh(shape = 2x2)
  func.func @kept(%a: tensor<f32>, %b: tensor<f32>, %v: tensor<4xf32>)
      -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<4xf32>) {
    %r0 = mesh.all_reduce %a on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %r1 = mesh.all_reduce %b on @mesh mesh_axes = [1] : tensor<f32> -> tensor<f32>
    %axes = bb.add %r0, %r1 : tensor<f32>, tensor<f32> -> tensor<f32>
    %m = mesh.all_reduce %a on @mesh mesh_axes = [0] reduction = <max> : tensor<f32> -> tensor<f32>
    %r2 = mesh.all_reduce %b on @mesh mesh_axes = [0] : tensor<f32> -> tensor<f32>
    %kind = bb.add %m, %r2 : tensor<f32>, tensor<f32> -> tensor<f32>
    %r3 = mesh.all_reduce %a on @mesh mesh_axes = [1] : tensor<f32> -> tensor<f32>
    %twice = bb.add %r3, %r3 : tensor<f32>, tensor<f32> -> tensor<f32>
    %r4 = mesh.all_reduce %v on @mesh mesh_axes = [1] : tensor<4xf32> -> tensor<4xf32>
    %bcast = bb.add %r4, %r3 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
    return %axes, %kind, %twice, %r3, %bcast : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<4xf32>
  }
}
