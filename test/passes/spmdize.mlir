// RUN: bb-opt %s -split-input-file --bb-spmdize | FileCheck %s

// Megatron-style MLP on 2 processes: the first matmul splits its columns
// (w1 loaded as column blocks), relu follows, the second splits its
// contraction (w2 as row blocks), leaving a partial sum that the replicated
// output all-reduces.
// CHECK-LABEL: func.func @forward(%arg0: tensor<4x8xf32> {bb.name = "x"}) -> (tensor<4x4xf32> {bb.name = "y"})
// CHECK-DAG: %[[W1:.*]] = bb.constant {bb.name = "w1"}
// CHECK-DAG: %[[W2:.*]] = bb.constant {bb.name = "w2"}
// CHECK-DAG: %[[W1S:.*]] = bb.shard_slice %[[W1]] <@mesh, {{\[\[\], \[0\]\]}}> : tensor<8x16xf32> -> tensor<8x8xf32>
// CHECK-DAG: %[[W2S:.*]] = bb.shard_slice %[[W2]] <@mesh, {{\[\[0\]\]}}> : tensor<16x4xf32> -> tensor<8x4xf32>
// CHECK: %[[H:.*]] = bb.matmul %arg0, %[[W1S]] : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
// CHECK: %[[R:.*]] = bb.relu %[[H]] : tensor<4x8xf32>
// CHECK: %[[P:.*]] = bb.matmul %[[R]], %[[W2S]] : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
// CHECK: %[[Y:.*]] = mesh.all_reduce %[[P]] on @mesh mesh_axes = [0] : tensor<4x4xf32> -> tensor<4x4xf32>
// CHECK: return %[[Y]]
module {
  mesh.mesh @mesh(shape = 2)
  func.func @forward(%x: tensor<4x8xf32> {bb.name = "x"}) -> (tensor<4x4xf32> {bb.name = "y"}) {
    %w1 = bb.constant {bb.name = "w1"} dense<0.5> : tensor<8x16xf32>
    %w2 = bb.constant {bb.name = "w2"} dense<0.25> : tensor<16x4xf32>
    %h = bb.matmul %x, %w1 {bb.strategy = array<i64: 1>} : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
    %r = bb.relu %h {bb.strategy = array<i64: 1>} : tensor<4x16xf32>
    %y = bb.matmul %r, %w2 {bb.strategy = array<i64: 2>} : tensor<4x16xf32>, tensor<16x4xf32> -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

// Data parallel on a 2x2 mesh (axis 1 unused): the input is sliced by rows,
// the loss weighs each process's mean by its count of counted labels, and
// a replicated parameter's update meets its partial gradient through an
// all-reduce.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %arg0: tensor<4x8xf32>
// CHECK-DAG: %[[XS:.*]] = bb.shard_slice %arg0 <@mesh, {{\[\[0\]\]}}> : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK-DAG: %[[LS:.*]] = bb.shard_slice %arg1 <@mesh, {{\[\[0\]\]}}> : tensor<4xi64> -> tensor<2xi64>
// CHECK: %[[Y:.*]] = bb.matmul %[[XS]], %arg2 : tensor<2x8xf32>, tensor<8x3xf32> -> tensor<2x3xf32>
// CHECK: %[[MEAN:.*]] = bb.cross_entropy %[[Y]], %[[LS]]
// CHECK: %[[SUM:.*]] = bb.mul %[[MEAN]], %{{.*}} :
// CHECK: %[[GSUM:.*]] = mesh.all_reduce %[[SUM]] on @mesh mesh_axes = [0]
// CHECK: %[[LOSS:.*]] = bb.div %[[GSUM]]
// CHECK: %[[GW:.*]] = bb.matmul %[[XS]], %{{.*}} {transpose_lhs} : tensor<2x8xf32>, tensor<2x3xf32> -> tensor<8x3xf32>
// CHECK: %[[G:.*]] = mesh.all_reduce %[[GW]] on @mesh mesh_axes = [0] : tensor<8x3xf32> -> tensor<8x3xf32>
// CHECK: return %[[LOSS]], %[[G]]
module {
  mesh.mesh @mesh(shape = 2x2)
  func.func @train_step(%x: tensor<4x8xf32> {bb.name = "x"}, %labels: tensor<4xi64> {bb.name = "labels"},
                        %w: tensor<8x3xf32> {bb.name = "w", bb.state = "param"})
      -> (tensor<f32> {bb.name = "loss"}, tensor<8x3xf32> {bb.name = "grad"}) {
    %y = bb.matmul %x, %w {bb.strategy = array<i64: 0, -1>} : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
    %loss = bb.cross_entropy %y, %labels {bb.strategy = array<i64: 0, -1>, ignore_index = -100 : i64} : tensor<4x3xf32>, tensor<4xi64> -> tensor<f32>
    %one = bb.constant dense<1.0> : tensor<f32>
    %dy = bb.cross_entropy_grad %y, %labels, %one {bb.strategy = array<i64: 0, -1>, ignore_index = -100 : i64} : (tensor<4x3xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x3xf32>
    %gw = bb.matmul %x, %dy {transpose_lhs, bb.strategy = array<i64: 2, -1>} : tensor<4x8xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
    return %loss, %gw : tensor<f32>, tensor<8x3xf32>
  }
}

// -----

// A split that moves from one dimension to another is an all-to-all; the
// replicated output then gathers.
// CHECK-LABEL: func.func @move
// CHECK: %[[A:.*]] = bb.relu %{{.*}} : tensor<2x8xf32>
// CHECK: %[[M:.*]] = mesh.all_to_all %[[A]] on @mesh mesh_axes = [0] split_axis = 1 concat_axis = 0 : tensor<2x8xf32> -> tensor<4x4xf32>
// CHECK: %[[B:.*]] = bb.exp %[[M]] : tensor<4x4xf32>
// CHECK: %[[G:.*]] = mesh.all_gather %[[B]] on @mesh mesh_axes = [0] gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: return %[[G]]
module {
  mesh.mesh @mesh(shape = 2)
  func.func @move(%x: tensor<4x8xf32> {bb.name = "x"}) -> (tensor<4x8xf32> {bb.name = "y"}) {
    %a = bb.relu %x {bb.strategy = array<i64: 0>} : tensor<4x8xf32>
    %b = bb.exp %a {bb.strategy = array<i64: 1>} : tensor<4x8xf32>
    return %b : tensor<4x8xf32>
  }
}

// -----

// Attention split over its queries (loop 2 of [batch, heads, queries]): each
// process takes its rows of q, of the mask and of the output gradient, the
// whole k and v; the key and value gradients, sums over all queries, are
// partial and all-reduced, the query gradient and the output gathered.
// CHECK-LABEL: func.func @attention_queries
// CHECK-DAG: %[[QS:.*]] = bb.shard_slice %arg0 <@mesh, {{\[\[\], \[\], \[0\]\]}}> : tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
// CHECK-DAG: %[[MS:.*]] = bb.shard_slice %arg3 <@mesh, {{\[\[0\]\]}}> : tensor<8x8xi1> -> tensor<4x8xi1>
// CHECK: %[[O:.*]], %[[L:.*]] = bb.attention %[[QS]], %arg1, %arg2 mask %[[MS]] {{.*}} -> tensor<1x2x4x4xf32>, tensor<1x2x4xf32>
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = bb.attention_grad %[[QS]], %arg1, %arg2, %[[L]], %{{.*}} mask %[[MS]]
// CHECK-DAG: mesh.all_reduce %[[DK]] on @mesh mesh_axes = [0] : tensor<1x2x8x4xf32>
// CHECK-DAG: mesh.all_reduce %[[DV]] on @mesh mesh_axes = [0] : tensor<1x2x8x4xf32>
// CHECK-DAG: mesh.all_gather %[[DQ]] on @mesh mesh_axes = [0] gather_axis = 2 : tensor<1x2x4x4xf32> -> tensor<1x2x8x4xf32>
module {
  mesh.mesh @mesh(shape = 2)
  func.func @attention_queries(%q: tensor<1x2x8x4xf32> {bb.name = "q"}, %k: tensor<1x2x8x4xf32> {bb.name = "k"},
                               %v: tensor<1x2x8x4xf32> {bb.name = "v"}, %m: tensor<8x8xi1> {bb.name = "m"},
                               %g: tensor<1x2x8x4xf32> {bb.name = "g"})
      -> (tensor<1x2x8x4xf32> {bb.name = "o"}, tensor<1x2x8x4xf32> {bb.name = "dq"},
          tensor<1x2x8x4xf32> {bb.name = "dk"}, tensor<1x2x8x4xf32> {bb.name = "dv"}) {
    %o, %l = bb.attention %q, %k, %v mask %m {bb.strategy = array<i64: 2>, scale = 0.5 : f32}
        : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> mask tensor<8x8xi1>
        -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
    %dq, %dk, %dv = bb.attention_grad %q, %k, %v, %l, %g mask %m {bb.strategy = array<i64: 2>, scale = 0.5 : f32}
        : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>,
          tensor<1x2x8x4xf32> mask tensor<8x8xi1>
        -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
    return %o, %dq, %dk, %dv : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  }
}

// -----

// Layer norm's backward split over its rows: each process its rows of x and
// dy and dx; the scale and bias gradients, sums over all rows, all-reduced.
// CHECK-LABEL: func.func @layer_norm_grad_rows
// CHECK-DAG: %[[XS:.*]] = bb.shard_slice %arg0 <@mesh, {{\[\[0\]\]}}> : tensor<8x16xf32> -> tensor<4x16xf32>
// CHECK: %[[DX:.*]], %[[DS:.*]], %[[DB:.*]] = bb.layer_norm_grad %[[XS]], %arg1, %{{.*}} : (tensor<4x16xf32>, tensor<16xf32>, tensor<4x16xf32>)
// CHECK-DAG: mesh.all_reduce %[[DS]] on @mesh mesh_axes = [0] : tensor<16xf32>
// CHECK-DAG: mesh.all_reduce %[[DB]] on @mesh mesh_axes = [0] : tensor<16xf32>
// CHECK-DAG: mesh.all_gather %[[DX]] on @mesh mesh_axes = [0] gather_axis = 0 : tensor<4x16xf32> -> tensor<8x16xf32>
module {
  mesh.mesh @mesh(shape = 2)
  func.func @layer_norm_grad_rows(%x: tensor<8x16xf32> {bb.name = "x"}, %g: tensor<16xf32> {bb.name = "g"},
                                  %dy: tensor<8x16xf32> {bb.name = "dy"})
      -> (tensor<8x16xf32> {bb.name = "dx"}, tensor<16xf32> {bb.name = "ds"}, tensor<16xf32> {bb.name = "db"}) {
    %dx, %ds, %db = bb.layer_norm_grad %x, %g, %dy {bb.strategy = array<i64: 0>}
        : (tensor<8x16xf32>, tensor<16xf32>, tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>)
    return %dx, %ds, %db : tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
  }
}

// -----

// A reshape of unit dimensions passes partial sums through (strategy 1: the
// reshape rule's passesPartial loop): the matmul's partial sums (the batch
// split) are reshaped, not reduced; the result, declared partial, leaves
// as it is, and the second result, declared reduced, is all-reduced once
// though two consumers (the product x * x, the return) want it reduced.
// CHECK-LABEL: func.func @reshape_passes_partial
// CHECK-SAME: -> (tensor<1x8x8xf32> {bb.name = "partial", bb.sharding = #mesh.shard<@mesh, {{\[\[\]\]}}, partial = sum[0]>}
// CHECK: %[[P:.*]] = bb.matmul {{.*}} : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<8x8xf32>
// CHECK: %[[R:.*]] = bb.reshape %[[P]] : tensor<8x8xf32> -> tensor<1x8x8xf32>
// CHECK: %[[A:.*]] = mesh.all_reduce %[[R]] on @mesh mesh_axes = [0]
// CHECK-NOT: mesh.all_reduce
// CHECK: bb.mul %[[A]], %[[A]]
// CHECK: return %[[R]], %[[A]], %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>
module {
  mesh.mesh @mesh(shape = 2)
  func.func @reshape_passes_partial(%x: tensor<4x8xf32> {bb.name = "x"}, %dy: tensor<4x8xf32> {bb.name = "dy"})
      -> (tensor<1x8x8xf32> {bb.name = "partial", bb.sharding = #mesh.shard<@mesh, [[]], partial = sum[0]>},
          tensor<1x8x8xf32> {bb.name = "reduced"}, tensor<1x8x8xf32> {bb.name = "squared"}) {
    %p = bb.matmul %x, %dy {bb.strategy = array<i64: 2>, transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
    %r = bb.reshape %p {bb.strategy = array<i64: 1>} : tensor<8x8xf32> -> tensor<1x8x8xf32>
    %s = bb.mul %r, %r : tensor<1x8x8xf32>, tensor<1x8x8xf32> -> tensor<1x8x8xf32>
    return %r, %r, %s : tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>
  }
}
