//===- Distributed.cpp - world rank, error exit, gather/slice of states ---===//
//
// The process half of bbrt/sharding.h, without MPI: one process is rank 0 of
// 1 until a model's setMesh installs the MPI backend (core/Distributed.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/core/Distributed.h"
#include "runtime/core/Util.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace bbrt {

namespace {

DistributedBackend *backend = nullptr;

/// A non-negative integer from the environment variable `name`; -1 when
/// unset or not a number.
int64_t envInt(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return -1;
  char *end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return (*end == '\0' && n >= 0) ? n : -1;
}

/// The launcher's world size (-1: launched, size unknown; 1: no launcher).
int64_t envWorldSize() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    int64_t n = envInt(name);
    if (n > 0)
      return n;
  }
  if (envInt("PMIX_RANK") >= 0 || envInt("PMI_RANK") >= 0)
    return -1;
  return 1;
}

int64_t envRank() {
  for (const char *name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    int64_t r = envInt(name);
    if (r >= 0)
      return r;
  }
  return 0;
}

} // namespace

void setDistributedBackend(DistributedBackend *b) { backend = b; }
DistributedBackend *distributedBackend() { return backend; }

MeshState::~MeshState() = default;

int64_t launcherWorldSize() {
  int64_t n = envWorldSize();
  return n > 0 ? n : 1;
}

bool distributed() { return backend && backend->started(); }
int64_t worldRank() { return distributed() ? backend->rank() : envRank(); }
int64_t worldSize() { return distributed() ? backend->size() : 1; }
int64_t localWorldSize() { return distributed() ? backend->localSize() : 1; }

void initDistributed(const ModelInfo &info) {
  const int64_t n = meshSize(info.mesh);
  if (n <= 1)
    return;
  // Before MPI starts: a run without mpirun (or with the wrong -np) fails at
  // once on every rank, without MPI's singleton start-up.
  const int64_t launched = envWorldSize();
  if (!distributed() && launched > 0 && launched != n)
    fail("this program was compiled for %lld ranks (mesh %s); it is running "
         "on %lld (run it with mpirun -np %lld)",
         (long long)n, formatMesh(info.mesh).c_str(), (long long)launched,
         (long long)n);
  BBRT_CHECK(backend, "the model declares a mesh of %lld devices, but the "
                      "program was linked without the MPI backend (setMesh)",
             (long long)n);
  backend->init(info);
}

void barrier() {
  if (distributed())
    backend->barrier();
}

bool anyRank(bool flag) {
  return distributed() ? backend->anyRank(flag) : flag;
}

void finalizeDistributed() {
  if (backend)
    backend->finalize();
}

void awaitRootError() { usleep(10000000); }

void fatalError(const std::string &prog, const std::string &msg) {
  std::fflush(stdout);
  if (distributed() && worldSize() > 1)
    backend->abort(prog, msg);
  const int64_t rank = worldRank();
  if (rank != 0) {
    // Launched, MPI not started (the world-size check): every rank usually
    // fails alike, and this one must not end the job before rank 0 prints.
    awaitRootError();
    std::fprintf(stderr, "[rank %lld] ", (long long)rank);
  }
  std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), msg.c_str());
  std::fflush(stderr);
  std::exit(1);
}

void placeOnStageMesh(const ModelInfo &info, int64_t worldRank,
                      MeshState &m) {
  if (info.stageMeshes.empty())
    return;
  int64_t first = 0;
  for (size_t s = 0; s < info.stageMeshes.size(); ++s) {
    const std::vector<int64_t> &mesh = info.stageMeshes[s];
    const int64_t n = meshSize(mesh);
    if (worldRank < first + n) {
      m.shape = mesh;
      m.stage = static_cast<int64_t>(s);
      m.offset = first;
      m.rank = worldRank - first;
      m.coords = meshCoords(m.shape, m.rank);
      return;
    }
    first += n;
  }
  fail("rank %lld is on none of the model's stage meshes (%lld ranks in all)",
       (long long)worldRank, (long long)first);
}

std::unique_ptr<MeshState> makeMeshState(const ModelInfo &info) {
  if (info.mesh.empty())
    return nullptr;
  if (backend)
    return backend->makeMesh(info);
  auto m = std::make_unique<MeshState>();
  m->shape = info.mesh;
  m->coords = meshCoords(m->shape, 0);
  placeOnStageMesh(info, 0, *m);
  return m;
}

//===--- sharded states and checkpoints ------------------------------------===//

Tensor gatherToRoot(Context *ctx, const TensorDecl &decl, Tensor local,
                    AlignedBuffer &storage) {
  const ModelInfo &info = *ctx->info;
  const Dims global = globalShape(info, decl);
  if (global == decl.shape || !distributed())
    return isRoot() ? hostView(local, storage) : Tensor();
  AlignedBuffer hostLocal;
  local = hostView(local, hostLocal);
  const int64_t bytes = local.nbytes();
  const int64_t n = worldSize();
  std::unique_ptr<char[]> all;
  if (isRoot())
    all.reset(new char[static_cast<size_t>(bytes * n)]);
  backend->gather(local.data, local.numel(), local.dtype, all.get());
  if (!isRoot())
    return Tensor();
  return assembleBlocks(decl, info.mesh, all.get(), storage);
}

Tensor assembleBlocks(const TensorDecl &decl, const std::vector<int64_t> &mesh,
                      const char *all, AlignedBuffer &storage) {
  const Dims global = globalShape(decl.shape, decl.split, mesh);
  const int64_t bytes = decl.nbytes();
  storage = AlignedBuffer(
      static_cast<size_t>(global.numel() * dtypeSize(decl.dtype)));
  // Each block from the rank at coordinate 0 of every axis the tensor is
  // not split over (replicas are equal; pipeline stages other than the
  // first hold stale copies of the states they do not own).
  std::vector<bool> splitAxis(mesh.size(), false);
  for (const std::vector<int64_t> &axes : decl.split)
    for (int64_t a : axes)
      splitAxis[static_cast<size_t>(a)] = true;
  for (int64_t r = 0; r < meshSize(mesh); ++r) {
    const std::vector<int64_t> coords = meshCoords(mesh, r);
    bool replica = false;
    for (size_t a = 0; a < coords.size(); ++a)
      replica |= !splitAxis[a] && coords[a] != 0;
    if (replica)
      continue;
    const Dims offsets = shardOffsets(decl.shape, decl.split, mesh, coords);
    copyBox(all + bytes * r, decl.shape, zeros(decl.shape.rank),
            storage.data(), global, offsets, decl.shape, dtypeSize(decl.dtype));
  }
  return Tensor(storage.data(), decl.dtype, global);
}

void copyLocalSlice(const Context *ctx, const TensorDecl &decl,
                    const void *global, void *local) {
  const ModelInfo &info = *ctx->info;
  const Dims gshape = globalShape(info, decl);
  if (gshape == decl.shape) {
    std::memcpy(local, global, static_cast<size_t>(decl.nbytes()));
    return;
  }
  // A rank holds the tensors of its own mesh: the model's, or its
  // pipeline stage's (declMesh, the Context's mesh then).
  const std::vector<int64_t> &mesh = declMesh(info, decl);
  const std::vector<int64_t> coords =
      ctx->mesh ? ctx->mesh->coords : std::vector<int64_t>(mesh.size());
  BBRT_CHECK(coords.size() == mesh.size(),
             "'%s' is sharded over mesh %s, which this rank is not on",
             decl.name.c_str(), formatMesh(mesh).c_str());
  copyBlockAt(decl, mesh, coords, global, local);
}

void copyBlockAt(const TensorDecl &decl, const std::vector<int64_t> &mesh,
                 const std::vector<int64_t> &coords, const void *global,
                 void *local) {
  copyBox(global, globalShape(decl.shape, decl.split, mesh),
          shardOffsets(decl.shape, decl.split, mesh, coords), local,
          decl.shape, zeros(decl.shape.rank), decl.shape, dtypeSize(decl.dtype));
}

void loadLocalSlice(const Context *ctx, const TensorDecl &decl,
                    const void *global, void *deviceLocal) {
  const size_t bytes = static_cast<size_t>(decl.nbytes());
  if (deviceMemoryIsHost()) {
    copyLocalSlice(ctx, decl, global, deviceLocal);
  } else if (globalShape(*ctx->info, decl) == decl.shape) {
    copyToDevice(deviceLocal, global, bytes);
  } else { // the slice is cut on the host, then uploaded
    AlignedBuffer host(bytes);
    copyLocalSlice(ctx, decl, global, host.data());
    copyToDevice(deviceLocal, host.data(), bytes);
  }
}

} // namespace bbrt
