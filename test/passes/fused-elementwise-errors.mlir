// RUN: bb-opt %s --bb-bufferize --bbrt-plan-memory --bbrt-to-emitc -verify-diagnostics

// The runtime's fused kernel (bbrt/fused.h) takes f32 buffers only; the op
// itself allows any element type, its lowering says so.
module {
  func.func @forward(%x: tensor<4xf64> {bb.name = "x"}) -> (tensor<4xf64> {bb.name = "y"}) {
    // expected-error @+1 {{bbrt-to-emitc: the runtime's fused kernel takes f32 buffers only}}
    %0 = bb.fused_elementwise %x : tensor<4xf64> -> tensor<4xf64> {
    ^bb0(%v: f64):
      %s = arith.addf %v, %v : f64
      bb.yield %s : f64
    }
    return %0 : tensor<4xf64>
  }
}
