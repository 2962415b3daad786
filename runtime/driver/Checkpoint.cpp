//===- Checkpoint.cpp - training checkpoints ------------------------------===//
#include "runtime/driver/Checkpoint.h"
#include "bbrt/safetensors.h"
#include "bbrt/sharding.h"
#include "runtime/core/Util.h"
#include "runtime/driver/Cli.h"

#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace bbrt {
namespace driver {

static const char *const kFormat = "1";

std::string checkpointPath(const std::string &dir) {
  return dir + "/checkpoint.safetensors";
}

Tensor gatherState(Context *ctx, size_t index, const StateFetch &fetch,
                   DeviceBuffer &scratch, AlignedBuffer &storage) {
  Tensor local = fetch ? fetch(index, scratch) : stateTensor(ctx, index);
  return gatherToRoot(ctx, ctx->info->states.at(index), local, storage);
}

void writeCheckpoint(const std::string &path, Context *ctx,
                     const CheckpointMeta &meta, const StateFetch &fetch) {
  const std::vector<StateDecl> &states = ctx->info->states;
  std::unique_ptr<SafetensorsWriter> writer;
  if (isRoot()) {
    std::vector<SafetensorsWriter::Entry> entries;
    for (const StateDecl &s : states)
      entries.push_back({s.name, s.dtype, globalShape(*ctx->info, s)});
    const std::map<std::string, std::string> metadata = {
        {"bb.format", kFormat},
        {"bb.step", std::to_string(meta.step)},
        {"bb.data_position", std::to_string(meta.dataPosition)},
        {"bb.rng", std::to_string(meta.rng)},
        {"bb.seed", std::to_string(meta.seed)},
        {"bb.shuffle", meta.shuffle ? "1" : "0"},
        {"bb.data", meta.data},
        {"bb.model", meta.model},
    };
    writer = std::make_unique<SafetensorsWriter>(path, std::move(entries),
                                                 metadata, /*checksum=*/true);
  }
  // One state at a time, gathered to rank 0 (in order, on every rank).
  for (size_t k = 0; k < states.size(); ++k) {
    DeviceBuffer scratch;
    AlignedBuffer gathered;
    Tensor global = gatherState(ctx, k, fetch, scratch, gathered);
    if (writer)
      writer->append(global);
  }
  if (writer)
    writer->commit(/*durable=*/true);
  barrier(); // every rank returns once rank 0 has written the file
}

CheckpointMeta readCheckpoint(const std::string &path, Context *ctx) {
  SafetensorsFile file(path, "checkpoint");
  const std::map<std::string, std::string> &md = file.metadata();
  auto get = [&](const char *key) -> const std::string & {
    auto it = md.find(key);
    BBRT_CHECK(it != md.end(), "checkpoint '%s': metadata %s is missing",
               path.c_str(), key);
    return it->second;
  };
  auto number = [&](const char *key) -> uint64_t {
    unsigned long long v;
    BBRT_CHECK(parseUint64(get(key), v),
               "checkpoint '%s': metadata %s is '%s', not a number",
               path.c_str(), key, get(key).c_str());
    return v;
  };
  BBRT_CHECK(get("bb.format") == kFormat,
             "checkpoint '%s': format '%s' is not supported (%s is)",
             path.c_str(), get("bb.format").c_str(), kFormat);
  // A checkpoint records the CRC-32C of its tensors' bytes (since
  // 2026-12-07; older ones have none): a bit flipped on disk or in transit
  // stops the resume instead of training on from damaged state. Rank 0
  // reads the whole file once and tells the others (every rank reads the
  // same file, so every rank gets here with the same header); they read
  // only their slices.
  if (uint32_t recorded = 0; file.recordedChecksum(recorded)) {
    const uint32_t actual = isRoot() ? file.dataChecksum() : recorded;
    if (anyRank(actual != recorded))
      fail("checkpoint '%s': its tensor data does not match the checksum "
           "it was written with (%s %08x%s): the file is damaged; resume "
           "from another copy",
           path.c_str(), kDataChecksum, recorded,
           isRoot() ? strformat(", the data's %08x", actual).c_str()
                    : ", rank 0 found");
  }
  CheckpointMeta meta;
  meta.step = static_cast<int64_t>(number("bb.step"));
  meta.dataPosition = static_cast<int64_t>(number("bb.data_position"));
  meta.rng = number("bb.rng");
  meta.seed = number("bb.seed");
  meta.shuffle = number("bb.shuffle") != 0;
  meta.data = get("bb.data");
  meta.model = get("bb.model");

  // Check every tensor before overwriting any state.
  const std::vector<StateDecl> &states = ctx->info->states;
  std::vector<const SafetensorsEntry *> entries;
  for (const StateDecl &s : states) {
    const SafetensorsEntry *e = file.find(s.name);
    BBRT_CHECK(e, "checkpoint '%s': tensor '%s' is missing", path.c_str(),
               s.name.c_str());
    BBRT_CHECK(e->known && e->type == s.dtype,
               "checkpoint '%s': tensor '%s' has dtype %s, the model "
               "expects %s",
               path.c_str(), s.name.c_str(), e->dtype.c_str(),
               safetensorsDType(s.dtype));
    BBRT_CHECK(e->shape == globalShape(*ctx->info, s),
               "checkpoint '%s': tensor '%s' has shape %s, the model "
               "expects %s%s",
               path.c_str(), s.name.c_str(), formatDims(e->shape).c_str(),
               formatDims(globalShape(*ctx->info, s)).c_str(),
               shardingNote(*ctx->info, s).c_str());
    entries.push_back(e);
  }
  for (size_t k = 0; k < states.size(); ++k) // this rank's slices
    if (holdsState(ctx, k))
      loadLocalSlice(ctx, states[k], entries[k]->data, ctx->states[k].data());
  return meta;
}

} // namespace driver
} // namespace bbrt
