// RUN: bb-opt %s -split-input-file -verify-diagnostics

// One case per numbered constraint (BbOps.td) that the verifiers and shape
// inference check. Errors from shape inference are followed by
// "failed to infer returned types" on the same op.

// bb.constant C1: value is not a statically shaped tensor
func.func @constant_c1_dynamic() {
  // expected-error @+1 {{result #0 must be statically shaped tensor}}
  %0 = bb.constant dense_resource<w> : tensor<?xf32>
  return
}

// -----

// bb.constant C1: value is a vector, not a tensor
func.func @constant_c1_vector() {
  // expected-error @+1 {{(C1) value must have a statically shaped tensor type}}
  %0 = "bb.constant"() <{value = dense<1.0> : vector<2xf32>}> : () -> tensor<2xf32>
  return
}

// -----

// bb.constant: result type differs from the value's type
func.func @constant_result_type() {
  // expected-error @+2 {{'bb.constant' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = "bb.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<3xf32>
  return
}

// -----

// bb.add C1: element types differ
func.func @add_c1(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+2 {{bb.add: (C1) operand element types differ: 'f32' vs 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.add %a, %b : tensor<4xf32>, tensor<4xf16> -> tensor<4xf32>
  return
}

// -----

// bb.sub C2: shapes are not broadcast-compatible
func.func @sub_c2(%a: tensor<4x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{bb.sub: (C2) operand shapes [4x3] and [4] are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.sub %a, %b : tensor<4x3xf32>, tensor<4xf32> -> tensor<4x3xf32>
  return
}

// -----

// bb.mul C1: signless vs unsigned integers
func.func @mul_c1(%a: tensor<4xi32>, %b: tensor<4xui32>) {
  // expected-error @+2 {{bb.mul: (C1) operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.mul %a, %b : tensor<4xi32>, tensor<4xui32> -> tensor<4xi32>
  return
}

// -----

// bb.div C2: shapes are not broadcast-compatible
func.func @div_c2(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) {
  // expected-error @+2 {{bb.div: (C2) operand shapes [2x3] and [3x2] are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.div %a, %b : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x3xf32>
  return
}

// -----

// bb.pow: a wrong explicitly-written result type (the broadcast shape is 4x3)
func.func @pow_result_type(%a: tensor<4x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{'bb.pow' op inferred type(s) 'tensor<4x3xf32>' are incompatible with return type(s) of operation 'tensor<4x1xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.pow %a, %b : tensor<4x1xf32>, tensor<3xf32> -> tensor<4x1xf32>
  return
}

// -----

// bb.add: the result element type must be the operands'
func.func @add_result_element_type(%a: tensor<4xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.add %a, %a : tensor<4xf32>, tensor<4xf32> -> tensor<4xf16>
  return
}

// -----

// bb.neg: result type must equal the operand type (generic form)
func.func @neg_result_type(%a: tensor<4xf32>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %0 = "bb.neg"(%a) : (tensor<4xf32>) -> tensor<2x2xf32>
  return
}

// -----

// bb.compare C1: element types differ
func.func @compare_c1(%a: tensor<4xi64>, %b: tensor<4xi32>) {
  // expected-error @+2 {{bb.compare: (C1) operand element types differ: 'i64' vs 'i32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.compare <eq>, %a, %b : tensor<4xi64>, tensor<4xi32> -> tensor<4xi1>
  return
}

// -----

// bb.compare C2: shapes are not broadcast-compatible
func.func @compare_c2(%a: tensor<4xi64>, %b: tensor<3xi64>) {
  // expected-error @+2 {{bb.compare: (C2) operand shapes [4] and [3] are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.compare <lt>, %a, %b : tensor<4xi64>, tensor<3xi64> -> tensor<4xi1>
  return
}

// -----

// bb.compare: the result has the broadcast shape
func.func @compare_result_type(%a: tensor<4x1xf32>, %b: tensor<5xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<4x5xi1>' are incompatible with return type(s) of operation 'tensor<4x1xi1>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.compare <ge>, %a, %b : tensor<4x1xf32>, tensor<5xf32> -> tensor<4x1xi1>
  return
}

// -----

// bb.select C1: branch element types differ
func.func @select_c1(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+2 {{bb.select: (C1) branch element types differ: 'f32' vs 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.select %c, %a, %b : tensor<4xi1>, tensor<4xf32>, tensor<4xf16> -> tensor<4xf32>
  return
}

// -----

// bb.select C2: the condition does not broadcast with the branches
func.func @select_c2(%c: tensor<3xi1>, %a: tensor<2x4xf32>, %b: tensor<f32>) {
  // expected-error @+2 {{bb.select: (C2) operand shapes [3] and [2x4] are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.select %c, %a, %b : tensor<3xi1>, tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
  return
}

// -----

// bb.convert: operand and result shapes must agree
func.func @convert_shape(%a: tensor<4xi64>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %0 = bb.convert %a : tensor<4xi64> -> tensor<2xf32>
  return
}

// -----

// bb.matmul C1: an operand of rank < 2
func.func @matmul_c1_rank(%a: tensor<8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+2 {{bb.matmul: (C1) operands must have rank >= 2, got [8] and [8x4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<8xf32>, tensor<8x4xf32> -> tensor<4xf32>
  return
}

// -----

// bb.matmul C1: element types differ
func.func @matmul_c1_element_type(%a: tensor<2x8xf32>, %b: tensor<8x4xf16>) {
  // expected-error @+2 {{bb.matmul: (C1) operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<2x8xf32>, tensor<8x4xf16> -> tensor<2x4xf32>
  return
}

// -----

// bb.matmul C4: an f32 product cannot come out as bf16
func.func @matmul_c4_narrower(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+2 {{'bb.matmul' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4xbf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xbf16>
  return
}

// -----

// bb.matmul C4: bf16 operands give bf16 or f32, not f16
func.func @matmul_c4_other(%a: tensor<2x8xbf16>, %b: tensor<8x4xbf16>) {
  // expected-error @+2 {{'bb.matmul' op inferred type(s) 'tensor<2x4xbf16>' are incompatible with return type(s) of operation 'tensor<2x4xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<2x8xbf16>, tensor<8x4xbf16> -> tensor<2x4xf16>
  return
}

// -----

// bb.matmul C5: tf32 takes f32 operands
func.func @matmul_c5(%a: tensor<2x8xbf16>, %b: tensor<8x4xbf16>) {
  // expected-error @+1 {{'bb.matmul' op (C5) tf32 needs f32 operands, not 'tensor<2x8xbf16>'}}
  %0 = bb.matmul %a, %b {tf32} : tensor<2x8xbf16>, tensor<8x4xbf16> -> tensor<2x4xf32>
  return
}

// -----

// bb.linear C1 (bb.matmul's C5): tf32 takes f32 operands
func.func @linear_c5(%a: tensor<2x8xf64>, %b: tensor<8x4xf64>, %c: tensor<4xf64>) {
  // expected-error @+1 {{'bb.linear' op (C5) tf32 needs f32 operands, not 'tensor<2x8xf64>'}}
  %0 = bb.linear %a, %b, %c {tf32} : (tensor<2x8xf64>, tensor<8x4xf64>, tensor<4xf64>) -> tensor<2x4xf64>
  return
}

// -----

// bb.linear C1: the product is not the output
func.func @linear_c1(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{'bb.linear' op (C1) the product is 'tensor<2x4xf32>', the output 'tensor<2x5xf32>'}}
  %0 = bb.linear %a, %b, %c : (tensor<2x8xf32>, tensor<8x4xf32>, tensor<4xf32>) -> tensor<2x5xf32>
  return
}

// -----

// bb.linear C1: the operands are no product
func.func @linear_c1_product(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{bb.linear: (C2) contracted dimensions differ: 8 vs 4}}
  %0 = bb.linear %a, %b, %c : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// bb.linear C2: the bias is not a vector along the last dimension (nor an
// addend of the output's shape)
func.func @linear_c2(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>, %c: tensor<2xf32>) {
  // expected-error @+1 {{'bb.linear' op (C2) bias 'tensor<2xf32>' does not fit the output 'tensor<2x4xf32>'}}
  %0 = bb.linear %a, %b, %c : (tensor<2x8xf32>, tensor<8x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return
}

// -----

// bb.matmul C2: contracted dimensions differ
func.func @matmul_c2(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+2 {{bb.matmul: (C2) contracted dimensions differ: 8 vs 4 (shapes [2x8] and [4x8])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  return
}

// -----

// bb.matmul C2: transpose_rhs makes the contraction 8 vs 4
func.func @matmul_c2_transposed(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+2 {{bb.matmul: (C2) contracted dimensions differ: 8 vs 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b {transpose_rhs} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x8xf32>
  return
}

// -----

// bb.matmul C3: batch dimensions are not broadcast-compatible
func.func @matmul_c3(%a: tensor<3x2x8xf32>, %b: tensor<2x8x4xf32>) {
  // expected-error @+2 {{bb.matmul: (C3) batch dimensions are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b : tensor<3x2x8xf32>, tensor<2x8x4xf32> -> tensor<3x2x4xf32>
  return
}

// -----

// bb.matmul: a wrong explicitly-written result type (transpose_lhs gives 8x4)
func.func @matmul_result_type(%a: tensor<2x8xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+2 {{'bb.matmul' op inferred type(s) 'tensor<8x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.matmul %a, %b {transpose_lhs} : tensor<2x8xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

// bb.conv C1: input and weight ranks differ
func.func @conv_c1(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C1) input [1x3x8x8] and weight [4x3x3] must have the same rank >= 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C2: pads has one entry per spatial dimension instead of two
func.func @conv_c2_count(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C2) window attributes must have one entry per spatial dimension (2) and pads two}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C2: a zero stride
func.func @conv_c2_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C2) strides, dilations and kernel sizes must be positive and pads non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 0>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C2: a negative pad
func.func @conv_c2_pad(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C2) strides, dilations and kernel sizes must be positive and pads non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, -1>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x5xf32>
  return
}

// -----

// bb.conv C3: group does not divide the input channels
func.func @conv_c3_group(%x: tensor<1x6x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C3) group 4 does not fit 6 input channels, 4 filters and weight [4x3x3x3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64}
       : (tensor<1x6x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C3: weight dim 1 is not C / group
func.func @conv_c3_weight(%x: tensor<1x6x8x8xf32>, %w: tensor<4x6x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C3) group 2 does not fit 6 input channels, 4 filters and weight [4x6x3x3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x6x8x8xf32>, tensor<4x6x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C3: group must be positive
func.func @conv_c3_zero_group(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C3) group 0 does not fit}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 0 : i64}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C4: bias is not [F]
func.func @conv_c4(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{bb.conv: (C4) bias shape [3] is not [4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

// bb.conv C5: the dilated kernel (2 * (3 - 1) + 1 = 5) is larger than the input
func.func @conv_c5(%x: tensor<1x3x4x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{bb.conv: (C5) output spatial dimension 0 would be empty (input [1x3x4x8])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}
       : (tensor<1x3x4x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x4xf32>
  return
}

// -----

// bb.conv: a wrong explicitly-written result type (stride 2 gives 4x4)
func.func @conv_result_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{'bb.conv' op inferred type(s) 'tensor<1x4x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x4x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

// bb.max_pool C1: input of rank < 3
func.func @max_pool_c1(%x: tensor<3x8xf32>) {
  // expected-error @+2 {{bb.max_pool: (C1) input [3x8] must have rank >= 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool %x {kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>} : tensor<3x8xf32> -> tensor<3x4xf32>
  return
}

// -----

// bb.max_pool C2: kernel_shape has the wrong number of entries
func.func @max_pool_c2_count(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{bb.max_pool: (C2) window attributes must have one entry per spatial dimension (2) and pads two}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool %x {kernel_shape = array<i64: 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

// bb.max_pool C2: a zero stride
func.func @max_pool_c2_stride(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{bb.max_pool: (C2) strides, dilations and kernel sizes must be positive and pads non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 0, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

// bb.avg_pool C2: a pad as large as the kernel
func.func @avg_pool_c2_pad(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{bb.avg_pool: (C2) pads must be smaller than the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.avg_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 2, 0>} : tensor<1x3x8x8xf32> -> tensor<1x3x5x4xf32>
  return
}

// -----

// bb.avg_pool C3: the kernel is larger than the input
func.func @avg_pool_c3(%x: tensor<1x3x2x8xf32>) {
  // expected-error @+2 {{bb.avg_pool: (C3) output spatial dimension 0 would be empty (input [1x3x2x8])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x3x2x8xf32> -> tensor<1x3x1x6xf32>
  return
}

// -----

// bb.max_pool: a wrong explicitly-written result type (ceil_mode gives 4, not 3)
func.func @max_pool_result_type(%x: tensor<1x3x7x7xf32>) {
  // expected-error @+2 {{'bb.max_pool' op inferred type(s) 'tensor<1x3x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x3x3x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode} : tensor<1x3x7x7xf32> -> tensor<1x3x3x3xf32>
  return
}

// -----

// bb.batch_norm C1: input of rank < 2
func.func @batch_norm_c1(%x: tensor<16xf32>, %c: tensor<16xf32>) {
  // expected-error @+2 {{bb.batch_norm: (C1) input must have rank >= 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.batch_norm %x, %c, %c, %c, %c : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return
}

// -----

// bb.batch_norm C2: a per-channel operand (here the variance) is not [C]
func.func @batch_norm_c2(%x: tensor<1x16x4x4xf32>, %c: tensor<16xf32>, %v: tensor<8xf32>) {
  // expected-error @+2 {{bb.batch_norm: (C2) per-channel operand shape [8] is not [16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.batch_norm %x, %c, %c, %c, %v : (tensor<1x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<8xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

// bb.layer_norm C1: axis out of range
func.func @layer_norm_c1(%x: tensor<2x16x64xf32>, %g: tensor<2x16x64xf32>) {
  // expected-error-re @+2 {{bb.layer_norm: (C1) axis {{.*}} is out of range for rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.layer_norm %x, %g {axis = -4 : i64} : (tensor<2x16x64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

// bb.layer_norm C2: scale is not the normalized shape
func.func @layer_norm_c2_scale(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+2 {{bb.layer_norm: (C2) scale/bias shape [64] is not the normalized shape [16x64]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.layer_norm %x, %g {axis = 1 : i64} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

// bb.layer_norm C2: bias is not the normalized shape
func.func @layer_norm_c2_bias(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %b: tensor<16xf32>) {
  // expected-error @+2 {{bb.layer_norm: (C2) scale/bias shape [16] is not the normalized shape [64]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.layer_norm %x, %g, %b : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<16xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

// bb.softmax C1: axis out of range
func.func @softmax_c1(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'bb.softmax' op (C1) axis 2 is out of range for rank 2}}
  %0 = bb.softmax %x {axis = 2 : i64} : tensor<2x8xf32>
  return
}

// -----

// bb.log_softmax C1: negative axis out of range
func.func @log_softmax_c1(%x: tensor<2x8xf32>) {
  // expected-error-re @+1 {{'bb.log_softmax' op (C1) axis {{.*}} is out of range for rank 2}}
  %0 = bb.log_softmax %x {axis = -3 : i64} : tensor<2x8xf32>
  return
}

// -----

// bb.reduce_sum C1: axes not sorted
func.func @reduce_sum_c1_unsorted(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.reduce_sum: (C1) axes must be sorted, unique and in [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.reduce_sum %x {axes = array<i64: 2, 0>} : tensor<2x3x4xf32> -> tensor<3xf32>
  return
}

// -----

// bb.reduce_mean C1: an axis repeated
func.func @reduce_mean_c1_duplicate(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.reduce_mean: (C1) axes must be sorted, unique and in [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.reduce_mean %x {axes = array<i64: 1, 1>} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  return
}

// -----

// bb.reduce_max C1: a negative axis (axes are normalized at import)
func.func @reduce_max_c1_negative(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.reduce_max: (C1) axes must be sorted, unique and in [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.reduce_max %x {axes = array<i64: -1>} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return
}

// -----

// bb.reduce_sum C1: an axis past the rank
func.func @reduce_sum_c1_range(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.reduce_sum: (C1) axes must be sorted, unique and in [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.reduce_sum %x {axes = array<i64: 3>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return
}

// -----

// bb.reduce_sum: without keepdims the reduced dimensions are removed
func.func @reduce_sum_result_type(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'bb.reduce_sum' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<2x1x1xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.reduce_sum %x {axes = array<i64: 1, 2>} : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  return
}

// -----

// bb.gather C1: axis out of range
func.func @gather_c1(%d: tensor<16x8xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{bb.gather: (C1) axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.gather %d, %i {axis = 2 : i64} : tensor<16x8xf32>, tensor<4xi64> -> tensor<16x8xf32>
  return
}

// -----

// bb.gather C1: negative axis
func.func @gather_c1_negative(%d: tensor<16x8xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{bb.gather: (C1) axis -1 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.gather %d, %i {axis = -1 : i64} : tensor<16x8xf32>, tensor<4xi64> -> tensor<16x4xf32>
  return
}

// -----

// bb.gather: the result is data[:axis] + indices + data[axis+1:]
func.func @gather_result_type(%d: tensor<16x8xf32>, %i: tensor<2x3xi32>) {
  // expected-error @+2 {{'bb.gather' op inferred type(s) 'tensor<16x2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x3x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.gather %d, %i {axis = 1 : i64} : tensor<16x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
  return
}

// -----

// bb.reshape C1: element count changes
func.func @reshape_c1_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'bb.reshape' op (C1) cannot reshape 'tensor<2x3xf32>' to 'tensor<7xf32>': element type and element count must be kept}}
  %0 = bb.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

// bb.reshape C1: element type changes
func.func @reshape_c1_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'bb.reshape' op (C1) cannot reshape 'tensor<2x3xf32>' to 'tensor<6xi32>'}}
  %0 = bb.reshape %x : tensor<2x3xf32> -> tensor<6xi32>
  return
}

// -----

// bb.transpose C1: a repeated entry
func.func @transpose_c1_repeat(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.transpose: (C1) permutation [0x0x1] is not a permutation of [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.transpose %x {permutation = array<i64: 0, 0, 1>} : tensor<2x3x4xf32> -> tensor<2x2x3xf32>
  return
}

// -----

// bb.transpose C1: too few entries
func.func @transpose_c1_length(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{bb.transpose: (C1) permutation [1x0] is not a permutation of [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3x4xf32> -> tensor<3x2xf32>
  return
}

// -----

// bb.transpose C1: an entry out of range
func.func @transpose_c1_range(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{bb.transpose: (C1) permutation [2x0] is not a permutation of [0, 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.transpose %x {permutation = array<i64: 2, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

// bb.transpose: a wrong explicitly-written result type
func.func @transpose_result_type(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'bb.transpose' op inferred type(s) 'tensor<4x2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x4x2xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  return
}

// -----

// bb.concat C1: no inputs
func.func @concat_c1_empty() {
  // expected-error @+2 {{bb.concat: (C1) needs at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = "bb.concat"() <{axis = 0 : i64}> : () -> tensor<0xf32>
  return
}

// -----

// bb.concat C1: ranks differ
func.func @concat_c1_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error @+2 {{bb.concat: (C1) inputs differ in rank or element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<2x6xf32>
  return
}

// -----

// bb.concat C1: element types differ
func.func @concat_c1_type(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) {
  // expected-error @+2 {{bb.concat: (C1) inputs differ in rank or element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x6xf32>
  return
}

// -----

// bb.concat C2: axis out of range
func.func @concat_c2(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{bb.concat: (C2) axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

// bb.concat C3: a dimension other than axis differs
func.func @concat_c3(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{bb.concat: (C3) input [4x5] does not match [2x3] outside axis 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x8xf32>
  return
}

// -----

// bb.concat: a wrong explicitly-written result type (3 + 5 = 8)
func.func @concat_result_type(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) {
  // expected-error @+2 {{'bb.concat' op inferred type(s) 'tensor<2x8xf32>' are incompatible with return type(s) of operation 'tensor<2x7xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x7xf32>
  return
}

// -----

// bb.slice C1: limits has the wrong number of entries
func.func @slice_c1(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C1) starts, limits and strides need 2 entries}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 0, 0>, limits = array<i64: 4>, strides = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<4x6xf32>
  return
}

// -----

// bb.slice C2: a zero stride
func.func @slice_c2_zero_stride(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C2) dimension 1 of size 6 cannot be sliced from 0 to 6 by 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 0, 0>, limits = array<i64: 4, 6>, strides = array<i64: 1, 0>} : tensor<4x6xf32> -> tensor<4x6xf32>
  return
}

// -----

// bb.slice C2: positive stride with limit past the dimension
func.func @slice_c2_limit(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C2) dimension 0 of size 4 cannot be sliced from 0 to 5 by 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 0, 0>, limits = array<i64: 5, 6>, strides = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<5x6xf32>
  return
}

// -----

// bb.slice C2: positive stride with start after limit
func.func @slice_c2_start_after_limit(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C2) dimension 1 of size 6 cannot be sliced from 4 to 2 by 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 0, 4>, limits = array<i64: 4, 2>, strides = array<i64: 1, 1>} : tensor<4x6xf32> -> tensor<4x0xf32>
  return
}

// -----

// bb.slice C2: negative stride with start == dim
func.func @slice_c2_negative_start(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C2) dimension 0 of size 4 cannot be sliced from 4 to -1 by -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 4, 0>, limits = array<i64: -1, 6>, strides = array<i64: -1, 1>} : tensor<4x6xf32> -> tensor<5x6xf32>
  return
}

// -----

// bb.slice C2: negative stride with limit below -1
func.func @slice_c2_negative_limit(%x: tensor<4x6xf32>) {
  // expected-error @+2 {{bb.slice: (C2) dimension 0 of size 4 cannot be sliced from 3 to -2 by -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 3, 0>, limits = array<i64: -2, 6>, strides = array<i64: -1, 1>} : tensor<4x6xf32> -> tensor<5x6xf32>
  return
}

// -----

// bb.slice: a wrong explicitly-written result type (ceil(5 / 2) = 3 rows)
func.func @slice_result_type(%x: tensor<6x6xf32>) {
  // expected-error @+2 {{'bb.slice' op inferred type(s) 'tensor<3x6xf32>' are incompatible with return type(s) of operation 'tensor<2x6xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.slice %x {starts = array<i64: 5, 0>, limits = array<i64: 0, 6>, strides = array<i64: -2, 1>} : tensor<6x6xf32> -> tensor<2x6xf32>
  return
}

// -----

// bb.broadcast_to C1: the shapes are incompatible
func.func @broadcast_to_c1_shape(%x: tensor<3xf32>) {
  // expected-error @+1 {{'bb.broadcast_to' op (C1) 'tensor<3xf32>' does not broadcast to 'tensor<2x4xf32>'}}
  %0 = bb.broadcast_to %x : tensor<3xf32> -> tensor<2x4xf32>
  return
}

// -----

// bb.broadcast_to C1: the result is smaller than the broadcast shape
func.func @broadcast_to_c1_not_exact(%x: tensor<2x1xf32>) {
  // expected-error @+1 {{'bb.broadcast_to' op (C1) 'tensor<2x1xf32>' does not broadcast to 'tensor<3xf32>'}}
  %0 = bb.broadcast_to %x : tensor<2x1xf32> -> tensor<3xf32>
  return
}

// -----

// bb.broadcast_to C1: element types differ
func.func @broadcast_to_c1_type(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'bb.broadcast_to' op (C1) 'tensor<1x3xf32>' does not broadcast to 'tensor<2x3xf16>'}}
  %0 = bb.broadcast_to %x : tensor<1x3xf32> -> tensor<2x3xf16>
  return
}

// -----

// bb.trilu C1: input of rank < 2
func.func @trilu_c1(%x: tensor<8xf32>) {
  // expected-error @+1 {{'bb.trilu' op (C1) input must have rank >= 2}}
  %0 = bb.trilu %x {upper = true} : tensor<8xf32>
  return
}

// -----

// bb.conv_input_grad C1: the result has another rank
func.func @conv_input_grad_c1(%dy: tensor<1x4x6x6xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{bb.conv_input_grad: (C1) grad, weight [1x4x6x6], [4x3x3x3] and result [1x3x8] must have the same rank >= 3 and element type}}
  %0 = bb.conv_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x4x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8xf32>
  return
}

// -----

// bb.conv_input_grad C2: a zero dilation
func.func @conv_input_grad_c2(%dy: tensor<1x4x6x6xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{bb.conv_input_grad: (C2) strides, dilations and kernel sizes must be positive and pads non-negative}}
  %0 = bb.conv_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 0, 1>}
       : (tensor<1x4x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32>
  return
}

// -----

// bb.conv_input_grad C3: weight dim 1 is not C / group
func.func @conv_input_grad_c3(%dy: tensor<1x4x6x6xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{bb.conv_input_grad: (C3) group 2 does not fit 12 input channels, 4 filters and weight [4x3x3x3]}}
  %0 = bb.conv_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x4x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x12x8x8xf32>
  return
}

// -----

// bb.conv_input_grad C4: grad is not the conv's output shape (8 - 3 + 1 = 6)
func.func @conv_input_grad_c4(%dy: tensor<1x4x5x6xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{bb.conv_input_grad: (C4) grad shape [1x4x5x6] is not [1x4x6x6], the result of bb.conv for input [1x3x8x8]}}
  %0 = bb.conv_input_grad %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x4x5x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32>
  return
}

// -----

// bb.conv_weight_grad C1: element types differ
func.func @conv_weight_grad_c1(%x: tensor<1x3x8x8xf32>, %dy: tensor<1x4x6x6xf16>) {
  // expected-error @+1 {{bb.conv_weight_grad: (C1) input, grad [1x3x8x8], [1x4x6x6] and result [4x3x3x3] must have the same rank >= 3 and element type}}
  %0 = bb.conv_weight_grad %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<1x4x6x6xf16>) -> tensor<4x3x3x3xf32>
  return
}

// -----

// bb.conv_weight_grad C2: pads has one entry per spatial dimension
func.func @conv_weight_grad_c2(%x: tensor<1x3x8x8xf32>, %dy: tensor<1x4x6x6xf32>) {
  // expected-error @+1 {{bb.conv_weight_grad: (C2) window attributes must have one entry per spatial dimension (2) and pads two}}
  %0 = bb.conv_weight_grad %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<1x4x6x6xf32>) -> tensor<4x3x3x3xf32>
  return
}

// -----

// bb.conv_weight_grad C3: group does not divide the filters
func.func @conv_weight_grad_c3(%x: tensor<1x6x8x8xf32>, %dy: tensor<1x5x6x6xf32>) {
  // expected-error @+1 {{bb.conv_weight_grad: (C3) group 2 does not fit 6 input channels, 5 filters and weight [5x3x3x3]}}
  %0 = bb.conv_weight_grad %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x6x8x8xf32>, tensor<1x5x6x6xf32>) -> tensor<5x3x3x3xf32>
  return
}

// -----

// bb.conv_weight_grad C4: grad has another filter count than the result
func.func @conv_weight_grad_c4(%x: tensor<1x3x8x8xf32>, %dy: tensor<1x4x6x6xf32>) {
  // expected-error @+1 {{bb.conv_weight_grad: (C4) grad shape [1x4x6x6] is not [1x5x6x6], the result of bb.conv for input [1x3x8x8]}}
  %0 = bb.conv_weight_grad %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
       : (tensor<1x3x8x8xf32>, tensor<1x4x6x6xf32>) -> tensor<5x3x3x3xf32>
  return
}

// -----

// bb.max_pool_grad C1: grad has another rank
func.func @max_pool_grad_c1(%x: tensor<1x2x8x8xf32>, %dy: tensor<2x4x4xf32>) {
  // expected-error @+2 {{bb.max_pool_grad: (C1) input [1x2x8x8] and grad [2x4x4] must have the same rank >= 3 and element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool_grad %x, %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>}
       : tensor<1x2x8x8xf32>, tensor<2x4x4xf32> -> tensor<1x2x8x8xf32>
  return
}

// -----

// bb.max_pool_grad C2: a pad as large as the kernel
func.func @max_pool_grad_c2(%x: tensor<1x2x8x8xf32>, %dy: tensor<1x2x5x5xf32>) {
  // expected-error @+2 {{bb.max_pool_grad: (C2) pads must be smaller than the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool_grad %x, %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 2, 2, 0, 0>}
       : tensor<1x2x8x8xf32>, tensor<1x2x5x5xf32> -> tensor<1x2x8x8xf32>
  return
}

// -----

// bb.max_pool_grad C3: grad is the floor-mode output, the op is ceil mode
func.func @max_pool_grad_c3(%x: tensor<1x2x8x8xf32>, %dy: tensor<1x2x3x3xf32>) {
  // expected-error @+2 {{bb.max_pool_grad: (C3) grad shape [1x2x3x3] is not [1x2x4x4], the result of bb.max_pool for input [1x2x8x8]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = bb.max_pool_grad %x, %dy {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode}
       : tensor<1x2x8x8xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x8x8xf32>
  return
}

// -----

// bb.avg_pool_grad C1: the result has rank 2
func.func @avg_pool_grad_c1(%dy: tensor<2x4xf32>) {
  // expected-error @+1 {{bb.avg_pool_grad: (C1) grad [2x4], [2x4] and result [2x8] must have the same rank >= 3 and element type}}
  %0 = bb.avg_pool_grad %dy {kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>}
       : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

// bb.avg_pool_grad C2: a zero stride
func.func @avg_pool_grad_c2(%dy: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{bb.avg_pool_grad: (C2) strides, dilations and kernel sizes must be positive and pads non-negative}}
  %0 = bb.avg_pool_grad %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 0>, pads = array<i64: 0, 0, 0, 0>}
       : tensor<1x2x4x4xf32> -> tensor<1x2x8x8xf32>
  return
}

// -----

// bb.avg_pool_grad C3: the result is not the input that gives grad
func.func @avg_pool_grad_c3(%dy: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{bb.avg_pool_grad: (C3) grad shape [1x2x4x4] is not [1x2x5x5], the result of bb.avg_pool for input [1x2x10x10]}}
  %0 = bb.avg_pool_grad %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>}
       : tensor<1x2x4x4xf32> -> tensor<1x2x10x10xf32>
  return
}

// -----

// bb.slice_grad C1: strides has one entry too few
func.func @slice_grad_c1(%dy: tensor<2x3xf32>) {
  // expected-error @+1 {{bb.slice_grad: (C1) starts, limits and strides need 2 entries}}
  %0 = bb.slice_grad %dy {starts = array<i64: 0, 0>, limits = array<i64: 4, 6>, strides = array<i64: 2>}
       : tensor<2x3xf32> -> tensor<4x6xf32>
  return
}

// -----

// bb.slice_grad C2: a negative stride starting past the dimension
func.func @slice_grad_c2(%dy: tensor<2x3xf32>) {
  // expected-error @+1 {{bb.slice_grad: (C2) dimension 1 of size 6 cannot be sliced from 6 to -1 by -2}}
  %0 = bb.slice_grad %dy {starts = array<i64: 0, 6>, limits = array<i64: 4, -1>, strides = array<i64: 2, -2>}
       : tensor<2x3xf32> -> tensor<4x6xf32>
  return
}

// -----

// bb.slice_grad C3: the slice has 3 columns (5, 3, 1), not 2
func.func @slice_grad_c3(%dy: tensor<2x2xf32>) {
  // expected-error @+1 {{bb.slice_grad: (C3) grad shape [2x2] is not [2x3], the result of bb.slice for input [4x6]}}
  %0 = bb.slice_grad %dy {starts = array<i64: 0, 5>, limits = array<i64: 4, -1>, strides = array<i64: 2, -2>}
       : tensor<2x2xf32> -> tensor<4x6xf32>
  return
}

// -----

// bb.recompute_barrier C1: the result has the input's type
func.func @recompute_barrier_c1(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "bb.recompute_barrier"(%x) : (tensor<2x4xf32>) -> tensor<4x2xf32>
  return
}

// -----

// bb.fused_elementwise C1: one body argument per input, of its element type
func.func @fused_args(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{(C1) the body has 2 arguments for 1 inputs}}
  %0 = bb.fused_elementwise %x : tensor<4xf32> -> tensor<4xf32> {
  ^bb0(%a: f32, %b: f32):
    bb.yield %a : f32
  }
  return %0 : tensor<4xf32>
}

// -----

// bb.fused_elementwise C2: inputs broadcast to the result
func.func @fused_broadcast(%x: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{(C2) input 0 of type 'tensor<3xf32>' does not broadcast to 'tensor<4xf32>'}}
  %0 = bb.fused_elementwise %x : tensor<3xf32> -> tensor<4xf32> {
  ^bb0(%a: f32):
    bb.yield %a : f32
  }
  return %0 : tensor<4xf32>
}

// -----

// bb.fused_elementwise C3: the body yields the result's element type
func.func @fused_yield(%x: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error @+1 {{(C3) the body must end with bb.yield of 'f64'}}
  %0 = bb.fused_elementwise %x : tensor<4xf32> -> tensor<4xf64> {
  ^bb0(%a: f32):
    bb.yield %a : f32
  }
  return %0 : tensor<4xf64>
}

// -----

// bb.fused_reduce C4: the result is the iteration shape reduced over axes
func.func @fused_reduce_shape(%x: tensor<4x8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{(C4) reducing the iteration shape [4x8] over axes [1] does not give 'tensor<8xf32>'}}
  %0 = bb.fused_reduce %x {axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<8xf32> {
  ^bb0(%a: f32):
    bb.yield %a : f32
  }
  return %0 : tensor<8xf32>
}

// -----

// bb.fused_reduce C2: the inputs' shapes broadcast against each other
func.func @fused_reduce_broadcast(%x: tensor<4x8xf32>, %y: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{(C2) input shapes [4x8], [3] are not broadcast-compatible}}
  %0 = bb.fused_reduce %x, %y {axes = array<i64: 1>} : tensor<4x8xf32>, tensor<3xf32> -> tensor<4xf32> {
  ^bb0(%a: f32, %b: f32):
    bb.yield %a : f32
  }
  return %0 : tensor<4xf32>
}

// -----

// bb.attention C1: the key's features are the query's
func.func @attention_key_features(%q: tensor<2x4x8xf32>, %k: tensor<2x6x7xf32>, %v: tensor<2x6x5xf32>) {
  // expected-error @+2 {{bb.attention: query [2x4x8], key [2x6x7] and value [2x6x5] are not [..., T, D], [..., S, D] and [..., S, E] (C1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %o, %l = bb.attention %q, %k, %v : tensor<2x4x8xf32>, tensor<2x6x7xf32>, tensor<2x6x5xf32> -> tensor<2x4x5xf32>, tensor<2x4xf32>
  return
}

// -----

// bb.attention C2: the mask broadcasts to the scores [2x4x6]
func.func @attention_mask(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x5xf32>, %m: tensor<4x5xi1>) {
  // expected-error @+2 {{bb.attention: mask [4x5] does not broadcast to the scores [2x4x6] (C2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %o, %l = bb.attention %q, %k, %v mask %m : tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x5xf32> mask tensor<4x5xi1> -> tensor<2x4x5xf32>, tensor<2x4xf32>
  return
}

// -----

// bb.attention_grad: the gradient has the output's type
func.func @attention_grad_type(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x5xf32>, %l: tensor<2x4xf32>, %g: tensor<2x4x8xf32>) {
  // expected-error @+2 {{bb.attention_grad: grad must be 'tensor<2x4x5xf32>' and logsumexp 'tensor<2x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %dq, %dk, %dv = bb.attention_grad %q, %k, %v, %l, %g : tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x5xf32>, tensor<2x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x5xf32>
  return
}

// -----

// bb.attention C3: products round to tf32, bf16 or f16
func.func @attention_products(%q: tensor<2x4x8xf32>) {
  // expected-error @+2 {{bb.attention: products must be tf32, bf16 or f16 (C3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %o, %l = bb.attention %q, %q, %q {products = f64} : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>, tensor<2x4xf32>
  return
}
