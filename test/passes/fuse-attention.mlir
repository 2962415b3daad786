// RUN: bb-opt %s -split-input-file --bb-fuse-attention --canonicalize | FileCheck %s

// GPT-2 as PyTorch exports it: the key transposed straight from [B, T, H, D]
// to [B, H, D, T] (the fused op's key is [B, H, T, D], one transpose), the
// scale multiplied after the product, Where(mask, -inf, scores).
// CHECK-LABEL: func.func @gpt2
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16x8xf32>, %[[KR:.*]]: tensor<2x16x4x8xf32>, %[[V:.*]]: tensor<2x4x16x8xf32>, %[[M:.*]]: tensor<1x1x16x16xi1>)
// CHECK-NEXT: %[[K:.*]] = bb.transpose %[[KR]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-NEXT: %[[O:.*]], %{{.*}} = bb.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 0.353553385 : f32}
// CHECK-NEXT: return %[[O]] : tensor<2x4x16x8xf32>
func.func @gpt2(%q: tensor<2x4x16x8xf32>, %kr: tensor<2x16x4x8xf32>,
                %v: tensor<2x4x16x8xf32>, %m: tensor<1x1x16x16xi1>) -> tensor<2x4x16x8xf32> {
  %c = bb.constant dense<0.353553385> : tensor<f32>
  %ninf = bb.constant dense<0xFF800000> : tensor<f32>
  %kt = bb.transpose %kr {permutation = array<i64: 0, 2, 3, 1>} : tensor<2x16x4x8xf32> -> tensor<2x4x8x16xf32>
  %s = bb.matmul %q, %kt : tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x16x16xf32>
  %s2 = bb.mul %s, %c : tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
  %s3 = bb.select %m, %ninf, %s2 : tensor<1x1x16x16xi1>, tensor<f32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %p = bb.softmax %s3 {axis = -1 : i64} : tensor<2x4x16x16xf32>
  %o = bb.matmul %p, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// No mask, the scale divided, the key already [.., S, D] (transpose_rhs),
// S != T and E != D.
// CHECK-LABEL: func.func @divided_unmasked
// CHECK-SAME: (%[[Q:.*]]: tensor<3x10x8xf32>, %[[K:.*]]: tensor<3x12x8xf32>, %[[V:.*]]: tensor<3x12x5xf32>)
// CHECK-NEXT: %[[O:.*]], %{{.*}} = bb.attention %[[Q]], %[[K]], %[[V]] {scale = 1.250000e-01 : f32} : tensor<3x10x8xf32>, tensor<3x12x8xf32>, tensor<3x12x5xf32> -> tensor<3x10x5xf32>, tensor<3x10xf32>
// CHECK-NEXT: return %[[O]]
func.func @divided_unmasked(%q: tensor<3x10x8xf32>, %k: tensor<3x12x8xf32>,
                            %v: tensor<3x12x5xf32>) -> tensor<3x10x5xf32> {
  %c = bb.constant dense<8.0> : tensor<f32>
  %s = bb.matmul %q, %k {transpose_rhs} : tensor<3x10x8xf32>, tensor<3x12x8xf32> -> tensor<3x10x12xf32>
  %s2 = bb.div %s, %c : tensor<3x10x12xf32>, tensor<f32> -> tensor<3x10x12xf32>
  %p = bb.softmax %s2 {axis = 2 : i64} : tensor<3x10x12xf32>
  %o = bb.matmul %p, %v : tensor<3x10x12xf32>, tensor<3x12x5xf32> -> tensor<3x10x5xf32>
  return %o : tensor<3x10x5xf32>
}

// -----

// Where(keep, scores, lowest float): the mask keeps where it is true, so
// the comparison that made it is inverted (ne -> eq); no scale (1).
// CHECK-LABEL: func.func @keep_mask
// CHECK: %[[REMOVE:.*]] = bb.compare <eq>, %{{.*}}, %{{.*}} : tensor<10x12xf32>, tensor<f32> -> tensor<10x12xi1>
// CHECK: %[[O:.*]], %{{.*}} = bb.attention %{{.*}}, %{{.*}}, %{{.*}} mask %[[REMOVE]] :
// CHECK-NOT: bb.softmax
func.func @keep_mask(%q: tensor<2x10x8xf32>, %kt: tensor<2x8x12xf32>,
                     %v: tensor<2x12x8xf32>, %tril: tensor<10x12xf32>) -> tensor<2x10x8xf32> {
  %zero = bb.constant dense<0.0> : tensor<f32>
  %lowest = bb.constant dense<-3.40282347E+38> : tensor<f32>
  %keep = bb.compare <ne>, %tril, %zero : tensor<10x12xf32>, tensor<f32> -> tensor<10x12xi1>
  %s = bb.matmul %q, %kt : tensor<2x10x8xf32>, tensor<2x8x12xf32> -> tensor<2x10x12xf32>
  %s2 = bb.select %keep, %s, %lowest : tensor<10x12xi1>, tensor<2x10x12xf32>, tensor<f32> -> tensor<2x10x12xf32>
  %p = bb.softmax %s2 {axis = -1 : i64} : tensor<2x10x12xf32>
  %o = bb.matmul %p, %v : tensor<2x10x12xf32>, tensor<2x12x8xf32> -> tensor<2x10x8xf32>
  return %o : tensor<2x10x8xf32>
}

// -----

// scripts/make_gpt_onnx.py's additive causal mask (0 or -inf, a float
// initializer) becomes the bias.
// CHECK-LABEL: func.func @additive_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16x8xf32>, %[[K:.*]]: tensor<2x4x16x8xf32>, %[[V:.*]]: tensor<2x4x16x8xf32>, %[[B:.*]]: tensor<1x1x16x16xf32>)
// CHECK-NEXT: %[[O:.*]], %{{.*}} = bb.attention %[[Q]], %[[K]], %[[V]] bias %[[B]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @additive_mask(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>,
                         %v: tensor<2x4x16x8xf32>, %b: tensor<1x1x16x16xf32>) -> tensor<2x4x16x8xf32> {
  %c = bb.constant dense<0.25> : tensor<f32>
  %s = bb.matmul %q, %k {transpose_rhs} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x16xf32>
  %s2 = bb.mul %s, %c : tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
  %s3 = bb.add %s2, %b : tensor<2x4x16x16xf32>, tensor<1x1x16x16xf32> -> tensor<2x4x16x16xf32>
  %p = bb.softmax %s3 {axis = -1 : i64} : tensor<2x4x16x16xf32>
  %o = bb.matmul %p, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// Hugging Face's order: the causal mask by Where, then the padding mask
// added (bias first in the add).
// CHECK-LABEL: func.func @mask_then_bias
// CHECK: bb.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} bias %{{.*}} {scale = 1.250000e-01 : f32} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> mask tensor<16x16xi1> bias tensor<2x1x1x16xf32>
// CHECK-NOT: bb.softmax
func.func @mask_then_bias(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>,
                          %m: tensor<16x16xi1>, %pad: tensor<2x1x1x16xf32>) -> tensor<2x4x16x8xf32> {
  %c = bb.constant dense<8.0> : tensor<f32>
  %lowest = bb.constant dense<-3.40282347E+38> : tensor<f32>
  %s = bb.matmul %q, %k {transpose_rhs} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x16xf32>
  %s2 = bb.div %s, %c : tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
  %s3 = bb.select %m, %lowest, %s2 : tensor<16x16xi1>, tensor<f32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %s4 = bb.add %pad, %s3 : tensor<2x1x1x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %p = bb.softmax %s4 {axis = -1 : i64} : tensor<2x4x16x16xf32>
  %o = bb.matmul %p, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// What stays: the probabilities are also returned (the model outputs its
// attention weights); a fill that does not remove (0); the softmax over
// the queries; the key broadcast over the batch.
// CHECK-LABEL: func.func @probabilities_read_twice
// CHECK-NOT: bb.attention
// CHECK: bb.softmax
func.func @probabilities_read_twice(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>,
                                    %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %s = bb.matmul %q, %kt : tensor<2x4x8xf32>, tensor<2x8x4xf32> -> tensor<2x4x4xf32>
  %p = bb.softmax %s {axis = -1 : i64} : tensor<2x4x4xf32>
  %o = bb.matmul %p, %v : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %o, %p : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}

// CHECK-LABEL: func.func @fill_zero
// CHECK-NOT: bb.attention
// CHECK: bb.softmax
func.func @fill_zero(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>,
                     %v: tensor<2x4x8xf32>, %m: tensor<4x4xi1>) -> tensor<2x4x8xf32> {
  %zero = bb.constant dense<0.0> : tensor<f32>
  %s = bb.matmul %q, %kt : tensor<2x4x8xf32>, tensor<2x8x4xf32> -> tensor<2x4x4xf32>
  %s2 = bb.select %m, %zero, %s : tensor<4x4xi1>, tensor<f32>, tensor<2x4x4xf32> -> tensor<2x4x4xf32>
  %p = bb.softmax %s2 {axis = -1 : i64} : tensor<2x4x4xf32>
  %o = bb.matmul %p, %v : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// CHECK-LABEL: func.func @softmax_over_queries
// CHECK-NOT: bb.attention
// CHECK: bb.softmax
func.func @softmax_over_queries(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>,
                                %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %s = bb.matmul %q, %kt : tensor<2x4x8xf32>, tensor<2x8x4xf32> -> tensor<2x4x4xf32>
  %p = bb.softmax %s {axis = 1 : i64} : tensor<2x4x4xf32>
  %o = bb.matmul %p, %v : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// CHECK-LABEL: func.func @key_broadcast
// CHECK-NOT: bb.attention
// CHECK: bb.softmax
func.func @key_broadcast(%q: tensor<2x4x8xf32>, %kt: tensor<1x8x4xf32>,
                         %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %s = bb.matmul %q, %kt : tensor<2x4x8xf32>, tensor<1x8x4xf32> -> tensor<2x4x4xf32>
  %p = bb.softmax %s {axis = -1 : i64} : tensor<2x4x4xf32>
  %o = bb.matmul %p, %v : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// The bias added before the scale (scaled with the scores): not the op's
// order.
// CHECK-LABEL: func.func @bias_before_scale
// CHECK-NOT: bb.attention
// CHECK: bb.softmax
func.func @bias_before_scale(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>,
                             %v: tensor<2x4x8xf32>, %b: tensor<4x4xf32>) -> tensor<2x4x8xf32> {
  %c = bb.constant dense<0.5> : tensor<f32>
  %s = bb.matmul %q, %kt : tensor<2x4x8xf32>, tensor<2x8x4xf32> -> tensor<2x4x4xf32>
  %s2 = bb.add %s, %b : tensor<2x4x4xf32>, tensor<4x4xf32> -> tensor<2x4x4xf32>
  %s3 = bb.mul %s2, %c : tensor<2x4x4xf32>, tensor<f32> -> tensor<2x4x4xf32>
  %p = bb.softmax %s3 {axis = -1 : i64} : tensor<2x4x4xf32>
  %o = bb.matmul %p, %v : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}
