// RUN: bb-opt %s --bb-bufferize | FileCheck %s --check-prefix=BUF
// RUN: bb-opt %s --bb-bufferize --bbrt-plan-memory --bbrt-to-emitc | mlir-translate --mlir-to-cpp | FileCheck %s --check-prefix=CPP

// Bufferized: one kernel each, both results of the forward written (the
// logsumexp too, which nothing reads here), the absent mask recorded.
// BUF: bbrt.kernel "bb.attention" {scale = 1.250000e-01 : f32} ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<2x4x16x8xf32>, memref<2x4x16x8xf32>, memref<2x4x16x8xf32>) outs(%{{.*}}, %{{.*}} : memref<2x4x16x8xf32>, memref<2x4x16xf32>) {bbrt.bytes = 16896 : i64, bbrt.flops = 75776 : i64, optional_absent = array<i64: 3, 4>}
// BUF: bbrt.kernel "bb.attention_grad" {products = bf16, scale = 1.250000e-01 : f32} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<2x4x16x8xf32>, memref<2x4x16x8xf32>, memref<2x4x16x8xf32>, memref<2x4x16xf32>, memref<2x4x16x8xf32>, memref<1x1x16x16xi1>) outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<2x4x16x8xf32>, memref<2x4x16x8xf32>, memref<2x4x16x8xf32>)

// The calls take the operands in the op's order (a bbrt::none() tensor for the
// absent mask), then the results, the scale and the products.
// CPP: bbrt::Tensor [[NONE:v[0-9]+]] = bbrt::none();
// CPP: bbrt::attention([[Q:v[0-9]+]], [[K:v[0-9]+]], [[V:v[0-9]+]], [[NONE]], [[NONE]], [[O:v[0-9]+]], [[L:v[0-9]+]], 1.250000000e-01f, bbrt::Products::F32);
// CPP: bbrt::Tensor [[NONE2:v[0-9]+]] = bbrt::none();
// CPP: bbrt::attentionGrad({{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}}, [[NONE2]], {{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}}, [[NONE2]], 1.250000000e-01f, bbrt::Products::BF16);
module {
  func.func @forward(%q: tensor<2x4x16x8xf32> {bb.name = "q"}, %k: tensor<2x4x16x8xf32> {bb.name = "k"},
                     %v: tensor<2x4x16x8xf32> {bb.name = "v"}) -> (tensor<2x4x16x8xf32> {bb.name = "o"}) {
    %o, %l = bb.attention %q, %k, %v {scale = 0.125 : f32}
        : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
    return %o : tensor<2x4x16x8xf32>
  }
  func.func @backward(%q: tensor<2x4x16x8xf32> {bb.name = "q"}, %k: tensor<2x4x16x8xf32> {bb.name = "k"},
                      %v: tensor<2x4x16x8xf32> {bb.name = "v"}, %l: tensor<2x4x16xf32> {bb.name = "l"},
                      %g: tensor<2x4x16x8xf32> {bb.name = "g"}, %m: tensor<1x1x16x16xi1> {bb.name = "m"})
      -> (tensor<2x4x16x8xf32> {bb.name = "dq"}, tensor<2x4x16x8xf32> {bb.name = "dk"}, tensor<2x4x16x8xf32> {bb.name = "dv"}) {
    %dq, %dk, %dv = bb.attention_grad %q, %k, %v, %l, %g mask %m {products = bf16, scale = 0.125 : f32}
        : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>,
          tensor<2x4x16x8xf32> mask tensor<1x1x16x16xi1>
        -> tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
    return %dq, %dk, %dv : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  }
}
