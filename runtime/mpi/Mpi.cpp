//===- Mpi.cpp - the MPI backend: start, world, abort, communicators ------===//
//
// Installed by setMesh (defined here, so that only programs that declare a
// mesh pull MPI out of libbbrt_cpu.a). MPI starts only for a mesh of more
// than one device: MPI_Init_thread(MPI_THREAD_FUNNELED) once, MPI_Finalize at
// exit; MPI errors come back as codes (MPI_ERRORS_RETURN) and become
// bbrt::Error.
//
//===----------------------------------------------------------------------===//
#include "runtime/mpi/Mpi.h"
#include "runtime/core/Util.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace bbrt {

namespace {

bool mpiFinalized() {
  int fin = 0;
  MPI_Finalized(&fin);
  return fin != 0;
}

class MpiBackend final : public DistributedBackend {
public:
  void init(const ModelInfo &info) override {
    const int64_t n = meshSize(info.mesh);
    if (!started_) {
      int initialized = 0;
      MPI_Initialized(&initialized);
      if (!initialized) {
        int provided = 0;
        checkMpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED,
                                 &provided),
                 "MPI_Init_thread");
        std::atexit(finalizeAtExit);
      }
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      checkMpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
      checkMpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
      MPI_Comm local;
      checkMpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_,
                                   MPI_INFO_NULL, &local),
               "MPI_Comm_split_type");
      checkMpi(MPI_Comm_size(local, &local_), "MPI_Comm_size");
      MPI_Comm_free(&local);
      started_ = true;
    }
    if (size_ != n)
      fail("this program was compiled for %lld ranks (mesh %s); it is "
           "running on %d (run it with mpirun -np %lld)",
           (long long)n, formatMesh(info.mesh).c_str(), size_, (long long)n);
  }
  bool started() const override { return started_ && !mpiFinalized(); }
  void postSend(Context *ctx, Tensor in, int64_t peer, int64_t tag) override {
    bbrt::postSend(ctx, in, peer, tag);
  }
  void waitSends(Context *ctx) override { bbrt::waitSends(ctx); }
  void send(Context *ctx, Tensor in, int64_t peer, int64_t tag) override {
    sendTensor(ctx, in, peer, tag);
  }
  void recv(Context *ctx, Tensor out, int64_t peer, int64_t tag) override {
    recvTensor(ctx, out, peer, tag);
  }
  void allReduce(Context *ctx, Tensor inout, ReduceKind kind,
                 const Dims &meshAxes) override {
    bbrt::allReduce(ctx, inout, inout, kind, meshAxes);
  }
  void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
                 const Dims &meshAxes) override {
    bbrt::allGather(ctx, in, out, axis, meshAxes);
  }
  void allReduceAmong(Context *ctx, Tensor inout, ReduceKind kind,
                      const std::vector<int64_t> &ranks) override {
    bbrt::allReduceAmong(ctx, inout, kind, ranks);
  }
  int64_t rank() const override { return rank_; }
  int64_t size() const override { return size_; }
  int64_t localSize() const override { return local_; }
  void barrier() override {
    checkMpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
  }
  bool anyRank(bool flag) override {
    int v = flag ? 1 : 0;
    checkMpi(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD),
             "anyRank");
    return v != 0;
  }
  void finalize() override {
    if (started_ && !mpiFinalized())
      MPI_Finalize();
  }
  void abort(const std::string &prog, const std::string &msg) override {
    if (rank_ == 0) {
      std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), msg.c_str());
      std::fflush(stderr);
    } else {
      awaitRootError();
      std::fprintf(stderr, "[rank %d] %s: error: %s\n", rank_, prog.c_str(),
                   msg.c_str());
      std::fflush(stderr);
    }
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
  }
  void gather(const void *local, int64_t n, DType dtype, void *all) override {
    const int count = mpiCount(n, "gathering a sharded tensor");
    checkMpi(MPI_Gather(local, count, mpiType(dtype), all, count,
                        mpiType(dtype), 0, MPI_COMM_WORLD),
             "gathering a sharded tensor");
  }
  std::unique_ptr<MeshState> makeMesh(const ModelInfo &info) override {
    auto m = std::make_unique<MpiMeshState>();
    m->shape = info.mesh;
    m->rank = meshSize(info.mesh) > 1 && started() ? rank_ : 0;
    m->coords = meshCoords(m->shape, m->rank);
    placeOnStageMesh(info, m->rank, *m);
    return m;
  }

private:
  bool started_ = false;
  int rank_ = 0, size_ = 1, local_ = 1;

  static void finalizeAtExit() { finalizeDistributed(); }
};

MpiBackend &backend() {
  static MpiBackend b;
  return b;
}

} // namespace

void installMpiBackend() { setDistributedBackend(&backend()); }

void setMesh(ModelInfo *info, std::initializer_list<int64_t> shape) {
  BBRT_CHECK(info->mesh.empty(), "model declares the mesh twice");
  BBRT_CHECK(shape.size() > 0, "model declares a mesh without axes");
  BBRT_CHECK(shape.size() <= static_cast<size_t>(kMaxRank),
             "model declares a mesh of %zu axes (at most %d)", shape.size(),
             kMaxRank);
  for (int64_t m : shape)
    BBRT_CHECK(m >= 1, "model declares mesh axis of size %lld", (long long)m);
  info->mesh.assign(shape.begin(), shape.end());
  installMpiBackend();
}

void checkMpi(int rc, const char *what) {
  if (rc == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING + 1] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
    std::snprintf(text, sizeof text, "error code %d", rc);
  fail("%s: MPI error: %s", what, text);
}

MpiMeshState::~MpiMeshState() {
  deviceComms.clear();
  if (comms.empty() || mpiFinalized())
    return;
  for (auto &kv : comms)
    MPI_Comm_free(&kv.second);
}

namespace {

/// The communicator of the world ranks `ranks` (sorted, this rank among
/// them), cached in `state` under `key`; `tag` tells creations apart.
MPI_Comm cachedComm(MeshState &state, const std::vector<int64_t> &key,
                    const std::vector<int64_t> &ranks, int tag) {
  auto *mesh = dynamic_cast<MpiMeshState *>(&state);
  BBRT_CHECK(mesh && distributed(),
             "collective over more than one rank without MPI");
  auto it = mesh->comms.find(key);
  if (it != mesh->comms.end())
    return it->second;
  std::vector<int> r(ranks.begin(), ranks.end());
  MPI_Group worldGroup, group;
  checkMpi(MPI_Comm_group(MPI_COMM_WORLD, &worldGroup), "MPI_Comm_group");
  checkMpi(MPI_Group_incl(worldGroup, static_cast<int>(r.size()), r.data(),
                          &group),
           "MPI_Group_incl");
  MPI_Comm comm = MPI_COMM_NULL;
  const int rc = MPI_Comm_create_group(MPI_COMM_WORLD, group, tag, &comm);
  MPI_Group_free(&group);
  MPI_Group_free(&worldGroup);
  checkMpi(rc, "MPI_Comm_create_group");
  mesh->comms[key] = comm;
  return comm;
}

} // namespace

MPI_Comm groupComm(MeshState &state, const std::vector<int64_t> &axes) {
  int tag = 0; // one tag per axes set: creations of different sets never mix
  for (int64_t a : axes)
    tag |= 1 << a;
  // World ranks: the mesh's from its first (a pipeline stage's own mesh
  // starts after the earlier stages').
  std::vector<int64_t> ranks = groupRanks(state.shape, state.rank, axes);
  for (int64_t &r : ranks)
    r += state.offset;
  return cachedComm(state, axes, ranks, tag);
}

std::vector<int64_t> rankGroupKey(const std::vector<int64_t> &ranks) {
  std::vector<int64_t> key{-2};
  key.insert(key.end(), ranks.begin(), ranks.end());
  return key;
}

MPI_Comm rankGroupComm(MeshState &state, const std::vector<int64_t> &ranks) {
  const int64_t self = state.offset + state.rank;
  BBRT_CHECK(std::is_sorted(ranks.begin(), ranks.end()) &&
                 std::find(ranks.begin(), ranks.end(), self) != ranks.end(),
             "a group of ranks must be sorted and hold this rank (%lld)",
             (long long)self);
  // Above every axes set's tag (a bit per mesh axis), within the 32767
  // that MPI guarantees.
  return cachedComm(state, rankGroupKey(ranks), ranks,
                    16384 + static_cast<int>(ranks.front() % 16384));
}

MPI_Datatype mpiType(DType dtype) {
  switch (dtype) {
  case DType::F32: return MPI_FLOAT;
  case DType::F64: return MPI_DOUBLE;
  case DType::I64: return MPI_INT64_T;
  case DType::I32: return MPI_INT32_T;
  case DType::I16: return MPI_INT16_T;
  case DType::I8: return MPI_INT8_T;
  case DType::U8:
  case DType::Bool: return MPI_UINT8_T;
  case DType::F16:
  case DType::BF16: return MPI_UINT16_T; // moved, never reduced
  }
  return MPI_BYTE;
}

int mpiCount(int64_t n, const char *what) {
  BBRT_CHECK(n <= INT_MAX,
             "%s: %lld elements is more than one MPI call can move (%d)", what,
             (long long)n, INT_MAX);
  return static_cast<int>(n);
}

} // namespace bbrt
