// RUN: bb-opt %s --bb-bufferize | FileCheck %s

// State arguments become bbrt.state (of their bb.state kind), numbered by name across functions;
// an update that is the last user of the old value writes in place; one
// that is not is copied into the state at the end.
// CHECK-LABEL: func.func @train_step()
// CHECK-DAG: %[[P:.*]] = bbrt.state 0 "w" {init = dense<1.000000e+00> : tensor<4xf32>, kind = "param"} : memref<4xf32>
// CHECK-DAG: %[[M:.*]] = bbrt.state 1 "w#momentum" {kind = "optimizer"} : memref<4xf32>
// CHECK-DAG: %[[G:.*]] = bbrt.input 0 "g" : memref<4xf32>
// CHECK-DAG: %[[LR:.*]] = bbrt.input 1 "lr" {role = "lr"} : memref<f32>
// CHECK: bbrt.kernel "bb.sgd_update" {momentum = 0.899999976 : f32, weight_decay = 0.000000e+00 : f32} ins(%[[P]], %[[G]], %[[M]], %[[LR]], %{{.*}} : {{.*}}) outs(%[[P]], %[[M]] : memref<4xf32>, memref<4xf32>)
// CHECK: %[[LOSS:.*]] = memref.alloc() : memref<f32>
// CHECK: bbrt.kernel "bb.reduce_sum" {{.*}} outs(%[[LOSS]] : memref<f32>)
// CHECK: bbrt.output 0 "loss" %[[LOSS]] {role = "loss"} : memref<f32>
// CHECK-NEXT: return
func.func @train_step(%g: tensor<4xf32> {bb.name = "g"},
                      %lr: tensor<f32> {bb.name = "lr", bb.role = "lr"},
                      %p: tensor<4xf32> {bb.name = "w", bb.state = "param", bb.init = dense<1.0> : tensor<4xf32>},
                      %m: tensor<4xf32> {bb.name = "w#momentum", bb.state = "optimizer"})
    -> (tensor<f32> {bb.name = "loss", bb.role = "loss"},
        tensor<4xf32> {bb.name = "w", bb.updates = 2 : i64},
        tensor<4xf32> {bb.name = "w#momentum", bb.updates = 3 : i64}) {
  %one = bb.constant dense<1.0> : tensor<f32>
  %p1, %m1 = bb.sgd_update %p, %g, %m, %lr, %one {momentum = 0.9 : f32} : tensor<4xf32>
  %loss = bb.reduce_sum %p1 {axes = array<i64: 0>} : tensor<4xf32> -> tensor<f32>
  return %loss, %p1, %m1 : tensor<f32>, tensor<4xf32>, tensor<4xf32>
}

// The old value is read after the update: the new one goes to a buffer of
// its own and is copied into the state at the end.
// CHECK-LABEL: func.func @late_reader()
// CHECK: %[[W:.*]] = bbrt.state 0 "w"
// CHECK: %[[NEW:.*]] = memref.alloc() : memref<4xf32>
// CHECK: bbrt.kernel "bb.neg" {} ins(%[[W]] : memref<4xf32>) outs(%[[NEW]] : memref<4xf32>)
// CHECK: bbrt.kernel "bb.reduce_sum" {{.*}} ins(%[[W]] : memref<4xf32>)
// CHECK: bbrt.kernel "bbrt.copy" {} ins(%[[NEW]] : memref<4xf32>) outs(%[[W]] : memref<4xf32>)
func.func @late_reader(%p: tensor<4xf32> {bb.name = "w", bb.state = "param", bb.init = dense<1.0> : tensor<4xf32>})
    -> (tensor<f32> {bb.name = "s"}, tensor<4xf32> {bb.updates = 0 : i64}) {
  %n = bb.neg %p : tensor<4xf32>
  %s = bb.reduce_sum %p {axes = array<i64: 0>} : tensor<4xf32> -> tensor<f32>
  return %s, %n : tensor<f32>, tensor<4xf32>
}

// A state argument returned as an output (the loss scale a step used) is
// its value before the step: the output copies it before the update is
// copied in. And a new value returned both as the state's update and as an
// output (listed after it) is both.
// CHECK-LABEL: func.func @old_and_new()
// CHECK: %[[S:.*]] = bbrt.state {{[0-9]+}} "scale"
// CHECK: %[[NEW:.*]] = memref.alloc() : memref<f32>
// CHECK: bbrt.kernel "bb.neg" {} ins(%[[S]] : memref<f32>) outs(%[[NEW]] : memref<f32>)
// CHECK: %[[OLD:.*]] = memref.alloc() : memref<f32>
// CHECK: bbrt.kernel "bbrt.copy" {} ins(%[[S]] : memref<f32>) outs(%[[OLD]] : memref<f32>)
// CHECK: bbrt.output 0 "used" %[[OLD]] : memref<f32>
// CHECK: bbrt.output 1 "next" %[[NEW]] : memref<f32>
// CHECK: bbrt.kernel "bbrt.copy" {} ins(%[[NEW]] : memref<f32>) outs(%[[S]] : memref<f32>)
// CHECK-NEXT: return
func.func @old_and_new(%s: tensor<f32> {bb.name = "scale", bb.state = "scalar", bb.init = dense<2.0> : tensor<f32>})
    -> (tensor<f32> {bb.updates = 0 : i64}, tensor<f32> {bb.name = "used"},
        tensor<f32> {bb.name = "next"}) {
  %n = bb.neg %s : tensor<f32>
  return %n, %s, %n : tensor<f32>, tensor<f32>, tensor<f32>
}
