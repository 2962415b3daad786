//===- Distributed.h - the distributed backend (runtime-internal) -*- C++ -*-===//
//
// core/ never calls MPI: it goes through a DistributedBackend, which the MPI
// code (mpi/Mpi.cpp) installs when a model calls setMesh. A program that
// never declares a mesh never pulls the MPI objects out of libbbrt_cpu.a, so
// it links and runs without libmpi.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_DISTRIBUTED_H
#define BBRT_CORE_DISTRIBUTED_H

#include "bbrt/sharding.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bbrt {

/// A Context's place in its model's mesh (the MPI backend's subclass adds the
/// communicators of the groups its collectives used).
struct MeshState {
  std::vector<int64_t> shape;
  int64_t rank = 0;
  std::vector<int64_t> coords;
  /// The world rank of the mesh's rank 0: 0, or on a model with a mesh per
  /// pipeline stage (ModelInfo::stageMeshes) the stage's first rank, the
  /// mesh being the stage's (number `stage`; -1 without stage meshes).
  int64_t offset = 0;
  int64_t stage = -1;
  /// shardSlice's parsed split-axes texts.
  std::map<std::string, SplitAxes> splits;
  /// Packing buffers of the collectives along inner dimensions.
  std::vector<char> scratch[2];
  MeshState() = default;
  MeshState(const MeshState &) = delete;
  MeshState &operator=(const MeshState &) = delete;
  virtual ~MeshState();
};

class DistributedBackend {
public:
  virtual ~DistributedBackend() = default;
  /// Starts MPI for `info` (mesh of n > 1 devices, launcher size already
  /// checked) and checks the world size; idempotent.
  virtual void init(const ModelInfo &info) = 0;
  /// MPI started and not finalized.
  virtual bool started() const = 0;
  virtual int64_t rank() const = 0;
  virtual int64_t size() const = 0;
  virtual int64_t localSize() const = 0;
  virtual void barrier() = 0;
  /// Whether `flag` is set on any rank (a logical-or over the world).
  virtual bool anyRank(bool flag) = 0;
  virtual void finalize() = 0;
  /// Prints (see fatalError) and ends every rank; never returns.
  [[noreturn]] virtual void abort(const std::string &prog,
                                  const std::string &msg) = 0;
  /// MPI_Gather over the world to rank 0: `n` elements of `dtype` from
  /// every rank, in rank order, into `all` (rank 0 only).
  virtual void gather(const void *local, int64_t n, DType dtype,
                      void *all) = 0;
  /// The backend's MeshState for a Context of `info`.
  virtual std::unique_ptr<MeshState> makeMesh(const ModelInfo &info) = 0;
  /// What the pipeline schedule (driver/PipelineSchedule.cpp) exchanges,
  /// with the semantics of bbrt.h's functions of the same names; reached
  /// through the backend so that the driver, which every program links, never
  /// pulls MPI into programs without a mesh.
  virtual void postSend(Context *ctx, Tensor in, int64_t peer, int64_t tag) = 0;
  virtual void waitSends(Context *ctx) = 0;
  virtual void send(Context *ctx, Tensor in, int64_t peer, int64_t tag) = 0;
  virtual void recv(Context *ctx, Tensor out, int64_t peer, int64_t tag) = 0;
  virtual void allReduce(Context *ctx, Tensor inout, ReduceKind kind,
                         const Dims &meshAxes) = 0;
  /// All-reduce over the world ranks `ranks` (sorted, this rank among them).
  virtual void allReduceAmong(Context *ctx, Tensor inout, ReduceKind kind,
                              const std::vector<int64_t> &ranks) = 0;
  virtual void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
                         const Dims &meshAxes) = 0;
};

/// Installed by setMesh (mpi/Mpi.cpp); null until then.
void setDistributedBackend(DistributedBackend *backend);
DistributedBackend *distributedBackend();

/// The mesh state of a Context for `info` (null when it declares no mesh).
std::unique_ptr<MeshState> makeMeshState(const ModelInfo &info);
/// With a mesh per pipeline stage (ModelInfo::stageMeshes): makes `m` the
/// mesh of `worldRank`'s stage (shape, offset, rank and coordinates in it).
void placeOnStageMesh(const ModelInfo &info, int64_t worldRank, MeshState &m);

} // namespace bbrt

#endif // BBRT_CORE_DISTRIBUTED_H
