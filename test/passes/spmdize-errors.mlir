// RUN: not bb-opt %s -split-input-file --bb-spmdize 2>&1 | FileCheck %s

// A reshape that passes partial sums through (strategy 1: the reshape
// rule's passesPartial loop) given a value that is not partial: reducing
// it again later would count it twice, so the partitioner refuses.
// CHECK: error: bb-spmdize: operand 0 takes partial sums its producer does not leave
module {
  mesh.mesh @mesh(shape = 2)
  func.func @not_partial(%x: tensor<8x8xf32> {bb.name = "x"}) -> tensor<1x8x8xf32> {
    %r = bb.reshape %x {bb.strategy = array<i64: 1>} : tensor<8x8xf32> -> tensor<1x8x8xf32>
    return %r : tensor<1x8x8xf32>
  }
}

// -----

// Only a pipeline stage's gradient may arrive as partial sums.
// CHECK: error: bb-spmdize: argument 0 cannot be partial (only a gradient can)
module {
  mesh.mesh @mesh(shape = 2)
  func.func @partial_input(%x: tensor<8xf32> {bb.name = "x", bb.sharding = #mesh.shard<@mesh, [[]], partial = sum[0]>}) -> tensor<8xf32> {
    return %x : tensor<8xf32>
  }
}

// -----

// A result declared partial must be partial sums over those axes already.
// CHECK: error: bb-spmdize: result 0 is declared partial sums its producer does not leave
module {
  mesh.mesh @mesh(shape = 2)
  func.func @declared_partial(%x: tensor<8xf32> {bb.name = "x"}) -> (tensor<8xf32> {bb.sharding = #mesh.shard<@mesh, [[]], partial = sum[0]>}) {
    %y = bb.tanh %x : tensor<8xf32>
    return %y : tensor<8xf32>
  }
}
