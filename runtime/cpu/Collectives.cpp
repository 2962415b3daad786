//===- Collectives.cpp - collectives of sharded programs over MPI ---------===//
//
// bbrt.h's "collectives and sharding": each collective runs over the group of
// ranks that differ only along its mesh axes, on a communicator created on
// first use (core/Mesh.cpp). A group of one rank copies locally, so programs
// on a one-device mesh never touch MPI. Collectives along a dimension other
// than the outermost pack or unpack blocks with copyBox around the MPI call
// (MPI concatenates and scatters along the outermost dimension only).
// Point-to-point transfers: runtime/mpi/PointToPoint.cpp.
//
//===----------------------------------------------------------------------===//
#include "bbrt/sharding.h"
#include "runtime/core/CollectiveArgs.h"
#include "runtime/core/Util.h"
#include "runtime/mpi/Mpi.h"

#include <cstring>

namespace bbrt {

namespace {

struct Group : GroupPlace {
  MPI_Comm comm = MPI_COMM_NULL; // only when size > 1
};

Group group(Context *ctx, const Dims &meshAxes, const char *what) {
  Group g;
  static_cast<GroupPlace &>(g) = groupPlace(ctx, meshAxes, what);
  if (g.size > 1)
    g.comm = groupComm(*ctx->mesh, g.axes);
  return g;
}

/// Scratch memory of at least `bytes`, kept by the Context's mesh between
/// calls; `which` picks one of two buffers. Only for groups of more than one
/// rank (which have a mesh).
char *scratch(Context *ctx, size_t bytes, int which) {
  std::vector<char> &buf = ctx->mesh->scratch[which];
  if (buf.size() < bytes)
    buf.resize(bytes);
  return buf.data();
}

MPI_Op reduceOp(ReduceKind kind, const char *what) {
  switch (kind) {
  case ReduceKind::Sum:
  case ReduceKind::Mean: return MPI_SUM;
  case ReduceKind::Max: return MPI_MAX;
  case ReduceKind::Min: return MPI_MIN;
  case ReduceKind::Prod: return MPI_PROD;
  }
  fail("%s: unknown reduction kind %d", what, static_cast<int>(kind));
}

Dims offsetAlong(int rank, int axis, int64_t offset) {
  Dims o = zeros(rank);
  o.d[axis] = offset;
  return o;
}

void copyIfDistinct(const Tensor &in, const Tensor &out) {
  if (in.data != out.data)
    std::memmove(out.data, in.data, static_cast<size_t>(in.nbytes()));
}

void divideBy(Tensor t, int64_t n) {
  const int64_t count = t.numel();
  if (t.dtype == DType::F32) {
    float *p = static_cast<float *>(t.data);
    const float s = static_cast<float>(n);
    for (int64_t i = 0; i < count; ++i)
      p[i] /= s;
  } else {
    double *p = static_cast<double *>(t.data);
    const double s = static_cast<double>(n);
    for (int64_t i = 0; i < count; ++i)
      p[i] /= s;
  }
}

} // namespace

//===--- collectives --------------------------------------------------------===//

void allReduce(Context *ctx, Tensor in, Tensor out, ReduceKind kind,
               Dims meshAxes) {
  const char *what = "allReduce";
  checkAllReduce(in, out, kind);
  const Group g = group(ctx, meshAxes, what);
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int count = mpiCount(in.numel(), what);
  checkMpi(MPI_Allreduce(in.data == out.data ? MPI_IN_PLACE : in.data,
                         out.data, count, mpiType(in.dtype),
                         reduceOp(kind, what), g.comm),
           what);
  if (kind == ReduceKind::Mean)
    divideBy(out, g.size);
}

void allReduceAmong(Context *ctx, Tensor inout, ReduceKind kind,
                    const std::vector<int64_t> &ranks) {
  const char *what = "allReduceAmong";
  if (!checkAllReduceAmong(ctx, inout, kind, ranks))
    return;
  const int count = mpiCount(inout.numel(), what);
  checkMpi(MPI_Allreduce(MPI_IN_PLACE, inout.data, count, mpiType(inout.dtype),
                         reduceOp(kind, what),
                         rankGroupComm(*ctx->mesh, ranks)),
           what);
  if (kind == ReduceKind::Mean)
    divideBy(inout, static_cast<int64_t>(ranks.size()));
}

void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
               Dims meshAxes) {
  const char *what = "allGather";
  const Group g = group(ctx, meshAxes, what);
  const int a = checkAllGather(in, out, axis, g.size);
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int count = mpiCount(in.numel(), what);
  const MPI_Datatype type = mpiType(in.dtype);
  if (outerCount(in.shape, a) == 1) {
    checkMpi(MPI_Allgather(in.data, count, type, out.data, count, type,
                           g.comm),
             what);
    return;
  }
  const size_t bytes = static_cast<size_t>(in.nbytes());
  char *all = scratch(ctx, bytes * g.size, 0);
  checkMpi(MPI_Allgather(in.data, count, type, all, count, type, g.comm),
           what);
  const int r = in.shape.rank;
  for (int64_t j = 0; j < g.size; ++j)
    copyBox(all + bytes * j, in.shape, zeros(r), out.data, out.shape,
            offsetAlong(r, a, j * in.shape.d[a]), in.shape,
            dtypeSize(in.dtype));
}

void reduceScatter(Context *ctx, Tensor in, Tensor out, int64_t axis,
                   ReduceKind kind, Dims meshAxes) {
  const char *what = "reduceScatter";
  const Group g = group(ctx, meshAxes, what);
  const int a = checkReduceScatter(in, out, axis, kind, g.size);
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int count = mpiCount(out.numel(), what);
  const void *send = in.data;
  if (outerCount(in.shape, a) != 1) {
    // Block j (for group member j) first, then block j + 1, ...
    const size_t bytes = static_cast<size_t>(out.nbytes());
    char *packed = scratch(ctx, bytes * g.size, 0);
    const int r = in.shape.rank;
    for (int64_t j = 0; j < g.size; ++j)
      copyBox(in.data, in.shape, offsetAlong(r, a, j * out.shape.d[a]),
              packed + bytes * j, out.shape, zeros(r), out.shape,
              dtypeSize(in.dtype));
    send = packed;
  }
  checkMpi(MPI_Reduce_scatter_block(send, out.data, count, mpiType(in.dtype),
                                    reduceOp(kind, what), g.comm),
           what);
  if (kind == ReduceKind::Mean)
    divideBy(out, g.size);
}

void allToAll(Context *ctx, Tensor in, Tensor out, int64_t splitAxis,
              int64_t concatAxis, Dims meshAxes) {
  const char *what = "allToAll";
  const Group g = group(ctx, meshAxes, what);
  const AllToAllShape shape =
      checkAllToAll(in, out, splitAxis, concatAxis, g.size);
  const int r = in.shape.rank, s = shape.split, c = shape.concat;
  const Dims &block = shape.block;
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int64_t esize = dtypeSize(in.dtype);
  const size_t bytes = static_cast<size_t>(block.numel() * esize);
  const int count = mpiCount(block.numel(), what);
  const MPI_Datatype type = mpiType(in.dtype);
  const bool packIn = outerCount(in.shape, s) != 1;
  const bool unpackOut = outerCount(out.shape, c) != 1;
  char *send = packIn ? scratch(ctx, bytes * g.size, 0)
                      : static_cast<char *>(in.data);
  char *recv = unpackOut ? scratch(ctx, bytes * g.size, 1)
                         : static_cast<char *>(out.data);
  if (packIn)
    for (int64_t j = 0; j < g.size; ++j)
      copyBox(in.data, in.shape, offsetAlong(r, s, j * block.d[s]),
              send + bytes * j, block, zeros(r), block, esize);
  checkMpi(MPI_Alltoall(send, count, type, recv, count, type, g.comm), what);
  if (unpackOut)
    for (int64_t j = 0; j < g.size; ++j)
      copyBox(recv + bytes * j, block, zeros(r), out.data, out.shape,
              offsetAlong(r, c, j * block.d[c]), block, esize);
}

void shardSlice(Context *ctx, Tensor in, Tensor out, const char *splitAxes) {
  const Dims offsets = shardSliceOffsets(ctx, in, out, splitAxes);
  copyBox(in.data, in.shape, offsets, out.data, out.shape,
          zeros(out.shape.rank), out.shape, dtypeSize(in.dtype));
}

} // namespace bbrt
