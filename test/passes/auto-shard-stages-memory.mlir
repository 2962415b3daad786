// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto memory-fraction=0" | FileCheck %s --check-prefix=FREE
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=1" | FileCheck %s --check-prefixes=FREE,ONE
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2" | FileCheck %s --check-prefix=TWO
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2 prune-above=1e-6" 2>&1 | FileCheck %s --check-prefix=PRUNED
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2 prune-above=1e6" | FileCheck %s --check-prefix=TWO
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=1 prune-above=1e-6" | FileCheck %s --check-prefixes=FREE,ONE
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=3" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// RUN: not bb-opt %s --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=0" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2 stage-replicas=2,1" | FileCheck %s --check-prefixes=FREE,REPLICAS
// RUN: not bb-opt %s --bb-autodiff=loss=mse --bb-train-step="optimizer=sgd" --canonicalize --bb-auto-shard="cluster=%S/Inputs/slow-start.textproto stages=2 microbatches=2 stage-replicas=3,1" 2>&1 | FileCheck %s --check-prefix=BADREPLICAS

// Two layers, one per stage: layer.1 widens 16 to 64 features, so its
// stage holds the wide activations (its stash: h, 256 KiB per micro-batch);
// layer.2's stage holds the loss's 1024x16 constant (64 KiB; the rows
// count it once per reader, as for every weight) and its own stash (r and
// the difference, 320 KiB). Two CPU ranks of
// 1 MiB (90%: 921.6 KiB) whose link takes 1 s to start a message:
// replicated is fastest wherever memory allows it.
// FREE-NOT: bb.strategy

// With one micro-batch the stages hold 780.0 and 652.0 KiB, replicated.
// ONE: pipeline_stage_activation_bytes = [790528, 593924]
// ONE-SAME: pipeline_stage_stash_bytes = [262144, 327680]
// ONE-SAME: pipeline_stage_state_bytes = [8192, 8192]
// ONE-SAME: pipeline_stage_weight_bytes = [8, 65540]

// With two, 1F1B keeps two in flight on the first stage: replicated it
// would hold 1036 KiB, over the limit, and the plan splits. (bb-auto-shard
// once gave every stage the average stage's rows: half the state and
// weights and two micro-batches of half the activations, about 908 KiB,
// which let the replicated plan through.)
// TWO: pipeline_stage_activation_bytes = [919552, 462852]
// TWO: bb.strategy

// With the first stage on two replicas, each runs one of the two
// micro-batches: one in flight, as with one micro-batch, and the
// replicated plan fits again.
// REPLICAS: pipeline_stage_activation_bytes = [790528, 593924]
// BADREPLICAS: error: bb-auto-shard: stage-replicas needs one count per stage, each dividing microbatches

// prune-above (the stage search's bound): a plan that needs memory rows is
// given up on when microbatches / stages times its objective so far, a
// lower bound on its pipelined step, is above the bound; with a bound
// above it the plan is the same; one that fits without rows is never
// given up on.
// PRUNED: error: bb-auto-shard: pruned: the step is at least {{[0-9.]+}} ms, above prune-above (0.001 ms)

// BLOCKS: error: bb-auto-shard: the model has 2 blocks (layers and their halves, from its ONNX node names), fewer than the 3 pipeline stages
// BAD: error: bb-auto-shard: --stages and --microbatches must be at least 1
func.func @forward(%x: tensor<1024x16xf32> {bb.name = "x"}) -> (tensor<1024x16xf32> {bb.name = "y"}) {
  %w1 = bb.constant {bb.name = "w1"} dense<0.5> : tensor<16x64xf32>
  %w2 = bb.constant {bb.name = "w2"} dense<0.25> : tensor<64x16xf32>
  %h = bb.matmul %x, %w1 : tensor<1024x16xf32>, tensor<16x64xf32> -> tensor<1024x64xf32> loc("/layer.1/MatMul")
  %r = bb.relu %h : tensor<1024x64xf32> loc("/layer.1/Relu")
  %y = bb.matmul %r, %w2 : tensor<1024x64xf32>, tensor<64x16xf32> -> tensor<1024x16xf32> loc("/layer.2/MatMul")
  return %y : tensor<1024x16xf32>
}
