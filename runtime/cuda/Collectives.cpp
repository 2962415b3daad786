//===- Collectives.cpp - collectives of sharded programs over NCCL --------===//
//
// bbrt.h's "collectives and sharding" on GPU memory. Each collective runs
// over the group of ranks that differ only along its mesh axes, on an NCCL
// communicator created on first use and kept with the Context's MPI ones
// (destroyed with it): the group's first member makes an
// ncclUniqueId and broadcasts it over the group's MPI communicator (the MPI
// backend's, runtime/mpi/Mpi.h), so only the group's ranks take part, as
// with the CPU runtime's MPI_Comm_create_group. Every NCCL call is queued
// on the process's stream (cuda::stream()), ordered with the kernels around
// it. A group of one rank copies on the device without NCCL. Collectives
// along a dimension other than the outermost pack or unpack blocks with a
// transpose on the device (NCCL concatenates and scatters along the
// outermost dimension only), as the CPU runtime does with copyBox.
// Point-to-point transfers go over MPI for both runtimes
// (runtime/mpi/PointToPoint.cpp).
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/core/CollectiveArgs.h"
#include "runtime/core/Util.h"
#include "runtime/cuda/Device.h"
#include "runtime/mpi/Mpi.h"

#include <algorithm>
#include <memory>
#include <nccl.h>
#include <vector>

namespace bbrt {
namespace {

using cuda::stream;

void checkNccl(ncclResult_t rc, const char *what) {
  if (rc != ncclSuccess)
    fail("%s: NCCL error: %s", what, ncclGetErrorString(rc));
}

/// The NCCL communicator of the Context's group `key` (its MPI backend's
/// key: sorted mesh axes, or rankGroupKey), made on first use over the MPI
/// communicator `mpi()` of the group's `size` ranks, this one at `index`,
/// and kept with the Context's other communicators (MpiMeshState::
/// deviceComms), destroyed with it.
template <typename MakeMpi>
ncclComm_t ncclCommOf(Context *ctx, const std::vector<int64_t> &key,
                      MakeMpi mpi, int size, int index, const char *what) {
  auto *mesh = dynamic_cast<MpiMeshState *>(ctx->mesh.get());
  BBRT_CHECK(mesh, "collective over more than one rank without MPI");
  auto &comms = mesh->deviceComms;
  auto it = comms.find(key);
  if (it == comms.end()) {
    MPI_Comm group = mpi();
    ncclUniqueId id;
    if (index == 0)
      checkNccl(ncclGetUniqueId(&id), what);
    checkMpi(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, group), what);
    ncclComm_t comm;
    checkNccl(ncclCommInitRank(&comm, size, id, index), what);
    it = comms
             // Aborted rather than destroyed: a Context goes away after
             // the driver waited for the stream, or on an error, when a
             // peer may be gone and ncclCommDestroy's finalization would
             // wait for operations that never complete.
             .emplace(key, std::shared_ptr<void>(comm,
                                                 [](void *c) {
                                                   ncclCommAbort(
                                                       static_cast<ncclComm_t>(c));
                                                 }))
             .first;
  }
  return static_cast<ncclComm_t>(it->second.get());
}

struct Group : GroupPlace {
  ncclComm_t comm = nullptr; // only when size > 1
};

Group group(Context *ctx, const Dims &meshAxes, const char *what) {
  Group g;
  static_cast<GroupPlace &>(g) = groupPlace(ctx, meshAxes, what);
  if (g.size > 1)
    g.comm = ncclCommOf(
        ctx, g.axes, [&] { return groupComm(*ctx->mesh, g.axes); },
        static_cast<int>(g.size), static_cast<int>(g.index), what);
  return g;
}

ncclDataType_t ncclType(DType dtype, bool reduce, const char *what) {
  switch (dtype) {
  case DType::F32: return ncclFloat32;
  case DType::F64: return ncclFloat64;
  case DType::I32: return ncclInt32;
  case DType::I64: return ncclInt64;
  case DType::I8: return ncclInt8;
  case DType::U8: return ncclUint8;
  case DType::F16: return ncclFloat16;
  case DType::BF16: return ncclBfloat16;
  case DType::Bool:
    if (!reduce)
      return ncclUint8;
    break;
  case DType::I16:
    if (!reduce)
      return ncclFloat16; // moved as 16-bit words
    break;
  }
  fail("%s: dtype %s cannot be reduced", what, dtypeName(dtype));
}

ncclRedOp_t ncclOp(ReduceKind kind, DType dtype, const char *what) {
  switch (kind) {
  case ReduceKind::Sum: return ncclSum;
  case ReduceKind::Max: return ncclMax;
  case ReduceKind::Min: return ncclMin;
  case ReduceKind::Prod: return ncclProd;
  case ReduceKind::Mean:
    if (dtype == DType::F32 || dtype == DType::F64)
      return ncclAvg;
    fail("%s: Mean needs a float dtype, not %s", what, dtypeName(dtype));
  }
  fail("%s: unknown reduction kind %d", what, static_cast<int>(kind));
}

/// dst[b, a, rest] = src[a, b, rest]: src viewed as [A, B, R] of `dtype`.
void swapBlocks(const void *src, void *dst, DType dtype, int64_t A, int64_t B,
                int64_t R) {
  transpose(Tensor(src, dtype, {A, B, R}), Tensor(dst, dtype, {B, A, R}),
            Dims({1, 0, 2}));
}

} // namespace

void allReduce(Context *ctx, Tensor in, Tensor out, ReduceKind kind,
               Dims meshAxes) {
  const char *what = "allReduce";
  checkAllReduce(in, out, kind);
  const ncclDataType_t type = ncclType(in.dtype, true, what);
  const ncclRedOp_t op = ncclOp(kind, in.dtype, what);
  const Group g = group(ctx, meshAxes, what);
  if (g.size == 1) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
    return;
  }
  checkNccl(ncclAllReduce(in.data, out.data, static_cast<size_t>(in.numel()),
                          type, op, g.comm, stream()),
            what);
}

void allReduceAmong(Context *ctx, Tensor inout, ReduceKind kind,
                    const std::vector<int64_t> &ranks) {
  const char *what = "allReduceAmong";
  if (!checkAllReduceAmong(ctx, inout, kind, ranks))
    return;
  const int64_t index =
      std::find(ranks.begin(), ranks.end(), ctx->mesh->offset + ctx->mesh->rank) -
      ranks.begin();
  ncclComm_t comm = ncclCommOf(
      ctx, rankGroupKey(ranks),
      [&] { return rankGroupComm(*ctx->mesh, ranks); },
      static_cast<int>(ranks.size()), static_cast<int>(index), what);
  checkNccl(ncclAllReduce(inout.data, inout.data,
                          static_cast<size_t>(inout.numel()),
                          ncclType(inout.dtype, true, what),
                          ncclOp(kind, inout.dtype, what), comm, stream()),
            what);
}

void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
               Dims meshAxes) {
  const char *what = "allGather";
  const Group g = group(ctx, meshAxes, what);
  const int a = checkAllGather(in, out, axis, g.size);
  if (g.size == 1) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
    return;
  }
  const ncclDataType_t type = ncclType(in.dtype, false, what);
  const size_t count = static_cast<size_t>(in.numel());
  if (outerCount(in.shape, a) == 1) {
    checkNccl(ncclAllGather(in.data, out.data, count, type, g.comm, stream()),
              what);
    return;
  }
  // [G, O, A*I] gathered, then out = [O, G, A*I].
  void *all = cuda::scratch(static_cast<size_t>(in.nbytes()) * g.size, 0);
  checkNccl(ncclAllGather(in.data, all, count, type, g.comm, stream()), what);
  swapBlocks(all, out.data, in.dtype, g.size, outerCount(in.shape, a),
             in.shape.d[a] * innerCount(in.shape, a));
}

void reduceScatter(Context *ctx, Tensor in, Tensor out, int64_t axis,
                   ReduceKind kind, Dims meshAxes) {
  const char *what = "reduceScatter";
  const Group g = group(ctx, meshAxes, what);
  const int a = checkReduceScatter(in, out, axis, kind, g.size);
  const ncclDataType_t type = ncclType(in.dtype, true, what);
  const ncclRedOp_t op = ncclOp(kind, in.dtype, what);
  if (g.size == 1) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
    return;
  }
  const void *send = in.data;
  if (outerCount(in.shape, a) != 1) {
    // in = [O, G, block] -> [G, O, block]: member j's block first.
    void *packed = cuda::scratch(static_cast<size_t>(in.nbytes()), 0);
    swapBlocks(in.data, packed, in.dtype, outerCount(in.shape, a), g.size,
               out.shape.d[a] * innerCount(in.shape, a));
    send = packed;
  }
  checkNccl(ncclReduceScatter(send, out.data, static_cast<size_t>(out.numel()),
                              type, op, g.comm, stream()),
            what);
}

void allToAll(Context *ctx, Tensor in, Tensor out, int64_t splitAxis,
              int64_t concatAxis, Dims meshAxes) {
  const char *what = "allToAll";
  const Group g = group(ctx, meshAxes, what);
  const AllToAllShape shape =
      checkAllToAll(in, out, splitAxis, concatAxis, g.size);
  const int s = shape.split, c = shape.concat;
  const Dims &block = shape.block;
  if (g.size == 1) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
    return;
  }
  const ncclDataType_t type = ncclType(in.dtype, false, what);
  const int64_t esize = dtypeSize(in.dtype);
  const size_t bytes = static_cast<size_t>(block.numel() * esize);
  const bool packIn = outerCount(in.shape, s) != 1;
  const bool unpackOut = outerCount(out.shape, c) != 1;
  char *send = static_cast<char *>(in.data);
  if (packIn) {
    send = static_cast<char *>(cuda::scratch(bytes * g.size, 0));
    swapBlocks(in.data, send, in.dtype, outerCount(in.shape, s), g.size,
               block.d[s] * innerCount(in.shape, s));
  }
  char *recv = unpackOut ? static_cast<char *>(cuda::scratch(bytes * g.size, 1))
                         : static_cast<char *>(out.data);
  checkNccl(ncclGroupStart(), what);
  for (int64_t j = 0; j < g.size; ++j) {
    checkNccl(ncclSend(send + bytes * j, static_cast<size_t>(block.numel()),
                       type, static_cast<int>(j), g.comm, stream()),
              what);
    checkNccl(ncclRecv(recv + bytes * j, static_cast<size_t>(block.numel()),
                       type, static_cast<int>(j), g.comm, stream()),
              what);
  }
  checkNccl(ncclGroupEnd(), what);
  if (unpackOut) // [G, O, block along c] -> [O, G, ...]
    swapBlocks(recv, out.data, in.dtype, g.size, outerCount(out.shape, c),
               block.d[c] * innerCount(out.shape, c));
}

void shardSlice(Context *ctx, Tensor in, Tensor out, const char *splitAxes) {
  slice(in, out, shardSliceOffsets(ctx, in, out, splitAxes), Dims());
}

} // namespace bbrt
