// RUN: bb-opt %s --bb-pipeline-mesh="stages=3" | FileCheck %s

// One stage's partitioned program (mesh 2x2) becomes the program of three
// stages: the mesh gets the stage axis in front, and every mesh axis named
// moves up by one, so collectives stay within a stage and the state's slices
// are per stage.
// CHECK: mesh.mesh @mesh(shape = 3x2x2)
// CHECK-LABEL: func.func @stage0_forward(
// CHECK-SAME: bb.sharding = #mesh.shard<@mesh, {{\[\[}}2], [1]]>, bb.state = "param"}
// CHECK-SAME: -> (tensor<2x4xf32> {bb.name = "xfer0", bb.role = "send", bb.sharding = #mesh.shard<@mesh, {{\[\[}}], [2]]>})
// CHECK: mesh.all_reduce %{{.*}} on @mesh mesh_axes = [2] :
// CHECK: mesh.all_gather %{{.*}} on @mesh mesh_axes = [1, 2] gather_axis = 0 :
// CHECK: bb.shard_slice %{{.*}} <@mesh, {{\[\[\], \[2\]\]}}>

mesh.mesh @mesh(shape = 2x2)
func.func @stage0_forward(%w: tensor<2x2xf32> {bb.name = "w", bb.state = "param", bb.sharding = #mesh.shard<@mesh, [[1], [0]]>},
                          %x: tensor<2x4xf32> {bb.name = "x"}) -> (tensor<2x4xf32> {bb.name = "xfer0", bb.role = "send", bb.sharding = #mesh.shard<@mesh, [[], [1]]>}) {
  %r = mesh.all_reduce %x on @mesh mesh_axes = [1] : tensor<2x4xf32> -> tensor<2x4xf32>
  %g = mesh.all_gather %w on @mesh mesh_axes = [0, 1] gather_axis = 0 : tensor<2x2xf32> -> tensor<8x2xf32>
  %s = bb.shard_slice %r <@mesh, [[], [1]]> : tensor<2x4xf32> -> tensor<2x2xf32>
  return %r : tensor<2x4xf32>
}
