//===- Checkpoint.cpp - training checkpoints ------------------------------===//
#include "runtime/driver/Checkpoint.h"
#include "bbrt/io.h"
#include "bbrt/safetensors.h"
#include "bbrt/sharding.h"
#include "runtime/core/Util.h"
#include "runtime/driver/Cli.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace bbrt {
namespace driver {

static const char *const kFormat = "1";

std::string checkpointPath(const std::string &dir) {
  return dir + "/checkpoint.safetensors";
}

namespace {

/// syncDirectory (bbrt/io.h) of a checkpoint directory, or the error.
void syncCheckpointDirectory(const std::string &dir) {
  if (int e = syncDirectory(dir))
    fail("cannot sync checkpoint directory '%s': %s", dir.c_str(), strerror(e));
}

} // namespace

std::vector<std::pair<int64_t, std::string>>
keptCheckpoints(const std::string &dir) {
  std::vector<std::pair<int64_t, std::string>> kept;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return kept;
  while (dirent *e = readdir(d)) {
    const std::string name = e->d_name;
    const std::string prefix = "checkpoint-", suffix = ".safetensors";
    if (name.size() <= prefix.size() + suffix.size() ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    unsigned long long step;
    if (parseUint64(name.substr(prefix.size(),
                                name.size() - prefix.size() - suffix.size()),
                    step))
      kept.push_back({static_cast<int64_t>(step), dir + "/" + name});
  }
  closedir(d);
  std::sort(kept.begin(), kept.end(),
            [](const auto &a, const auto &b) { return a.first > b.first; });
  return kept;
}

void keepLatestCheckpoint(const std::string &dir, int64_t step) {
  const std::string latest = checkpointPath(dir);
  struct stat st;
  if (step < 0 || stat(latest.c_str(), &st) != 0)
    return; // nothing this run wrote or resumed from
  try {
    SafetensorsFile file(latest, "checkpoint");
    auto it = file.metadata().find("bb.step");
    unsigned long long recorded = 0;
    if (it == file.metadata().end() || !parseUint64(it->second, recorded) ||
        static_cast<int64_t>(recorded) != step)
      return; // not the one this run vouches for: replaced, not kept
  } catch (const Error &) {
    return; // unreadable: replaced, not kept
  }
  const std::string kept = dir + "/checkpoint-" + std::to_string(step) + ".safetensors";
  if (link(latest.c_str(), kept.c_str()) != 0) {
    if (errno == EEXIST)
      return; // kept already (the run resumed from it)
    fail("cannot keep checkpoint '%s' as '%s': %s", latest.c_str(),
         kept.c_str(), strerror(errno));
  }
  syncCheckpointDirectory(dir);
}

void pruneKeptCheckpoints(const std::string &dir, int64_t keep) {
  std::vector<std::pair<int64_t, std::string>> kept = keptCheckpoints(dir);
  bool removed = false;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(keep - 1, 0));
       i < kept.size(); ++i) {
    if (unlink(kept[i].second.c_str()) != 0 && errno != ENOENT)
      fail("cannot remove old checkpoint '%s': %s", kept[i].second.c_str(),
           strerror(errno));
    removed = true;
  }
  if (removed)
    syncCheckpointDirectory(dir);
}

Tensor gatherState(Context *ctx, size_t index, const StateFetch &fetch,
                   DeviceBuffer &scratch, AlignedBuffer &storage) {
  Tensor local = fetch ? fetch(index, scratch) : stateTensor(ctx, index);
  // Pipeline stages on meshes of their own: the fetch took the state whole
  // to rank 0 (PipelineSchedule::stateForRoot).
  if (fetch && !ctx->info->stageMeshes.empty())
    return isRoot() ? hostView(local, storage) : Tensor();
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
