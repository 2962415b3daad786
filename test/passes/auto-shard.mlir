// RUN: bb-opt %s -split-input-file --bb-auto-shard="cluster=cpu:2" | FileCheck %s
// RUN: bb-opt %s -split-input-file --bb-auto-shard="cluster=cpu:4 mesh=2x2 search=exact" | FileCheck %s --check-prefix=MESH2
// RUN: bb-opt %s -split-input-file --bb-auto-shard="cluster=cpu:4 mesh=auto" | FileCheck %s --check-prefix=AUTO
// RUN: not bb-opt %s -split-input-file --bb-auto-shard="cluster=nosuch:2" 2>&1 | FileCheck %s --check-prefix=BADCLUSTER
// RUN: not bb-opt %s -split-input-file --bb-auto-shard="cluster=cpu:2 mesh=2xq" 2>&1 | FileCheck %s --check-prefix=BADMESH

// A large batch against small weights: splitting the batch (loop 0 of each
// matmul, dim 0 of the elementwise op) costs no communication but the final
// gather, and halves the compute; the plan says so, on a mesh of 2.
// CHECK: bb.plan = {{{.*}}cluster = "cpu:2"
// CHECK-SAME: solver = "optimal"
// CHECK: mesh.mesh @mesh(shape = 2)
// CHECK: bb.matmul {{.*}} {bb.strategy = array<i64: 0>}
// CHECK: bb.relu {{.*}} {bb.strategy = array<i64: 0>}
// CHECK: bb.matmul {{.*}} {bb.strategy = array<i64: 0>}

// On a 2x2 mesh both axes split the batch.
// MESH2: mesh.mesh @mesh(shape = 2x2)
// MESH2: bb.matmul {{.*}} {bb.strategy = array<i64: 0, 0>}

// mesh=auto plans 4 and 2x2 and keeps the faster: the same batch split, so
// the one-axis mesh (one gather over 4 rather than two rounds).
// AUTO: mesh.mesh @mesh(shape = 4)
// AUTO: bb.matmul {{.*}} {bb.strategy = array<i64: 0>}

// BADCLUSTER: error: bb-auto-shard: --cluster=nosuch:2:
// BADMESH: error: bb-auto-shard: --mesh=2xq: expected sizes like 2x4
func.func @forward(%x: tensor<1024x16xf32> {bb.name = "x"}) -> (tensor<1024x16xf32> {bb.name = "y"}) {
  %w1 = bb.constant {bb.name = "w1"} dense<0.5> : tensor<16x16xf32>
  %w2 = bb.constant {bb.name = "w2"} dense<0.25> : tensor<16x16xf32>
  %h = bb.matmul %x, %w1 : tensor<1024x16xf32>, tensor<16x16xf32> -> tensor<1024x16xf32>
  %r = bb.relu %h : tensor<1024x16xf32>
  %y = bb.matmul %r, %w2 : tensor<1024x16xf32>, tensor<16x16xf32> -> tensor<1024x16xf32>
  return %y : tensor<1024x16xf32>
}
