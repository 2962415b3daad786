//===- PipelineSchedule.cpp - 1F1B over a model's pipeline stages ---------===//
#include "runtime/driver/PipelineSchedule.h"
#include "runtime/driver/PipelineOrder.h"

#include "bbrt/sharding.h"
#include "runtime/core/Distributed.h"
#include "runtime/core/Util.h"

#include <cstring>
#include <set>

namespace bbrt {
namespace driver {

namespace {

// MPI tags: crossings use their number; the per-step parameter refresh and
// the gather to stage 0 use the state's index above these bases.
constexpr int kRefreshTag = 16384;
constexpr int kGatherTag = 24576;
constexpr int kTagRange = 8192;

std::string attr(const ModelInfo &info, const std::string &key) {
  auto it = info.attributes.find(key);
  BBRT_CHECK(it != info.attributes.end(),
             "the model has pipeline stages but no attribute '%s'",
             key.c_str());
  return it->second;
}

int64_t attrInt(const ModelInfo &info, const std::string &key) {
  const std::string v = attr(info, key);
  char *end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  BBRT_CHECK(end && *end == 0 && n > 0,
             "the model's attribute '%s' is '%s', not a positive number",
             key.c_str(), v.c_str());
  return n;
}

std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos)
      comma = s.size();
    if (comma > start)
      out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string stagePrefix(int64_t s) {
  return "pipeline.stage" + std::to_string(s) + ".";
}

/// The stage number of a function named stage<N>_<part>; -1 otherwise.
int64_t stageOfFunction(const std::string &name) {
  if (name.rfind("stage", 0) != 0)
    return -1;
  char *end = nullptr;
  long long s = std::strtoll(name.c_str() + 5, &end, 10);
  return end && *end == '_' ? s : -1;
}

Tensor floats(const DeviceBuffer &b) {
  return Tensor(b.data(), DType::F32,
                {static_cast<int64_t>(b.size() / sizeof(float))});
}

/// The states (indices) stage `s` lists under `key` ("owns" or "reads").
std::vector<size_t> stageStates(const ModelInfo &info, int64_t s,
                                const char *key) {
  std::map<std::string, size_t> stateIndex;
  for (size_t k = 0; k < info.states.size(); ++k)
    stateIndex[info.states[k].name] = k;
  std::vector<size_t> ks;
  for (const std::string &n : splitList(attr(info, stagePrefix(s) + key))) {
    auto it = stateIndex.find(n);
    BBRT_CHECK(it != stateIndex.end(),
               "pipeline stage %lld %s '%s', which is no state", (long long)s,
               key, n.c_str());
    ks.push_back(it->second);
  }
  return ks;
}

/// Whether stage `s` holds each state: those it owns or reads.
std::vector<bool> heldByStage(const ModelInfo &info, int64_t s) {
  std::vector<bool> held(info.states.size(), false);
  for (const char *key : {"owns", "reads"})
    for (size_t k : stageStates(info, s, key))
      held[k] = true;
  return held;
}

/// "12.0 KiB", "3.5 GiB": bytes in the largest binary unit below them.
std::string formatBytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (bytes >= 1024 && i < 4) {
    bytes /= 1024;
    ++i;
  }
  return strformat(i ? "%.1f %s" : "%.0f %s", bytes, units[i]);
}

/// The MPI backend, which the model's setMesh installed.
DistributedBackend &net() {
  DistributedBackend *b = distributedBackend();
  BBRT_CHECK(b && b->started(),
             "pipeline stages need MPI, which the program did not start");
  return *b;
}

/// The model's stage layout: pipeline.replicas (one count per stage, on a
/// mesh whose first axis is their sum, each entry a copy of the stage
/// mesh that the other axes make), else pipeline.data_parallel replicas of
/// every stage (mesh stages x dp), else one partitioned replica per stage
/// (mesh stages x the stage's mesh). Checks the mesh.
StageLayout stageLayout(const ModelInfo &info) {
  StageLayout l;
  l.stages = attrInt(info, "pipeline.stages");
  const int64_t micro = attrInt(info, "pipeline.microbatches");
  const int64_t dp = attrInt(info, "pipeline.data_parallel");
  l.total = micro * dp;
  const int64_t size = meshSize(info.mesh);
  auto listed = info.attributes.find("pipeline.replicas");
  if (!info.stageMeshes.empty()) {
    // A mesh per stage (addStageMesh), one replica each.
    BBRT_CHECK(dp == 1 && listed == info.attributes.end() &&
                   static_cast<int64_t>(info.stageMeshes.size()) == l.stages,
               "the model declares %zu stage meshes for %lld pipeline stages "
               "(and no replicas)",
               info.stageMeshes.size(), (long long)l.stages);
    l.replicas.assign(l.stages, 1);
    for (const std::vector<int64_t> &m : info.stageMeshes)
      l.perStage.push_back(meshSize(m));
  } else if (listed != info.attributes.end()) {
    for (const std::string &r : splitList(listed->second)) {
      char *end = nullptr;
      const long long n = std::strtoll(r.c_str(), &end, 10);
      BBRT_CHECK(end && *end == 0 && n > 0 && l.total % n == 0,
                 "the model's pipeline.replicas '%s' is not a list of "
                 "positive numbers dividing its %lld micro-batches",
                 listed->second.c_str(), (long long)l.total);
      l.replicas.push_back(n);
    }
    int64_t sum = 0;
    for (int64_t r : l.replicas)
      sum += r;
    BBRT_CHECK(dp == 1 &&
                   static_cast<int64_t>(l.replicas.size()) == l.stages &&
                   !info.mesh.empty() && info.mesh[0] == sum,
               "the model's mesh is %s and its pipeline.replicas '%s', not "
               "one count per stage (%lld) on a mesh whose first axis is "
               "their sum",
               formatMesh(info.mesh).c_str(), listed->second.c_str(),
               (long long)l.stages);
    // The rest of the mesh: one copy of a stage's.
    l.perStage.assign(l.stages, size / sum);
  } else {
    BBRT_CHECK(!info.mesh.empty() && info.mesh[0] == l.stages &&
                   (dp == 1 || (info.mesh.size() == 2 && info.mesh[1] == dp)),
               "the model's mesh is %s, not its %lld pipeline stages (x %lld "
               "replicas)",
               formatMesh(info.mesh).c_str(), (long long)l.stages,
               (long long)dp);
    l.replicas.assign(l.stages, dp);
    l.perStage.assign(l.stages, size / l.stages / dp);
  }
  int64_t offset = 0;
  for (int64_t s = 0; s < l.stages; ++s) {
    l.offsets.push_back(offset);
    offset += l.replicas[s] * l.perStage[s];
  }
  BBRT_CHECK(offset == size, "the model's pipeline stages take %lld ranks, "
             "its mesh %s", (long long)offset, formatMesh(info.mesh).c_str());
  return l;
}

} // namespace

bool isPipelined(const ModelInfo &info) {
  return info.attributes.count("pipeline.stages") > 0;
}

FunctionInfo stageDataInputs(const ModelInfo &info) {
  FunctionInfo f;
  f.name = "stages";
  std::set<std::string> seen;
  for (const char *role : {"", "labels"})
    for (int64_t s = 0; s < attrInt(info, "pipeline.stages"); ++s)
      for (const char *part : {"_forward", "_backward"})
        if (const FunctionInfo *fn =
                info.function("stage" + std::to_string(s) + part))
          for (const TensorDecl &d : fn->inputs)
            if (d.role == role && seen.insert(d.name).second)
              f.inputs.push_back(d);
  for (const FunctionInfo &fn : info.functions)
    if (const TensorDecl *loss = fn.outputWithRole("loss"))
      if (stageOfFunction(fn.name) >= 0) {
        f.outputs.push_back(*loss);
        break;
      }
  return f;
}

int64_t batchesPerStep(const ModelInfo &info) {
  if (!isPipelined(info))
    return 1;
  return attrInt(info, "pipeline.microbatches") *
         attrInt(info, "pipeline.data_parallel");
}

ContextOptions PipelineSchedule::contextOptions(const ModelInfo &info) {
  initDistributed(info);
  const int64_t stage = stageLayout(info).stageOfRank(worldRank());
  ContextOptions o;
  o.heldStates = heldByStage(info, stage);
  for (const FunctionInfo &f : info.functions)
    o.runsFunction.push_back(stageOfFunction(f.name) == stage);
  return o;
}

PipelineSchedule::PipelineSchedule(const ModelInfo &info, Context *ctx,
                                   const std::vector<TensorDecl> &data)
    : info_(info), ctx_(ctx), data_(data) {
  const StageLayout layout = stageLayout(info);
  stages_ = layout.stages;
  total_ = layout.total;
  perStage_ = layout.perStage;
  replicas_ = layout.replicas;
  offsets_ = layout.offsets;
  stage_ = layout.stageOfRank(worldRank());
  replica_ = (worldRank() - offsets_[stage_]) / perStage_[stage_];
  local_ = (worldRank() - offsets_[stage_]) % perStage_[stage_];
  mine_ = total_ / replicas_[stage_];
  order_ = scheduleOf(layout, stage_, replica_, slots_);
  for (int64_t j = 0; j < replicas_[stage_]; ++j)
    stageRanks_.push_back(rankOf(stage_, j));
  auto function = [&](int64_t s, const char *part) {
    const std::string name = "stage" + std::to_string(s) + "_" + part;
    const FunctionInfo *f = info.function(name);
    BBRT_CHECK(f, "the model has pipeline stages but no function '%s'",
               name.c_str());
    return f;
  };
  fwd_ = function(stage_, "forward");
  bwd_ = function(stage_, "backward");
  update_ = function(stage_, "update");
  gradsq_ = function(stage_, "gradsq");

  // Crossings between stages: who sends each, who receives it.
  for (const FunctionInfo &f : info.functions) {
    const int64_t s = stageOfFunction(f.name);
    if (s < 0)
      continue;
    for (const TensorDecl &d : f.outputs)
      if (d.role == "send")
        transfers_[d.name].from = s;
    for (const TensorDecl &d : f.inputs)
      if (d.role == "recv") {
        transfers_[d.name].to = s;
        transfers_[d.name].toForward =
            f.name == "stage" + std::to_string(s) + "_forward";
        if (!d.split.empty())
          transfers_[d.name].block = &d;
      }
  }
  int tag = 0;
  for (auto &[name, t] : transfers_) {
    BBRT_CHECK(t.from >= 0 && t.to >= 0 && t.from != t.to,
               "the model's pipeline crossing '%s' has no sender or no "
               "receiver",
               name.c_str());
    t.tag = tag++;
    // Cut by the sender only between stage meshes of different shapes
    // (between meshes of one shape, rank k's block goes to rank k).
    if (info.stageMeshes.empty() ||
        info.stageMeshes[static_cast<size_t>(t.from)] ==
            info.stageMeshes[static_cast<size_t>(t.to)])
      t.block = nullptr;
  }
  BBRT_CHECK(tag < kRefreshTag, "the model has %d pipeline crossings, more "
             "than the %d MPI tags set aside for them", tag, kRefreshTag);

  // Who owns (updates) each state, and which other stages read it.
  ownerOf_.assign(info.states.size(), -1);
  readersOf_.assign(info.states.size(), {});
  for (int64_t s = 0; s < stages_; ++s)
    for (size_t k : stageStates(info, s, "owns"))
      ownerOf_[k] = s;
  for (int64_t s = 0; s < stages_; ++s)
    for (size_t k : stageStates(info, s, "reads"))
      if (ownerOf_[k] != s)
        readersOf_[k].push_back(s);
  for (size_t k = 0; k < info.states.size(); ++k) {
    BBRT_CHECK(ownerOf_[k] >= 0, "no pipeline stage owns state '%s'",
               info.states[k].name.c_str());
    // Its new value goes from rank k of the owner to rank k of a reader
    // (mod the owner's ranks): between stage meshes of different shapes
    // only a whole state is the same on both.
    for (int64_t reader : readersOf_[k])
      BBRT_CHECK(info.stageMeshes.empty() || info.states[k].split.empty() ||
                     info.stageMeshes[static_cast<size_t>(reader)] ==
                         info.stageMeshes[static_cast<size_t>(ownerOf_[k])],
                 "state '%s' is split over pipeline stage %lld's mesh and "
                 "read on stage %lld, whose mesh has another shape",
                 info.states[k].name.c_str(), (long long)ownerOf_[k],
                 (long long)reader);
  }
  firstHolds_ = heldByStage(info, 0);
  const std::vector<bool> mine = heldByStage(info, stage_);
  for (size_t k = 0; k < info.states.size(); ++k)
    BBRT_CHECK(holdsState(ctx, k) || !mine[k],
               "pipeline stage %lld needs state '%s', which this process "
               "does not hold (create the context with contextOptions)",
               (long long)stage_, info.states[k].name.c_str());

  // Buffers: this replica's micro-batches (and one for the ones it skips),
  // the stash slots, the gradients.
  batch_.resize(mine_);
  batchTensors_.resize(mine_);
  for (int64_t m = 0; m < mine_; ++m)
    for (const TensorDecl &d : data_) {
      batch_[m].emplace_back(static_cast<size_t>(d.nbytes()));
      batchTensors_[m].emplace_back(batch_[m].back().data(), d.dtype, d.shape);
    }
  if (replicas_[stage_] > 1)
    for (const TensorDecl &d : data_) {
      skippedBuf_.emplace_back(static_cast<size_t>(d.nbytes()));
      skipped_.emplace_back(skippedBuf_.back().data(), d.dtype, d.shape);
    }
  for (const TensorDecl &d : fwd_->outputs)
    if (d.role == "stash")
      for (int64_t i = 0; i < slots_; ++i)
        stash_[d.name].emplace_back(static_cast<size_t>(d.nbytes()));
  // The accumulators: one buffer, each gradient at an aligned offset, so
  // that zeroing, averaging and the replicas' all-reduce are one call each
  // (the padding between them stays zero).
  size_t gradientBytes = 0;
  std::map<std::string, size_t> gradOffsets;
  for (const TensorDecl &d : bwd_->outputs)
    if (d.role == "grad") {
      BBRT_CHECK(d.dtype == DType::F32, "gradient '%s' is %s, not f32",
                 d.name.c_str(), dtypeName(d.dtype));
      constexpr size_t kAlign = 64; // a cache line
      grads_[d.name] = {nullptr, static_cast<size_t>(d.nbytes())};
      gradOffsets[d.name] = gradientBytes;
      gradientBytes += (grads_[d.name].size + kAlign - 1) / kAlign * kAlign;
    }
  gradArena_ = DeviceBuffer(gradientBytes);
  for (auto &[name, acc] : grads_)
    acc.data = static_cast<char *>(gradArena_.data()) + gradOffsets[name];
  // The backward adds each gradient into its accumulator, an input of the
  // same name (bb-accumulate-gradients).
  std::set<std::string> accumulated;
  for (const TensorDecl &d : bwd_->inputs)
    if (d.role == "accumulator") {
      auto it = grads_.find(d.name);
      BBRT_CHECK(it != grads_.end() && it->second.size == (size_t)d.nbytes(),
                 "function '%s' accumulates '%s', which it does not return "
                 "as a gradient",
                 bwd_->name.c_str(), d.name.c_str());
      accumulated.insert(d.name);
    }
  for (const auto &[name, buf] : grads_)
    BBRT_CHECK(accumulated.count(name),
               "function '%s' returns gradient '%s' without taking its "
               "accumulator (a program compiled without "
               "bb-accumulate-gradients)",
               bwd_->name.c_str(), name.c_str());
  for (const TensorDecl &d : gradsq_->outputs)
    if (d.role == "grad") {
      auto it = grads_.find(d.name);
      BBRT_CHECK(it != grads_.end() && d.dtype == DType::F32 &&
                     static_cast<size_t>(d.nbytes()) <= it->second.size,
                 "function '%s' reduces gradient '%s', which stage %lld's "
                 "backward does not compute",
                 gradsq_->name.c_str(), d.name.c_str(), (long long)stage_);
      reducedBytes_[d.name] = static_cast<size_t>(d.nbytes());
    }
  // "mean": each micro-batch's backward starts from 1, and the schedule
  // averages; "sum": it starts from the micro-batch's share of the loss
  // (dynamic loss scaling), and the schedule sums.
  const auto how = info.attributes.find("pipeline.gradients");
  sumGradients_ = how != info.attributes.end() && how->second == "sum";
  BBRT_CHECK(how == info.attributes.end() || sumGradients_ ||
                 how->second == "mean",
             "the model's pipeline.gradients is '%s', not 'sum' or 'mean'",
             how->second.c_str());
  scale_ = DeviceBuffer(sizeof(float));
  writeScalarF32(scale_.data(), 1.0f / static_cast<float>(mine_));
  totals_ = DeviceBuffer(2 * sizeof(double));
}

namespace {
/// Books the driver's work in its scope under `what` (--profile's driver
/// table; nothing without a profile).
class DriverWork {
public:
  DriverWork(Context *ctx, const char *what)
      : ctx_(ctx), what_(what), start_(profileStart(ctx)) {}
  ~DriverWork() { profileDriver(ctx_, what_, start_); }
  DriverWork(const DriverWork &) = delete;
  DriverWork &operator=(const DriverWork &) = delete;

private:
  Context *ctx_;
  const char *what_;
  double start_;
};
} // namespace

void PipelineSchedule::fillInputs(const FunctionInfo &fn, int64_t m,
                                  int64_t i) {
  clearBindings(ctx_);
  for (size_t k = 0; k < fn.inputs.size(); ++k) {
    const TensorDecl &d = fn.inputs[k];
    if (d.role.empty() || d.role == "labels") {
      size_t j = 0;
      while (j < data_.size() && data_[j].name != d.name)
        ++j;
      BBRT_CHECK(j < data_.size() && data_[j].nbytes() == d.nbytes(),
                 "function '%s' input '%s' is not one of the micro-batch's "
                 "data inputs",
                 fn.name.c_str(), d.name.c_str());
      // The function reads the micro-batch where the loader put it, when
      // the device can.
      if (deviceMemoryIsHost()) {
        bindInput(ctx_, k, batch_[i][j].data());
      } else {
        DriverWork w(ctx_, "copy the micro-batch in");
        copyToDevice(inputTensor(ctx_, fn, k).data, batch_[i][j].data(),
                     static_cast<size_t>(d.nbytes()));
      }
    } else if (d.role == "stash") {
      bindInput(ctx_, k, stash_.at(d.name)[slotOf(i)].data());
    } else if (d.role == "accumulator") {
      bindInput(ctx_, k, grads_.at(d.name).data);
    } else if (d.role == "recv") {
      DriverWork w(ctx_, "receive from other stages (and wait)");
      const Transfer &x = transfers_.at(d.name);
      net().recv(ctx_, inputTensor(ctx_, fn, k), rankOf(x.from, m), x.tag);
    }
  }
}

void PipelineSchedule::bindOutputs(const FunctionInfo &fn, int64_t i) {
  // The forward writes its stashes into the micro-batch's slot, the
  // backward its gradients (added to them) into their accumulators.
  for (size_t k = 0; k < fn.outputs.size(); ++k) {
    const TensorDecl &d = fn.outputs[k];
    if (d.role == "stash")
      bindOutput(ctx_, k, stash_.at(d.name)[slotOf(i)].data());
    else if (d.role == "grad")
      bindOutput(ctx_, k, grads_.at(d.name).data);
  }
}

void PipelineSchedule::run(const FunctionInfo &fn, int64_t m) {
  const int64_t i = m / replicas_[stage_]; // its place among this rank's
  fillInputs(fn, m, i);
  bindOutputs(fn, i);
  runFunction(ctx_, fn);
  for (size_t k = 0; k < fn.outputs.size(); ++k) {
    const TensorDecl &d = fn.outputs[k];
    Tensor t = outputTensor(ctx_, fn, k);
    if (d.role == "send") {
      DriverWork w(ctx_, "post sends");
      sendCrossing(transfers_.at(d.name), t, m);
    } else if (d.role == "loss") {
      lossSum_ += readScalarF32(t.data);
    }
  }
  clearBindings(ctx_);
}

PipelineSchedule::Result PipelineSchedule::step(DataLoader &loader, float lr,
                                                float step) {
  // 1. The step's micro-batches; this replica keeps its own.
  const int64_t replicas = replicas_[stage_];
  for (int64_t m = 0; m < total_; ++m)
    loader.next(m % replicas == replica_ ? batchTensors_[m / replicas]
                                         : skipped_);

  // 2. 1F1B, the backward adding into zeroed accumulators.
  lossSum_ = 0;
  {
    DriverWork w(ctx_, "zero the gradient accumulators");
    zeroOnDevice(gradArena_.data(), gradArena_.size());
  }
  for (const auto &[m, backward] : order_)
    run(backward ? *bwd_ : *fwd_, m);

  // 3. Gradients averaged (or summed) over micro-batches and replicas, the
  // global norm, the update.
  const Tensor scale(scale_.data(), DType::F32, {});
  if (gradArena_.size() > 0) {
    Tensor g = floats(gradArena_);
    if (!sumGradients_) {
      DriverWork w(ctx_, "average gradients");
      binary(BinaryKind::Mul, g, scale, g);
    }
    if (replicas > 1) {
      DriverWork w(ctx_, "all-reduce gradients over replicas");
      net().allReduceAmong(ctx_, g,
                           sumGradients_ ? ReduceKind::Sum : ReduceKind::Mean,
                           stageRanks_);
    }
  }
  // The gradsq and update functions read the accumulators in place. A
  // gradient gradsq reduces (partial sums within a partitioned stage,
  // reduced once per step) goes back into its accumulator (its block is no
  // larger), which the update then reads; the next step's first
  // micro-batch overwrites it whole.
  auto bindGradients = [&](const FunctionInfo &fn) {
    clearBindings(ctx_);
    for (size_t k = 0; k < fn.inputs.size(); ++k) {
      const TensorDecl &d = fn.inputs[k];
      if (d.role != "grad")
        continue;
      auto it = grads_.find(d.name);
      auto reduced = reducedBytes_.find(d.name);
      const size_t bytes = it == grads_.end() ? 0
                           : &fn != gradsq_ && reduced != reducedBytes_.end()
                               ? reduced->second
                               : it->second.size;
      BBRT_CHECK(it != grads_.end() && bytes == (size_t)d.nbytes(),
                 "function '%s' takes gradient '%s', which stage %lld's "
                 "backward does not compute",
                 fn.name.c_str(), d.name.c_str(), (long long)stage_);
      bindInput(ctx_, k, it->second.data);
    }
  };
  bindGradients(*gradsq_);
  runFunction(ctx_, *gradsq_);
  for (size_t k = 0; k < gradsq_->outputs.size(); ++k) {
    const TensorDecl &d = gradsq_->outputs[k];
    if (d.role == "grad") {
      DriverWork w(ctx_, "copy reduced gradients");
      copyOnDevice(grads_.at(d.name).data,
                   outputTensor(ctx_, *gradsq_, k).data,
                   static_cast<size_t>(d.nbytes()));
    }
  }
  const TensorDecl *sq = gradsq_->outputWithRole("grad_sumsq");
  BBRT_CHECK(sq, "function '%s' has no grad_sumsq output", gradsq_->name.c_str());
  // Summed over the world: each stage's sum of squares once (its replicas
  // hold the same gradients, its ranks the same sum), each replica's share
  // of the loss once.
  double totals[2] = {
      replica_ == 0 && local_ == 0 ? readScalarF32(arenaTensor(ctx_, *sq).data)
                                   : 0.0,
      local_ == 0 ? lossSum_ / static_cast<double>(total_) : 0.0};
  clearBindings(ctx_);
  {
    DriverWork w(ctx_, "norm and loss over stages (and wait)");
    sumOverWorld(totals);
  }
  bindGradients(*update_);
  for (size_t k = 0; k < update_->inputs.size(); ++k) {
    const TensorDecl &d = update_->inputs[k];
    if (d.role == "grad_sumsq")
      writeScalarF32(inputTensor(ctx_, *update_, k).data,
                     static_cast<float>(totals[0]));
    else if (d.role == "lr")
      writeScalarF32(inputTensor(ctx_, *update_, k).data, lr);
    else if (d.role == "step")
      writeScalarF32(inputTensor(ctx_, *update_, k).data, step);
  }
  runFunction(ctx_, *update_);
  clearBindings(ctx_);
  Result r;
  r.loss = static_cast<float>(totals[1]);
  const TensorDecl *norm = update_->outputWithRole("grad_norm");
  BBRT_CHECK(norm, "function '%s' has no grad_norm output",
             update_->name.c_str());
  r.gradNorm = readScalarF32(arenaTensor(ctx_, *norm).data);
  if (const TensorDecl *used = update_->outputWithRole("loss_scale"))
    r.lossScale = readScalarF32(arenaTensor(ctx_, *used).data);

  // 4. New values of shared parameters to the stages that read them.
  DriverWork shared(ctx_, "shared parameters, sends' completion");
  // Replica j of a reader gets it from replica j % r of the owner.
  for (size_t k = 0; k < info_.states.size(); ++k) {
    const int tag = kRefreshTag + static_cast<int>(k % kTagRange);
    if (ownerOf_[k] == stage_)
      for (int64_t reader : readersOf_[k])
        for (int64_t peer : receiversFrom(reader))
          net().postSend(ctx_, stateTensor(ctx_, k), peer, tag);
  }
  for (size_t k = 0; k < info_.states.size(); ++k) {
    const int tag = kRefreshTag + static_cast<int>(k % kTagRange);
    for (int64_t reader : readersOf_[k])
      if (reader == stage_)
        net().recv(ctx_, stateTensor(ctx_, k), rankOf(ownerOf_[k], replica_),
                   tag);
  }
  net().waitSends(ctx_);
  return r;
}

bool PipelineSchedule::lossScaled() const {
  return update_->outputWithRole("loss_scale") != nullptr;
}

void PipelineSchedule::wholeOnStage(size_t k, Tensor out) {
  const StateDecl &d = info_.states.at(k);
  const Tensor local = stateTensor(ctx_, k);
  if (d.split.empty()) {
    if (local_ == 0)
      copyOnDevice(out.data, local.data, static_cast<size_t>(d.nbytes()));
    return;
  }
  // Every rank's block (an all-gather over the stage's mesh, blocks in
  // rank order), put together on the stage's first rank.
  const int64_t n = perStage_[stage_];
  const int64_t bytes = d.nbytes();
  DeviceBuffer all(static_cast<size_t>(bytes * n));
  Dims axes;
  axes.rank = static_cast<int>(ctx_->mesh->shape.size());
  for (int i = 0; i < axes.rank; ++i)
    axes.d[i] = i;
  net().allGather(ctx_, Tensor(local.data, DType::U8, {bytes}),
                  Tensor(all.data(), DType::U8, {bytes * n}), 0, axes);
  if (local_ != 0)
    return;
  std::vector<char> host(static_cast<size_t>(bytes * n));
  copyToHost(host.data(), all.data(), host.size());
  AlignedBuffer whole;
  assembleBlocks(d, ctx_->mesh->shape, host.data(), whole);
  copyToDevice(out.data, whole.data(), static_cast<size_t>(out.nbytes()));
}

Tensor PipelineSchedule::stateForRoot(size_t k, DeviceBuffer &scratch) {
  const StateDecl &d = info_.states.at(k);
  const int64_t owner = ownerOf_[k];
  if (!info_.stageMeshes.empty()) {
    // A mesh per stage: the owner's ranks put the state together on its
    // first rank, which sends it whole to rank 0 (unless it is rank 0).
    // Only the owner's first rank and rank 0 hold it whole (an export keeps
    // every state's scratch until it writes the file).
    const int tag = kGatherTag + static_cast<int>(k % kTagRange);
    const Dims global = globalShape(info_, d);
    const size_t bytes = static_cast<size_t>(global.numel() * dtypeSize(d.dtype));
    const bool holder = worldRank() == 0 || (stage_ == owner && local_ == 0);
    if (holder && scratch.size() != bytes)
      scratch = DeviceBuffer(bytes);
    const Tensor whole(holder ? scratch.data() : nullptr, d.dtype, global);
    if (stage_ == owner) {
      wholeOnStage(k, whole);
      if (local_ == 0 && worldRank() != 0)
        net().send(ctx_, whole, 0, tag);
      return worldRank() == 0 ? whole : Tensor();
    }
    if (worldRank() == 0) {
      net().recv(ctx_, whole, offsets_[owner], tag);
      return whole;
    }
    return Tensor();
  }
  auto scratchTensor = [&] {
    if (scratch.size() != static_cast<size_t>(d.nbytes()))
      scratch = DeviceBuffer(static_cast<size_t>(d.nbytes()));
    return Tensor(scratch.data(), d.dtype, d.shape);
  };
  if (!firstHolds_[k]) {
    const int tag = kGatherTag + static_cast<int>(k % kTagRange);
    // Replica 0 of the owner to replica 0 of the first stage (rank k of
    // each), whose ranks the gather to rank 0 reads.
    if (stage_ == owner && replica_ == 0) {
      net().send(ctx_, stateTensor(ctx_, k), rankOf(0, 0), tag);
    } else if (stage_ == 0 && replica_ == 0) {
      Tensor t = scratchTensor();
      net().recv(ctx_, t, rankOf(owner, 0), tag);
      return t;
    }
  }
  return holdsState(ctx_, k) ? stateTensor(ctx_, k) : scratchTensor();
}

double PipelineSchedule::evaluate(DataLoader &loader, int64_t n) {
  const int64_t r = replicas_[stage_];
  double sum = 0;
  for (int64_t m = 0; m < n; ++m) {
    const bool mine = m % r == replica_;
    loader.next(mine ? batchTensors_[0] : skipped_);
    if (!mine)
      continue;
    fillInputs(*fwd_, m, 0); // read into batch 0
    bindOutputs(*fwd_, 0);   // its stashes into slot 0, unread
    runFunction(ctx_, *fwd_);
    for (size_t k = 0; k < fwd_->outputs.size(); ++k) {
      const TensorDecl &d = fwd_->outputs[k];
      if (d.role == "send") {
        // Only to forward functions: nothing runs backward here.
        const Transfer &x = transfers_.at(d.name);
        if (x.toForward)
          sendCrossing(x, outputTensor(ctx_, *fwd_, k), m);
      } else if (d.role == "loss") {
        sum += readScalarF32(outputTensor(ctx_, *fwd_, k).data);
      }
    }
    clearBindings(ctx_);
  }
  net().waitSends(ctx_);
  // The last stage's replicas' sums to every rank.
  double total[2] = {local_ == 0 ? sum / static_cast<double>(n) : 0.0, 0};
  sumOverWorld(total);
  return total[0];
}

void PipelineSchedule::sumOverWorld(double (&values)[2]) {
  Tensor tot(totals_.data(), DType::F64, {2});
  copyToDevice(tot.data, values, sizeof values);
  if (!info_.stageMeshes.empty()) {
    // A rank's mesh is its stage's: the world is every rank.
    std::vector<int64_t> world(static_cast<size_t>(worldSize()));
    for (size_t r = 0; r < world.size(); ++r)
      world[r] = static_cast<int64_t>(r);
    net().allReduceAmong(ctx_, tot, ReduceKind::Sum, world);
    copyToHost(values, tot.data, sizeof values);
    return;
  }
  Dims all;
  all.rank = static_cast<int>(info_.mesh.size());
  for (int i = 0; i < all.rank; ++i)
    all.d[i] = i;
  net().allReduce(ctx_, tot, ReduceKind::Sum, all);
  copyToHost(values, tot.data, sizeof values);
}

void PipelineSchedule::sendCrossing(const Transfer &x, Tensor t, int64_t m) {
  const std::vector<int64_t> peers = receiversOf(x.to, m);
  if (!x.block) {
    for (int64_t peer : peers)
      net().postSend(ctx_, t, peer, x.tag);
    return;
  }
  // Each receiver's block of the whole tensor, cut on the host (the send
  // copies what it is given, so one buffer serves every receiver).
  DriverWork w(ctx_, "cut blocks for other stages' meshes");
  const TensorDecl &d = *x.block;
  AlignedBuffer host;
  const Tensor whole = hostView(t, host);
  const std::vector<int64_t> &mesh = declMesh(info_, d);
  BBRT_CHECK(globalShape(info_, d) == t.shape,
             "pipeline crossing '%s' is %s whole, but its receiver's blocks "
             "make %s",
             d.name.c_str(), formatDims(t.shape).c_str(),
             formatDims(globalShape(info_, d)).c_str());
  AlignedBuffer block(static_cast<size_t>(d.nbytes()));
  DeviceBuffer onDevice;
  if (!deviceMemoryIsHost())
    onDevice = DeviceBuffer(static_cast<size_t>(d.nbytes()));
  for (int64_t peer : peers) {
    const int64_t local = (peer - offsets_[x.to]) % perStage_[x.to];
    copyBlockAt(d, mesh, meshCoords(mesh, local), whole.data, block.data());
    void *data = block.data();
    if (!deviceMemoryIsHost()) {
      copyToDevice(onDevice.data(), block.data(), block.size());
      data = onDevice.data();
    }
    net().postSend(ctx_, Tensor(data, d.dtype, d.shape), peer, x.tag);
  }
}

std::vector<int64_t> PipelineSchedule::receiversOf(int64_t stage,
                                                   int64_t m) const {
  std::vector<int64_t> peers;
  const int64_t first = offsets_[stage] + (m % replicas_[stage]) * perStage_[stage];
  for (int64_t l = local_; l < perStage_[stage]; l += perStage_[stage_])
    peers.push_back(first + l);
  return peers;
}

std::vector<int64_t> PipelineSchedule::receiversFrom(int64_t to) const {
  std::vector<int64_t> peers;
  for (int64_t j = replica_; j < replicas_[to]; j += replicas_[stage_])
    for (int64_t peer : receiversOf(to, j))
      peers.push_back(peer);
  return peers;
}

std::string PipelineSchedule::describe() const {
  int64_t held = 0;
  double bytes = 0;
  for (size_t k = 0; k < info_.states.size(); ++k)
    if (holdsState(ctx_, k)) {
      ++held;
      bytes += static_cast<double>(info_.states[k].nbytes());
    }
  double stash = 0;
  for (const auto &[name, slots] : stash_)
    stash += static_cast<double>(slots.front().size());
  const double grads = static_cast<double>(gradArena_.size());
  const double arena = static_cast<double>(ctx_->arena.size());
  return strformat("pipeline stage %lld of %lld (ranks %lld-%lld): holds "
                   "%lld of %zu states (%s per rank), stash %s per "
                   "micro-batch x %lld in flight, gradient accumulators %s, "
                   "arena %s: %s per rank",
                   (long long)stage_, (long long)stages_,
                   (long long)offsets_[stage_],
                   (long long)(offsets_[stage_] +
                               replicas_[stage_] * perStage_[stage_] - 1),
                   (long long)held, info_.states.size(),
                   formatBytes(bytes).c_str(), formatBytes(stash).c_str(),
                   (long long)slots_, formatBytes(grads).c_str(),
                   formatBytes(arena).c_str(),
                   formatBytes(bytes + stash * static_cast<double>(slots_) +
                               grads + arena)
                       .c_str());
}

} // namespace driver
} // namespace bbrt
