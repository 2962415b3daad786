// RUN: bb-opt %s --pass-pipeline='builtin.module(func.func(sharding-propagation))' | FileCheck %s

// Upstream mesh sharding propagation driven by bb's ShardingInterface models:
// the propagated shardings are only right when bb.matmul's loop iterator
// types (batch..., m, n parallel; k a sum reduction) and indexing maps
// (lhs (b, m, k), rhs (b, k, n), result (b, m, n), transposes swapping the
// last two) are. (Note: the pass runs on func.func, so a bare
// --sharding-propagation on the module cannot be scheduled.)

mesh.mesh @mesh(shape = 2x2)

// m on mesh axis 0, k on mesh axis 1: rhs gets k split on axis 1, and the
// result is split along m with a partial sum over axis 1.
// CHECK-LABEL: func.func @m_and_k
// CHECK-SAME: (%[[A:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<16x32xf32>)
// CHECK: %[[SA:.*]] = mesh.shard %[[A]] to <@mesh, {{\[\[}}0], [1]]> annotate_for_users : tensor<8x16xf32>
// CHECK: %[[SB:.*]] = mesh.shard %[[B]] to <@mesh, {{\[\[}}1]]> annotate_for_users : tensor<16x32xf32>
// CHECK: %[[R:.*]] = bb.matmul %[[SA]], %[[SB]]
// CHECK: %[[SR:.*]] = mesh.shard %[[R]] to <@mesh, {{\[\[}}0]], partial = sum[1]> : tensor<8x32xf32>
// CHECK: return %[[SR]]
func.func @m_and_k(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %0 = mesh.shard %a to <@mesh, [[0], [1]]> annotate_for_users : tensor<8x16xf32>
  %1 = mesh.shard %b to <@mesh, [[1]]> annotate_for_users : tensor<16x32xf32>
  %2 = bb.matmul %0, %1 : tensor<8x16xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  return %2 : tensor<8x32xf32>
}

// Only the result is annotated (m on axis 1, n on axis 0): propagation goes
// backwards; lhs is split along m only, rhs along n only (dim 1).
// CHECK-LABEL: func.func @from_result
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}1]]> annotate_for_users : tensor<8x16xf32>
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [0]]> annotate_for_users : tensor<16x32xf32>
// CHECK: bb.matmul
// CHECK-NOT: partial
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}1], [0]]> : tensor<8x32xf32>
func.func @from_result(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %0 = bb.matmul %a, %b : tensor<8x16xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  %1 = mesh.shard %0 to <@mesh, [[1], [0]]> : tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}

// transpose_rhs (a Linear layer's [N, K] weight): the weight's dim 1 is k.
// CHECK-LABEL: func.func @transpose_rhs
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}0], [], [1]]> annotate_for_users : tensor<4x8x16xf32>
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [1]]> annotate_for_users : tensor<32x16xf32>
// CHECK: bb.matmul %{{.*}}, %{{.*}} {transpose_rhs}
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}0]], partial = sum[1]> : tensor<4x8x32xf32>
func.func @transpose_rhs(%a: tensor<4x8x16xf32>, %b: tensor<32x16xf32>) -> tensor<4x8x32xf32> {
  %0 = mesh.shard %a to <@mesh, [[0], [], [1]]> annotate_for_users : tensor<4x8x16xf32>
  %1 = bb.matmul %0, %b {transpose_rhs} : tensor<4x8x16xf32>, tensor<32x16xf32> -> tensor<4x8x32xf32>
  return %1 : tensor<4x8x32xf32>
}

// transpose_lhs: the lhs is [K, M]; splitting its dim 0 splits k.
// CHECK-LABEL: func.func @transpose_lhs
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}1]]> annotate_for_users : tensor<16x32xf32>
// CHECK: bb.matmul %{{.*}}, %{{.*}} {transpose_lhs}
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}0]], partial = sum[1]> : tensor<8x32xf32>
func.func @transpose_lhs(%a: tensor<16x8xf32>, %b: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %0 = mesh.shard %a to <@mesh, [[1], [0]]> annotate_for_users : tensor<16x8xf32>
  %1 = bb.matmul %0, %b {transpose_lhs} : tensor<16x8xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}

// Broadcast batch dimensions: the rank-3 rhs's dim 0 is the result's batch
// dim 1, so splitting the lhs's dim 1 splits the rhs's dim 0.
// CHECK-LABEL: func.func @batched
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}0]]> annotate_for_users : tensor<4x16x32xf32>
// CHECK: bb.matmul
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [0], [1]]> : tensor<2x4x8x32xf32>
func.func @batched(%a: tensor<2x4x8x16xf32>, %b: tensor<4x16x32xf32>) -> tensor<2x4x8x32xf32> {
  %0 = mesh.shard %a to <@mesh, [[], [0], [1]]> annotate_for_users : tensor<2x4x8x16xf32>
  %1 = bb.matmul %0, %b : tensor<2x4x8x16xf32>, tensor<4x16x32xf32> -> tensor<2x4x8x32xf32>
  return %1 : tensor<2x4x8x32xf32>
}

// A Megatron-style MLP: the column-parallel first weight makes the hidden
// activation split along n, gelu keeps it, and the second matmul contracts
// over it: its weight is split along k and its result is a partial sum.
// CHECK-LABEL: func.func @mlp
// CHECK: bb.matmul
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [0]]> : tensor<8x64xf32>
// CHECK: bb.gelu
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [0]]> : tensor<8x64xf32>
// CHECK: mesh.shard %{{.*}} to <@mesh, {{\[\[}}], [0]]> annotate_for_users : tensor<16x64xf32>
// CHECK: bb.matmul
// CHECK: mesh.shard %{{.*}} to <@mesh, [], partial = sum[0]> : tensor<8x16xf32>
func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<64x16xf32>, %w2: tensor<16x64xf32>) -> tensor<8x16xf32> {
  %w1s = mesh.shard %w1 to <@mesh, [[0]]> annotate_for_users : tensor<64x16xf32>
  %h = bb.matmul %x, %w1s {transpose_rhs} : tensor<8x16xf32>, tensor<64x16xf32> -> tensor<8x64xf32>
  %g = bb.gelu %h : tensor<8x64xf32>
  %y = bb.matmul %g, %w2 {transpose_rhs} : tensor<8x64xf32>, tensor<16x64xf32> -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}
