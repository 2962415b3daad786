//===- Model.cpp - ModelInfo, Context, arena, weights ---------------------===//
#include "bbrt/model.h"
#include "bbrt/safetensors.h"
#include "bbrt/sharding.h"
#include "runtime/core/Distributed.h"
#include "runtime/core/Util.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include <unistd.h>

namespace bbrt {

//===--- AlignedBuffer -----------------------------------------------------===//

void *allocateZeroedHost(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0)
    rounded = 64;
  void *p = std::aligned_alloc(64, rounded);
  if (!p)
    fail("out of memory allocating %zu bytes", bytes);
  std::memset(p, 0, rounded);
  return p;
}

AlignedBuffer::AlignedBuffer(size_t bytes)
    : p_(allocateZeroedHost(bytes)), n_(bytes) {}

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(p_); }

//===--- ModelInfo ---------------------------------------------------------===//

static TensorDecl makeDecl(const char *name, DType dtype,
                           std::initializer_list<int64_t> dims, int64_t offset,
                           const char *role) {
  TensorDecl d;
  d.name = name ? name : "";
  d.dtype = dtype;
  d.shape = Dims(dims);
  d.offset = offset;
  d.role = role ? role : "";
  return d;
}

/// The function that addInput/addOutput/setArenaSize describe.
static FunctionInfo &currentFunction(ModelInfo *info,
                                     const std::string &what) {
  BBRT_CHECK(!info->functions.empty(),
             "model declares %s before any function", what.c_str());
  return info->functions.back();
}

void setModelName(ModelInfo *info, const char *name) {
  info->name = name ? name : "";
}
void addWeight(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims) {
  info->weights.push_back(makeDecl(name, dtype, dims, -1, ""));
  info->lastTensorDecl = 'w';
}
void addState(ModelInfo *info, const char *name, DType dtype,
              std::initializer_list<int64_t> dims, bool fromWeights) {
  StateDecl s;
  static_cast<TensorDecl &>(s) = makeDecl(name, dtype, dims, -1, "");
  s.fromWeights = fromWeights;
  info->states.push_back(std::move(s));
  info->lastTensorDecl = 's';
}
void addFunction(ModelInfo *info, const char *name, EntryPoint fn) {
  FunctionInfo f;
  f.name = name ? name : "";
  f.fn = fn;
  info->functions.push_back(std::move(f));
  info->lastTensorDecl = 0;
}
void addInput(ModelInfo *info, const char *name, DType dtype,
              std::initializer_list<int64_t> dims, int64_t offset,
              const char *role) {
  currentFunction(info, std::string("input '") + (name ? name : "") + "'")
      .inputs.push_back(makeDecl(name, dtype, dims, offset, role));
  info->lastTensorDecl = 'i';
}
void addOutput(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims, int64_t offset,
               const char *role) {
  currentFunction(info, std::string("output '") + (name ? name : "") + "'")
      .outputs.push_back(makeDecl(name, dtype, dims, offset, role));
  info->lastTensorDecl = 0;
}
void setArenaSize(ModelInfo *info, int64_t bytes) {
  currentFunction(info, "an arena size").arenaSize = bytes;
}
void setAttribute(ModelInfo *info, const char *key, const char *value) {
  info->attributes[key ? key : ""] = value ? value : "";
}

/// The declaration setSharding and setShardingMesh apply to: the last
/// weight, state or function input; null when the last declaration was
/// none of these.
static TensorDecl *lastShardable(ModelInfo *info) {
  if (info->lastTensorDecl == 'w' && !info->weights.empty())
    return &info->weights.back();
  if (info->lastTensorDecl == 's' && !info->states.empty())
    return &info->states.back();
  if (info->lastTensorDecl == 'i' && !info->functions.empty() &&
      !info->functions.back().inputs.empty())
    return &info->functions.back().inputs.back();
  return nullptr;
}

void setSharding(ModelInfo *info, const char *splitAxes) {
  TensorDecl *d = lastShardable(info);
  BBRT_CHECK(d, "model declares a sharding (%s) that follows no weight or "
                "state",
             splitAxes ? splitAxes : "");
  try {
    d->split = parseSplitAxes(splitAxes ? splitAxes : "");
  } catch (const Error &e) {
    fail("model's %s '%s': %s",
         info->lastTensorDecl == 'w'   ? "weight"
         : info->lastTensorDecl == 's' ? "state"
                                       : "input",
         d->name.c_str(), e.what());
  }
}

void addStageMesh(ModelInfo *info, std::initializer_list<int64_t> shape) {
  BBRT_CHECK(info->mesh.size() == 1,
             "model declares a stage's mesh without a world mesh of one axis");
  BBRT_CHECK(shape.size() > 0 && shape.size() <= static_cast<size_t>(kMaxRank),
             "model declares a stage mesh of %zu axes", shape.size());
  for (int64_t m : shape)
    BBRT_CHECK(m >= 1, "model declares a stage mesh axis of size %lld",
               (long long)m);
  std::vector<int64_t> mesh(shape.begin(), shape.end());
  int64_t devices = meshSize(mesh);
  for (const std::vector<int64_t> &m : info->stageMeshes)
    devices += meshSize(m);
  BBRT_CHECK(devices <= info->mesh[0],
             "model's stage meshes take %lld ranks, its world %lld",
             (long long)devices, (long long)info->mesh[0]);
  info->stageMeshes.push_back(std::move(mesh));
}

void setShardingMesh(ModelInfo *info, int64_t stage) {
  TensorDecl *d = lastShardable(info);
  BBRT_CHECK(d && stage >= 0 &&
                 stage < static_cast<int64_t>(info->stageMeshes.size()),
             "model places a sharding on stage %lld's mesh, which it does "
             "not declare (or after no weight or state)",
             (long long)stage);
  d->mesh = info->stageMeshes[static_cast<size_t>(stage)];
  d->meshStage = stage;
}

static const TensorDecl *withRole(const std::vector<TensorDecl> &decls,
                                  const std::string &role) {
  for (const TensorDecl &d : decls)
    if (d.role == role)
      return &d;
  return nullptr;
}
const TensorDecl *FunctionInfo::inputWithRole(const std::string &role) const {
  return withRole(inputs, role);
}
const TensorDecl *FunctionInfo::outputWithRole(const std::string &role) const {
  return withRole(outputs, role);
}

const FunctionInfo *ModelInfo::function(const std::string &name) const {
  for (const FunctionInfo &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

static void checkShape(const TensorDecl &d, const char *what) {
  for (int i = 0; i < d.shape.rank; ++i)
    BBRT_CHECK(d.shape.d[i] >= 0, "model declares %s '%s' with shape %s", what,
               d.name.c_str(), formatDims(d.shape).c_str());
}

/// A weight's or state's split axes fit the mesh and the tensor's rank.
static void checkSharding(const ModelInfo &info, const TensorDecl &d,
                          const char *what) {
  if (d.split.empty())
    return;
  BBRT_CHECK(!info.mesh.empty(),
             "model's %s '%s' is sharded (%s) but the model declares no mesh",
             what, d.name.c_str(), formatSplitAxes(d.split).c_str());
  try {
    checkSplitAxes(d.split, declMesh(info, d), d.shape.rank);
  } catch (const Error &e) {
    fail("model's %s '%s' (%s): %s", what, d.name.c_str(),
         formatDims(d.shape).c_str(), e.what());
  }
}

/// The roles besides "" (see addInput): the driver fills or reads these
/// buffers, so each appears at most once per function, and the scalars are
/// f32 of rank 0.
/// Pipeline stages (bb-pipeline-stages) pass several buffers of the repeated
/// roles "stash", "send"/"recv" and "grad", told apart by name.
struct Role {
  const char *name;
  bool scalar;
  bool repeated = false;
};
static const Role kInputRoles[] = {
    {"labels", false},      {"lr", true},         {"step", true},
    {"grad_sumsq", true},   {"stash", false, true}, {"recv", false, true},
    {"grad", false, true},  {"accumulator", false, true}};
static const Role kOutputRoles[] = {
    {"loss", true},          {"grad_norm", true}, {"grad_sumsq", true},
    {"loss_scale", true},
    {"stash", false, true},
    {"send", false, true},   {"grad", false, true}};

template <size_t N>
static void checkRoles(const FunctionInfo &f,
                       const std::vector<TensorDecl> &decls, const char *what,
                       const Role (&roles)[N]) {
  std::set<std::string> seen;
  for (const TensorDecl &d : decls) {
    if (d.role.empty())
      continue;
    const Role *role = nullptr;
    for (const Role &r : roles)
      if (d.role == r.name)
        role = &r;
    BBRT_CHECK(role, "model's function '%s' %s '%s' has unknown role '%s'",
               f.name.c_str(), what, d.name.c_str(), d.role.c_str());
    BBRT_CHECK(role->repeated || seen.insert(d.role).second,
               "model's function '%s' declares two %ss with role '%s'",
               f.name.c_str(), what, d.role.c_str());
    BBRT_CHECK(!role->scalar || (d.dtype == DType::F32 && d.shape.rank == 0),
               "model's function '%s' %s '%s' (role %s) is %s %s, not an f32 "
               "scalar",
               f.name.c_str(), what, d.name.c_str(), d.role.c_str(),
               dtypeName(d.dtype), formatDims(d.shape).c_str());
  }
}

void validateModel(const ModelInfo &info) {
  BBRT_CHECK(!info.functions.empty(), "model declares no function");
  std::set<std::string> functionNames;
  for (const FunctionInfo &f : info.functions) {
    BBRT_CHECK(!f.name.empty(), "model declares a function without a name");
    BBRT_CHECK(functionNames.insert(f.name).second,
               "model declares function '%s' twice", f.name.c_str());
    BBRT_CHECK(f.fn, "model's function '%s' has no entry point",
               f.name.c_str());
    BBRT_CHECK(f.arenaSize >= 0,
               "model's function '%s' declares a negative arena size",
               f.name.c_str());
    auto checkBuffers = [&](const std::vector<TensorDecl> &decls,
                            const char *what) {
      std::set<std::string> names;
      for (const TensorDecl &d : decls) {
        BBRT_CHECK(!d.name.empty(), "model declares an %s without a name",
                   what);
        BBRT_CHECK(names.insert(d.name).second,
                   "model declares %s '%s' twice", what, d.name.c_str());
        checkShape(d, what);
        // A stash, a gradient, and an accumulator is always bound by the
        // driver (bindInput/bindOutput) where it has no arena place.
        if (d.offset == -1 && (d.role == "stash" || d.role == "grad" ||
                               d.role == "accumulator"))
          continue;
        BBRT_CHECK(d.offset >= 0 && d.offset + d.nbytes() <= f.arenaSize,
                   "model's %s '%s' (%lld bytes at offset %lld) lies outside "
                   "the arena of %lld bytes of function '%s'",
                   what, d.name.c_str(), (long long)d.nbytes(),
                   (long long)d.offset, (long long)f.arenaSize,
                   f.name.c_str());
      }
    };
    checkBuffers(f.inputs, "input");
    checkBuffers(f.outputs, "output");
    checkRoles(f, f.inputs, "input", kInputRoles);
    checkRoles(f, f.outputs, "output", kOutputRoles);
  }
  for (const TensorDecl &d : info.weights) {
    checkShape(d, "weight");
    checkSharding(info, d, "weight");
  }
  std::set<std::string> stateNames;
  for (const StateDecl &d : info.states) {
    BBRT_CHECK(!d.name.empty(), "model declares a state without a name");
    BBRT_CHECK(stateNames.insert(d.name).second,
               "model declares state '%s' twice", d.name.c_str());
    checkShape(d, "state");
    checkSharding(info, d, "state");
  }
}

//===--- Context -----------------------------------------------------------===//

Context::Context() = default;
Context::~Context() = default;

/// The weights-file tensor for `d`, with its dtype and (global) shape
/// checked.
static const SafetensorsEntry &findChecked(const ModelInfo &info,
                                           const SafetensorsFile &file,
                                           const TensorDecl &d) {
  const char *path = file.path().c_str();
  const SafetensorsEntry *e = file.find(d.name);
  BBRT_CHECK(e, "weights file '%s': tensor '%s' is missing", path,
             d.name.c_str());
  BBRT_CHECK(e->known && e->type == d.dtype,
             "weights file '%s': tensor '%s' has dtype %s, the model "
             "expects %s",
             path, d.name.c_str(), e->dtype.c_str(), safetensorsDType(d.dtype));
  BBRT_CHECK(e->shape == globalShape(info, d),
             "weights file '%s': tensor '%s' has shape %s, the model "
             "expects %s%s",
             path, d.name.c_str(), formatDims(e->shape).c_str(),
             formatDims(globalShape(info, d)).c_str(),
             shardingNote(info, d).c_str());
  return *e;
}

std::unique_ptr<Context> createContext(const ModelInfo &info,
                                       const std::string &weightsPath,
                                       const ContextOptions &options) {
  validateModel(info);
  BBRT_CHECK(options.heldStates.empty() ||
                 options.heldStates.size() == info.states.size(),
             "internal error: %zu held-state flags for %zu states",
             options.heldStates.size(), info.states.size());
  BBRT_CHECK(options.runsFunction.empty() ||
                 options.runsFunction.size() == info.functions.size(),
             "internal error: %zu function flags for %zu functions",
             options.runsFunction.size(), info.functions.size());
  initDistributed(info);
  auto ctx = std::make_unique<Context>();
  ctx->info = &info;
  ctx->mesh = makeMeshState(info);
  int64_t arenaSize = 0;
  for (size_t i = 0; i < info.functions.size(); ++i)
    if (options.runsFunction.empty() || options.runsFunction[i])
      arenaSize = std::max(arenaSize, info.functions[i].arenaSize);
  initDevice(info);
  ctx->arena = DeviceBuffer(static_cast<size_t>(arenaSize));
  ctx->heldStates = options.heldStates;
  ctx->heldStates.resize(info.states.size(), options.heldStates.empty());

  bool needFile = !info.weights.empty();
  for (size_t k = 0; k < info.states.size(); ++k)
    needFile |= info.states[k].fromWeights && ctx->heldStates[k];
  if (needFile)
    ctx->weightFile = std::make_unique<SafetensorsFile>(weightsPath);

  for (const TensorDecl &d : info.weights) {
    // A weight split over another pipeline stage's mesh: only that stage's
    // functions read it.
    if (d.meshStage >= 0 && ctx->mesh && ctx->mesh->stage != d.meshStage) {
      ctx->weights.push_back(nullptr);
      continue;
    }
    const SafetensorsEntry &e = findChecked(info, *ctx->weightFile, d);
    // Used in place from the mapped file where the kernels can read it:
    // host memory, the whole tensor, aligned for its dtype.
    if (deviceMemoryIsHost() && globalShape(info, d) == d.shape &&
        reinterpret_cast<uintptr_t>(e.data) % dtypeSize(d.dtype) == 0) {
      ctx->weights.push_back(e.data);
      continue;
    }
    ctx->weightCopies.emplace_back(static_cast<size_t>(d.nbytes()));
    loadLocalSlice(ctx.get(), d, e.data, ctx->weightCopies.back().data());
    ctx->weights.push_back(ctx->weightCopies.back().data());
  }
  ctx->states.reserve(info.states.size());
  for (size_t k = 0; k < info.states.size(); ++k) {
    const StateDecl &s = info.states[k];
    if (!ctx->heldStates[k]) {
      ctx->states.emplace_back();
      continue;
    }
    ctx->states.emplace_back(static_cast<size_t>(s.nbytes())); // zeros
    if (s.fromWeights)
      loadLocalSlice(ctx.get(), s,
                     findChecked(info, *ctx->weightFile, s).data,
                     ctx->states.back().data());
  }
  return ctx;
}

void *arena(Context *ctx, int64_t offset) {
  const int64_t size = static_cast<int64_t>(ctx->arena.size());
  if (offset < 0 || offset > size)
    fail("arena offset %lld outside the arena of %lld bytes",
         (long long)offset, (long long)size);
  return static_cast<char *>(ctx->arena.data()) + offset;
}

namespace {
/// Input (output) `index`'s bound memory, else its arena place.
void *boundOr(Context *ctx, bool input, int64_t index, int64_t offset) {
  const std::vector<void *> &bound =
      input ? ctx->boundInputs : ctx->boundOutputs;
  if (index >= 0 && index < static_cast<int64_t>(bound.size()) &&
      bound[index])
    return bound[index];
  if (offset < 0) {
    const FunctionInfo *f = ctx->running;
    const std::vector<TensorDecl> *decls =
        !f ? nullptr : input ? &f->inputs : &f->outputs;
    fail("%s %lld ('%s') of function '%s' has no place in the arena and "
         "was not bound (bind%s)",
         input ? "input" : "output", (long long)index,
         decls && index >= 0 && index < (int64_t)decls->size()
             ? (*decls)[index].name.c_str()
             : "?",
         f ? f->name.c_str() : "?", input ? "Input" : "Output");
  }
  return arena(ctx, offset);
}
void bind(std::vector<void *> &bound, size_t index, void *memory) {
  if (bound.size() <= index)
    bound.resize(index + 1, nullptr);
  bound[index] = memory;
}
} // namespace

void *inputBuffer(Context *ctx, int64_t index, int64_t offset) {
  return boundOr(ctx, true, index, offset);
}

void *outputBuffer(Context *ctx, int64_t index, int64_t offset) {
  return boundOr(ctx, false, index, offset);
}

void bindInput(Context *ctx, size_t index, void *memory) {
  bind(ctx->boundInputs, index, memory);
}

void bindOutput(Context *ctx, size_t index, void *memory) {
  bind(ctx->boundOutputs, index, memory);
}

void clearBindings(Context *ctx) {
  ctx->boundInputs.clear();
  ctx->boundOutputs.clear();
}

Tensor inputTensor(Context *ctx, const FunctionInfo &fn, size_t index) {
  const TensorDecl &d = fn.inputs.at(index);
  return Tensor(inputBuffer(ctx, static_cast<int64_t>(index), d.offset),
                d.dtype, d.shape);
}

Tensor outputTensor(Context *ctx, const FunctionInfo &fn, size_t index) {
  const TensorDecl &d = fn.outputs.at(index);
  return Tensor(outputBuffer(ctx, static_cast<int64_t>(index), d.offset),
                d.dtype, d.shape);
}

const void *weight(Context *ctx, int64_t index) {
  if (index < 0 || index >= static_cast<int64_t>(ctx->weights.size()))
    fail("weight index %lld outside the model's %zu weights",
         (long long)index, ctx->weights.size());
  return ctx->weights[index];
}

void *state(Context *ctx, int64_t index) {
  if (index < 0 || index >= static_cast<int64_t>(ctx->states.size()))
    fail("state index %lld outside the model's %zu states", (long long)index,
         ctx->states.size());
  if (!ctx->heldStates[index])
    fail("state '%s' is not held by this process (its pipeline stage "
         "neither owns nor reads it)",
         ctx->info->states[index].name.c_str());
  return ctx->states[index].data();
}

bool holdsState(const Context *ctx, size_t index) {
  return index < ctx->heldStates.size() && ctx->heldStates[index];
}

Tensor arenaTensor(Context *ctx, const TensorDecl &decl) {
  BBRT_CHECK(decl.offset >= 0,
             "'%s' (role %s) has no place in the arena: the driver binds it",
             decl.name.c_str(), decl.role.c_str());
  return Tensor(arena(ctx, decl.offset), decl.dtype, decl.shape);
}

Tensor stateTensor(Context *ctx, size_t index) {
  const StateDecl &d = ctx->info->states.at(index);
  return Tensor(state(ctx, static_cast<int64_t>(index)), d.dtype, d.shape);
}

Tensor hostView(Tensor t, AlignedBuffer &storage) {
  if (deviceMemoryIsHost() || t.empty())
    return t;
  storage = AlignedBuffer(static_cast<size_t>(t.nbytes()));
  copyToHost(storage.data(), t.data, static_cast<size_t>(t.nbytes()));
  return Tensor(storage.data(), t.dtype, t.shape);
}

float readScalarF32(const void *device) {
  float v;
  copyToHost(&v, device, sizeof v);
  return v;
}

void writeScalarF32(void *device, float value) {
  copyToDevice(device, &value, sizeof value);
}

} // namespace bbrt
