//===- Model.cpp - ModelInfo, Context, arena, weights ---------------------===//
#include "bbrt/model.h"
#include "bbrt/safetensors.h"
#include "runtime/core/Util.h"

#include <cstdlib>
#include <cstring>
#include <set>

#ifdef _OPENMP
#include <omp.h>
#endif
#include <unistd.h>

extern "C" void openblas_set_num_threads(int);

namespace bbrt {

//===--- AlignedBuffer -----------------------------------------------------===//

AlignedBuffer::AlignedBuffer(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0)
    rounded = 64;
  p_ = std::aligned_alloc(64, rounded);
  if (!p_)
    fail("out of memory allocating %zu bytes", bytes);
  std::memset(p_, 0, rounded);
  n_ = bytes;
}

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
                           std::initializer_list<int64_t> dims,
                           int64_t offset) {
  TensorDecl d;
  d.name = name ? name : "";
  d.dtype = dtype;
  d.shape = Dims(dims);
  d.offset = offset;
  return d;
}

void addInput(ModelInfo *info, const char *name, DType dtype,
              std::initializer_list<int64_t> dims, int64_t offset) {
  info->inputs.push_back(makeDecl(name, dtype, dims, offset));
}
void addOutput(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims, int64_t offset) {
  info->outputs.push_back(makeDecl(name, dtype, dims, offset));
}
void addWeight(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims) {
  info->weights.push_back(makeDecl(name, dtype, dims, -1));
}
void setArenaSize(ModelInfo *info, int64_t bytes) { info->arenaSize = bytes; }
void setModelName(ModelInfo *info, const char *name) {
  info->name = name ? name : "";
}

void validateModel(const ModelInfo &info) {
  BBRT_CHECK(info.arenaSize >= 0, "model declares a negative arena size");
  auto checkBuffers = [&](const std::vector<TensorDecl> &decls,
                          const char *what) {
    std::set<std::string> names;
    for (const TensorDecl &d : decls) {
      BBRT_CHECK(!d.name.empty(), "model declares an %s without a name", what);
      BBRT_CHECK(names.insert(d.name).second, "model declares %s '%s' twice",
                 what, d.name.c_str());
      for (int i = 0; i < d.shape.rank; ++i)
        BBRT_CHECK(d.shape.d[i] >= 0, "model declares %s '%s' with shape %s",
                   what, d.name.c_str(), formatDims(d.shape).c_str());
      BBRT_CHECK(d.offset >= 0 && d.offset + d.nbytes() <= info.arenaSize,
                 "model's %s '%s' (%lld bytes at offset %lld) lies outside "
                 "the arena of %lld bytes",
                 what, d.name.c_str(), (long long)d.nbytes(),
                 (long long)d.offset, (long long)info.arenaSize);
    }
  };
  checkBuffers(info.inputs, "input");
  checkBuffers(info.outputs, "output");
  for (const TensorDecl &d : info.weights)
    for (int i = 0; i < d.shape.rank; ++i)
      BBRT_CHECK(d.shape.d[i] >= 0, "model declares weight '%s' with shape %s",
                 d.name.c_str(), formatDims(d.shape).c_str());
}

//===--- Context -----------------------------------------------------------===//

Context::Context() = default;
Context::~Context() = default;

std::unique_ptr<Context> createContext(const ModelInfo &info,
                                       const std::string &weightsPath) {
  validateModel(info);
  auto ctx = std::make_unique<Context>();
  ctx->info = &info;
  ctx->arena = AlignedBuffer(static_cast<size_t>(info.arenaSize));
  if (info.weights.empty())
    return ctx;
  ctx->weightFile = std::make_unique<SafetensorsFile>(weightsPath);
  const SafetensorsFile &file = *ctx->weightFile;
  for (const TensorDecl &d : info.weights) {
    const SafetensorsEntry *e = file.find(d.name);
    BBRT_CHECK(e, "weights file '%s': tensor '%s' is missing",
               weightsPath.c_str(), d.name.c_str());
    BBRT_CHECK(e->known && e->type == d.dtype,
               "weights file '%s': tensor '%s' has dtype %s, the model "
               "expects %s",
               weightsPath.c_str(), d.name.c_str(), e->dtype.c_str(),
               safetensorsDType(d.dtype));
    BBRT_CHECK(e->shape == d.shape,
               "weights file '%s': tensor '%s' has shape %s, the model "
               "expects %s",
               weightsPath.c_str(), d.name.c_str(),
               formatDims(e->shape).c_str(), formatDims(d.shape).c_str());
    int64_t align = dtypeSize(d.dtype);
    if (reinterpret_cast<uintptr_t>(e->data) % align != 0) {
      AlignedBuffer copy(static_cast<size_t>(e->nbytes));
      std::memcpy(copy.data(), e->data, e->nbytes);
      ctx->weights.push_back(copy.data());
      ctx->weightCopies.push_back(std::move(copy));
    } else {
      ctx->weights.push_back(e->data);
    }
  }
  return ctx;
}

void *arena(Context *ctx, int64_t offset) {
  if (offset < 0 || offset > ctx->info->arenaSize)
    fail("arena offset %lld outside the arena of %lld bytes",
         (long long)offset, (long long)ctx->info->arenaSize);
  return static_cast<char *>(ctx->arena.data()) + offset;
}

const void *weight(Context *ctx, int64_t index) {
  if (index < 0 || index >= static_cast<int64_t>(ctx->weights.size()))
    fail("weight index %lld outside the model's %zu weights",
         (long long)index, ctx->weights.size());
  return ctx->weights[index];
}

Tensor arenaTensor(Context *ctx, const TensorDecl &decl) {
  return Tensor(arena(ctx, decl.offset), decl.dtype, decl.shape);
}

//===--- threads -----------------------------------------------------------===//

void setNumThreads(int n) {
  if (n <= 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? static_cast<int>(c) : 1;
  }
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  // OpenBLAS stays single-threaded: the runtime splits GEMMs over the OpenMP
  // threads itself (see cpu/Gemm.h for why).
  openblas_set_num_threads(1);
}

int numThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

} // namespace bbrt
