//===- Checkpoint.h - training checkpoints ----------------------*- C++ -*-===//
//
// A checkpoint is one .safetensors file holding every state tensor under its
// name, with the training position in its metadata (all strings):
//   bb.format=1, bb.step (steps completed), bb.data_position, bb.rng,
//   bb.seed, bb.shuffle (0/1), bb.data (the --data arguments), bb.model,
//   and bb.data_crc32c (the CRC-32C of the tensors' bytes, checked on
//   resume; absent from checkpoints written before 2026-12-07).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_DRIVER_CHECKPOINT_H
#define BBRT_DRIVER_CHECKPOINT_H

#include "bbrt/model.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bbrt {
namespace driver {

struct CheckpointMeta {
  int64_t step = 0; // steps completed
  int64_t dataPosition = 0;
  uint64_t rng = 0;
  uint64_t seed = 0;
  bool shuffle = false;
  std::string data;  // the --data arguments, space-separated
  std::string model; // the model's name
};

/// DIR/checkpoint.safetensors.
std::string checkpointPath(const std::string &dir);

/// --keep-checkpoints K: besides DIR/checkpoint.safetensors (the latest),
/// the K - 1 before it as DIR/checkpoint-STEP.safetensors. Rank 0 calls
/// keepLatestCheckpoint before a new checkpoint replaces the latest: a hard
/// link (no copy) to it under its step, when that is `step` (the checkpoint
/// this run wrote or resumed from: not a damaged one it fell back from, nor
/// another run's) and no file of that name exists; and pruneKeptCheckpoints
/// after the new one is written:
/// removes all but the newest K - 1 kept ones. Both make the directory
/// durable. A kept checkpoint is a checkpoint like the latest (--resume
/// falls back to the newest readable one when the latest cannot be read).
void keepLatestCheckpoint(const std::string &dir, int64_t step);
void pruneKeptCheckpoints(const std::string &dir, int64_t keep);
/// DIR's kept checkpoints, newest (highest step) first.
std::vector<std::pair<int64_t, std::string>>
keptCheckpoints(const std::string &dir);

/// This process's block of state number `index`, as the gather to rank 0
/// takes it (gatherToRoot in bbrt/sharding.h); `scratch` may hold it. By
/// default the state itself; a pipelined program first moves a state from
/// the stage that holds it to the first stage
/// (PipelineSchedule::stateForRoot).
using StateFetch = std::function<Tensor(size_t index, DeviceBuffer &scratch)>;

/// State number `index` as rank 0 writes it: this rank's block from `fetch`
/// (empty: the state itself), gathered to rank 0 (gatherToRoot). Rank 0
/// gets the global tensor, in host memory; other ranks an empty one. The
/// result may live in `scratch` or `storage`. Every rank calls it for every
/// state, in the same order.
Tensor gatherState(Context *ctx, size_t index, const StateFetch &fetch,
                   DeviceBuffer &scratch, AlignedBuffer &storage);

/// Writes every state of `ctx` and `meta` to `path`, atomically and durably:
/// a failed write leaves the previous checkpoint as it was. In a sharded run
/// every rank calls it: one state at a time, its blocks are gathered to
/// rank 0, which appends the global tensor to the file; so rank 0 holds one
/// state beyond its own at a time. Every rank returns once the file is
/// written.
void writeCheckpoint(const std::string &path, Context *ctx,
                     const CheckpointMeta &meta, const StateFetch &fetch = {});

/// Restores every state `ctx` holds from `path` and returns its metadata.
/// Each state must be there with its dtype and (global) shape; a sharded
/// state gets this rank's slice. Errors name the file and the tensor or
/// metadata key.
CheckpointMeta readCheckpoint(const std::string &path, Context *ctx);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_CHECKPOINT_H
