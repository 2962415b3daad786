// RUN: bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto memory-fraction=0" | FileCheck %s --check-prefix=FREE
// RUN: bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=1" | FileCheck %s --check-prefix=FREE
// RUN: bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2" | FileCheck %s --check-prefix=SPLIT
// RUN: bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto" | FileCheck %s --check-prefix=SPLIT
// RUN: not bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=0" 2>&1 | FileCheck %s --check-prefix=BAD

// Replicated, the function needs 128 KiB of activations and 2 KiB of
// weights per device; split over the batch, 64 KiB and 2 KiB, at the cost
// of gathering the result over a link that takes 1 s to start. A device
// may use 0.9 x 111 KiB.
// Without a memory limit, replicated is fastest.
// FREE: bb.plan = {activation_bytes_per_device = 131072
// FREE-NOT: bb.strategy

// As one micro-batch's step of a pipeline of two stages: each stage holds
// half the weights, and with one micro-batch half the activations (65 KiB):
// replicated fits. With two micro-batches the first stage holds both in
// flight, each with its half (129 KiB): only the split fits. (bb-auto-shard
// once checked the whole step against twice a device's memory, which let
// the replicated plan through.) Unpipelined, the split is needed too.
// SPLIT: bb.plan = {activation_bytes_per_device = 65536
// SPLIT: bb.matmul {{.*}} {bb.strategy = array<i64: 0>}
// SPLIT: bb.relu {{.*}} {bb.strategy = array<i64: 0>}
// SPLIT: bb.matmul {{.*}} {bb.strategy = array<i64: 0>}

// BAD: error: bb-auto-shard: --stages and --microbatches must be at least 1
func.func @forward(%x: tensor<1024x16xf32> {bb.name = "x"}) -> (tensor<1024x16xf32> {bb.name = "y"}) {
  %w1 = bb.constant {bb.name = "w1"} dense<0.5> : tensor<16x16xf32>
  %w2 = bb.constant {bb.name = "w2"} dense<0.25> : tensor<16x16xf32>
  %h = bb.matmul %x, %w1 : tensor<1024x16xf32>, tensor<16x16xf32> -> tensor<1024x16xf32>
  %r = bb.relu %h : tensor<1024x16xf32>
  %y = bb.matmul %r, %w2 : tensor<1024x16xf32>, tensor<16x16xf32> -> tensor<1024x16xf32>
  return %y : tensor<1024x16xf32>
}
