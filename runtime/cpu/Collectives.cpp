//===- Collectives.cpp - collectives of sharded programs over MPI ---------===//
//
// bbrt.h's "collectives and sharding": each collective runs over the group of
// ranks that differ only along its mesh axes, on a communicator created on
// first use (core/Mesh.cpp). A group of one rank copies locally, so programs
// on a one-device mesh never touch MPI. Collectives along a dimension other
// than the outermost pack or unpack blocks with copyBox around the MPI call
// (MPI concatenates and scatters along the outermost dimension only).
//
//===----------------------------------------------------------------------===//
#include "bbrt/sharding.h"
#include "runtime/mpi/Mpi.h"
#include "runtime/core/Util.h"

#include <cstring>

namespace bbrt {

namespace {

struct Group {
  int64_t size = 1;  // ranks in the group
  int64_t index = 0; // this rank's position in it
  MPI_Comm comm = MPI_COMM_NULL; // only when size > 1
};

Group group(Context *ctx, const Dims &meshAxes, const char *what) {
  static const std::vector<int64_t> noMesh;
  MeshState *mesh = ctx->mesh.get();
  const std::vector<int64_t> axes =
      checkMeshAxes(meshAxes, mesh ? mesh->shape : noMesh, what);
  Group g;
  if (!mesh)
    return g;
  g.size = axesSize(mesh->shape, axes);
  g.index = axesIndex(mesh->shape, mesh->coords, axes);
  if (g.size > 1)
    g.comm = groupComm(*mesh, axes);
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

void checkReducible(DType dtype, ReduceKind kind, const char *what) {
  const bool isFloat = dtype == DType::F32 || dtype == DType::F64;
  BBRT_CHECK(isFloat || dtype == DType::I32 || dtype == DType::I64,
             "%s: dtype %s cannot be reduced (f32, f64, i32, i64)", what,
             dtypeName(dtype));
  BBRT_CHECK(isFloat || kind != ReduceKind::Mean,
             "%s: Mean of dtype %s (floats only)", what, dtypeName(dtype));
}

void checkSameDtype(const Tensor &in, const Tensor &out, const char *what) {
  BBRT_CHECK(in.dtype == out.dtype, "%s: in is %s, out is %s", what,
             dtypeName(in.dtype), dtypeName(out.dtype));
}

int normAxis(int64_t axis, int rank, const char *what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  BBRT_CHECK(a >= 0 && a < rank, "%s: axis %lld outside rank %d", what,
             (long long)axis, rank);
  return static_cast<int>(a);
}

/// Element-count product of dims [0, axis): 1 when the blocks along `axis`
/// are contiguous, so MPI can concatenate or scatter them directly.
int64_t outer(const Dims &shape, int axis) {
  int64_t n = 1;
  for (int d = 0; d < axis; ++d)
    n *= shape.d[d];
  return n;
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

std::string shapes(const Tensor &in, const Tensor &out) {
  return "in " + formatDims(in.shape) + ", out " + formatDims(out.shape);
}

} // namespace

//===--- collectives --------------------------------------------------------===//

void allReduce(Context *ctx, Tensor in, Tensor out, ReduceKind kind,
               Dims meshAxes) {
  const char *what = "allReduce";
  checkSameDtype(in, out, what);
  BBRT_CHECK(in.shape == out.shape, "allReduce: shapes differ (%s)",
             shapes(in, out).c_str());
  checkReducible(in.dtype, kind, what);
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

void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
               Dims meshAxes) {
  const char *what = "allGather";
  checkSameDtype(in, out, what);
  BBRT_CHECK(in.shape.rank == out.shape.rank && in.shape.rank > 0,
             "allGather: ranks differ or are 0 (%s)", shapes(in, out).c_str());
  const int a = normAxis(axis, in.shape.rank, what);
  const Group g = group(ctx, meshAxes, what);
  Dims want = in.shape;
  want.d[a] *= g.size;
  BBRT_CHECK(out.shape == want,
             "allGather: out must be %s (in %s gathered from %lld ranks "
             "along axis %d), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(),
             (long long)g.size, a, formatDims(out.shape).c_str());
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int count = mpiCount(in.numel(), what);
  const MPI_Datatype type = mpiType(in.dtype);
  if (outer(in.shape, a) == 1) {
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
  checkSameDtype(in, out, what);
  checkReducible(in.dtype, kind, what);
  BBRT_CHECK(in.shape.rank == out.shape.rank && in.shape.rank > 0,
             "reduceScatter: ranks differ or are 0 (%s)",
             shapes(in, out).c_str());
  const int a = normAxis(axis, in.shape.rank, what);
  const Group g = group(ctx, meshAxes, what);
  Dims want = in.shape;
  BBRT_CHECK(want.d[a] % g.size == 0,
             "reduceScatter: axis %d of in %s does not split into %lld "
             "blocks",
             a, formatDims(in.shape).c_str(), (long long)g.size);
  want.d[a] /= g.size;
  BBRT_CHECK(out.shape == want,
             "reduceScatter: out must be %s (in %s scattered over %lld "
             "ranks along axis %d), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(),
             (long long)g.size, a, formatDims(out.shape).c_str());
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int count = mpiCount(out.numel(), what);
  const void *send = in.data;
  if (outer(in.shape, a) != 1) {
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
  checkSameDtype(in, out, what);
  BBRT_CHECK(in.shape.rank == out.shape.rank && in.shape.rank > 0,
             "allToAll: ranks differ or are 0 (%s)", shapes(in, out).c_str());
  const int r = in.shape.rank;
  const int s = normAxis(splitAxis, r, what);
  const int c = normAxis(concatAxis, r, what);
  const Group g = group(ctx, meshAxes, what);
  BBRT_CHECK(in.shape.d[s] % g.size == 0,
             "allToAll: split axis %d of in %s does not split into %lld "
             "blocks",
             s, formatDims(in.shape).c_str(), (long long)g.size);
  Dims block = in.shape;
  block.d[s] /= g.size;
  Dims want = block;
  want.d[c] *= g.size;
  BBRT_CHECK(out.shape == want,
             "allToAll: out must be %s (in %s split along axis %d, "
             "concatenated along axis %d over %lld ranks), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(), s, c,
             (long long)g.size, formatDims(out.shape).c_str());
  if (g.size == 1) {
    copyIfDistinct(in, out);
    return;
  }
  const int64_t esize = dtypeSize(in.dtype);
  const size_t bytes = static_cast<size_t>(block.numel() * esize);
  const int count = mpiCount(block.numel(), what);
  const MPI_Datatype type = mpiType(in.dtype);
  const bool packIn = outer(in.shape, s) != 1;
  const bool unpackOut = outer(out.shape, c) != 1;
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
  const char *what = "shardSlice";
  checkSameDtype(in, out, what);
  const std::string text = splitAxes ? splitAxes : "";
  static const std::vector<int64_t> noMesh;
  MeshState *mesh = ctx->mesh.get();
  SplitAxes parsed;
  const SplitAxes *split = &parsed;
  if (mesh) {
    auto it = mesh->splits.find(text);
    if (it == mesh->splits.end()) {
      SplitAxes s = parseSplitAxes(text);
      try {
        checkSplitAxes(s, mesh->shape, in.shape.rank);
      } catch (const Error &e) {
        fail("shardSlice of a %s tensor: %s", formatDims(in.shape).c_str(),
             e.what());
      }
      it = mesh->splits.emplace(text, std::move(s)).first;
    }
    split = &it->second;
  } else {
    parsed = parseSplitAxes(text);
    try {
      checkSplitAxes(parsed, noMesh, in.shape.rank);
    } catch (const Error &e) {
      fail("shardSlice of a %s tensor: %s", formatDims(in.shape).c_str(),
           e.what());
    }
  }
  const std::vector<int64_t> &meshShape = mesh ? mesh->shape : noMesh;
  Dims want;
  try {
    want = localShape(in.shape, *split, meshShape);
  } catch (const Error &e) {
    fail("shardSlice %s: %s", text.c_str(), e.what());
  }
  BBRT_CHECK(out.shape == want,
             "shardSlice %s: out must be %s (the slice of in %s), not %s",
             text.c_str(), formatDims(want).c_str(),
             formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  const std::vector<int64_t> coords =
      mesh ? mesh->coords : std::vector<int64_t>();
  copyBox(in.data, in.shape, shardOffsets(out.shape, *split, meshShape, coords),
          out.data, out.shape, zeros(out.shape.rank), out.shape,
          dtypeSize(in.dtype));
}

//===--- point to point -----------------------------------------------------===//

namespace {

void checkPeer(Context *ctx, int64_t peer, int64_t tag, const char *what) {
  (void)ctx;
  BBRT_CHECK(distributed(),
             "%s: the program runs on one process (its mesh has one device)",
             what);
  BBRT_CHECK(peer >= 0 && peer < worldSize(),
             "%s: peer rank %lld outside the world of %lld ranks", what,
             (long long)peer, (long long)worldSize());
  BBRT_CHECK(peer != worldRank(), "%s: peer rank %lld is this rank", what,
             (long long)peer);
  BBRT_CHECK(tag >= 0 && tag <= 32767, "%s: tag %lld outside [0, 32767]",
             what, (long long)tag);
}

} // namespace

void sendTensor(Context *ctx, Tensor in, int64_t peerRank, int64_t tag) {
  const char *what = "sendTensor";
  checkPeer(ctx, peerRank, tag, what);
  checkMpi(MPI_Send(in.data, mpiCount(in.numel(), what), mpiType(in.dtype),
                    static_cast<int>(peerRank), static_cast<int>(tag),
                    MPI_COMM_WORLD),
           what);
}

void postSend(Context *ctx, Tensor in, int64_t peerRank, int64_t tag) {
  const char *what = "postSend";
  checkPeer(ctx, peerRank, tag, what);
  auto *mesh = dynamic_cast<MpiMeshState *>(ctx->mesh.get());
  BBRT_CHECK(mesh, "postSend: the program declares no mesh");
  const size_t bytes = static_cast<size_t>(in.numel()) * dtypeSize(in.dtype);
  mesh->pending.push_back({MPI_REQUEST_NULL, std::vector<char>(bytes)});
  MpiMeshState::PendingSend &p = mesh->pending.back();
  if (bytes)
    std::memcpy(p.bytes.data(), in.data, bytes);
  checkMpi(MPI_Isend(p.bytes.data(), mpiCount(in.numel(), what),
                     mpiType(in.dtype), static_cast<int>(peerRank),
                     static_cast<int>(tag), MPI_COMM_WORLD, &p.request),
           what);
}

void waitSends(Context *ctx) {
  auto *mesh = dynamic_cast<MpiMeshState *>(ctx->mesh.get());
  if (!mesh)
    return;
  for (MpiMeshState::PendingSend &p : mesh->pending)
    checkMpi(MPI_Wait(&p.request, MPI_STATUS_IGNORE), "waitSends");
  mesh->pending.clear();
}

void recvTensor(Context *ctx, Tensor out, int64_t peerRank, int64_t tag) {
  const char *what = "recvTensor";
  checkPeer(ctx, peerRank, tag, what);
  MPI_Status status;
  const int count = mpiCount(out.numel(), what);
  checkMpi(MPI_Recv(out.data, count, mpiType(out.dtype),
                    static_cast<int>(peerRank), static_cast<int>(tag),
                    MPI_COMM_WORLD, &status),
           what);
  int got = 0;
  MPI_Get_count(&status, mpiType(out.dtype), &got);
  BBRT_CHECK(got == count,
             "recvTensor: rank %lld sent %d elements with tag %lld, out (%s "
             "%s) holds %d",
             (long long)peerRank, got, (long long)tag, dtypeName(out.dtype),
             formatDims(out.shape).c_str(), count);
}

} // namespace bbrt
