// RUN: bb-opt %s --bb-bufferize | FileCheck %s --check-prefix=BUF
// RUN: bb-opt %s --bb-bufferize --bbrt-plan-memory --bbrt-to-emitc | FileCheck %s --check-prefix=EMITC
// RUN: bb-opt %s --bb-bufferize --bbrt-plan-memory --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s --check-prefix=CPP

// Bufferized, the fused op keeps its body and writes a buffer of its own.
// BUF-LABEL: func.func @forward()
// BUF: %[[X:.*]] = bbrt.input 0 "x" : memref<4x8xf32>
// BUF: %[[B:.*]] = bbrt.input 1 "b" : memref<8xf32>
// BUF: %[[Y:.*]] = memref.alloc() : memref<4x8xf32>
// The work the fused op does (its cost interface) stays with it, for the
// programs' --profile: 5 FLOPs a element, two inputs and one output.
// BUF: bbrt.fused_elementwise ins(%[[X]], %[[B]] : memref<4x8xf32>, memref<8xf32>) outs(%[[Y]] : memref<4x8xf32>) attributes {bbrt.bytes = 288 : i64, bbrt.flops = 160 : i64} {
// BUF-NEXT: ^bb0(%[[V:.*]]: f32, %[[C:.*]]: f32):
// BUF-NEXT: %[[S:.*]] = arith.addf %[[V]], %[[C]] : f32
// BUF-NEXT: %[[N:.*]] = arith.negf %[[S]] : f32
// BUF-NEXT: %[[E:.*]] = math.exp %[[N]] : f32
// BUF: bb.yield
// BUF: bbrt.output 0 "y" %[[Y]]

// The body becomes a function of floats, before the entry points; arith ops
// through upstream's arith-to-emitc, math ops as bbrt/fused.h's functions;
// the call instantiates the runtime's fused kernel with it.
// EMITC: emitc.include "bbrt/bbrt.h"
// EMITC: emitc.include "bbrt/fused.h"
// EMITC: emitc.func @bb_fused0(%[[V:.*]]: f32, %[[C:.*]]: f32) -> f32 attributes {specifiers = ["BBRT_FUSED"]}
// EMITC: emitc.add
// EMITC: emitc.unary_minus
// EMITC: emitc.call_opaque "bbrt::fused::exp"
// EMITC: emitc.conditional
// EMITC: emitc.return
// EMITC: emitc.func @bb_forward
// EMITC: emitc.call_opaque "bbrt::fusedElementwise"{{.*}}template_args = [#emitc.opaque<"bb_fused0">]

// CPP: #include "bbrt/fused.h"
// CPP: BBRT_FUSED float bb_fused0(float [[V:v[0-9]+]], float [[C:v[0-9]+]]) {
// CPP: bbrt::fused::exp(
// CPP: return
// CPP: void bb_forward(bbrt::Context* [[CTX:v[0-9]+]])
// The call is bracketed for --profile, with its FLOPs and bytes.
// CPP: double [[T:v[0-9]+]] = bbrt::profileStart([[CTX]]);
// CPP: bbrt::fusedElementwise<bb_fused0>([[Y:v[0-9]+]], [[X:v[0-9]+]], [[B:v[0-9]+]]);
// CPP-NEXT: bbrt::profileEnd([[CTX]], "bb.fused_elementwise", 160.0, 288.0, [[T]]);
module {
  func.func @forward(%x: tensor<4x8xf32> {bb.name = "x"}, %b: tensor<8xf32> {bb.name = "b"}) -> (tensor<4x8xf32> {bb.name = "y"}) {
    %0 = bb.fused_elementwise %x, %b : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32> {
    ^bb0(%v: f32, %c: f32):
      %s = arith.addf %v, %c : f32
      %n = arith.negf %s : f32
      %e = math.exp %n : f32
      %zero = arith.constant 0.000000e+00 : f32
      %p = arith.cmpf ogt, %e, %zero : f32
      %r = arith.select %p, %e, %zero : f32
      bb.yield %r : f32
    }
    return %0 : tensor<4x8xf32>
  }
}
