//===- CollectiveArgs.cpp - checked operands of the collectives -----------===//
#include "runtime/core/CollectiveArgs.h"
#include "bbrt/sharding.h"
#include "runtime/core/Distributed.h"
#include "runtime/core/Util.h"

namespace bbrt {
namespace {

void checkSameDtype(const Tensor &in, const Tensor &out, const char *what) {
  BBRT_CHECK(in.dtype == out.dtype, "%s: in is %s, out is %s", what,
             dtypeName(in.dtype), dtypeName(out.dtype));
}

void checkReducible(DType dtype, ReduceKind kind, const char *what) {
  const bool isFloat = dtype == DType::F32 || dtype == DType::F64;
  BBRT_CHECK(isFloat || dtype == DType::I32 || dtype == DType::I64,
             "%s: dtype %s cannot be reduced (f32, f64, i32, i64)", what,
             dtypeName(dtype));
  BBRT_CHECK(isFloat || kind != ReduceKind::Mean,
             "%s: Mean of dtype %s (floats only)", what, dtypeName(dtype));
}

int normAxis(int64_t axis, int rank, const char *what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  BBRT_CHECK(a >= 0 && a < rank, "%s: axis %lld outside rank %d", what,
             (long long)axis, rank);
  return static_cast<int>(a);
}

std::string shapes(const Tensor &in, const Tensor &out) {
  return "in " + formatDims(in.shape) + ", out " + formatDims(out.shape);
}

void checkRanks(const Tensor &in, const Tensor &out, const char *what) {
  BBRT_CHECK(in.shape.rank == out.shape.rank && in.shape.rank > 0,
             "%s: ranks differ or are 0 (%s)", what, shapes(in, out).c_str());
}

} // namespace

GroupPlace groupPlace(Context *ctx, const Dims &meshAxes, const char *what) {
  static const std::vector<int64_t> noMesh;
  MeshState *mesh = ctx->mesh.get();
  GroupPlace g;
  g.axes = checkMeshAxes(meshAxes, mesh ? mesh->shape : noMesh, what);
  if (!mesh)
    return g;
  g.size = axesSize(mesh->shape, g.axes);
  g.index = axesIndex(mesh->shape, mesh->coords, g.axes);
  return g;
}

void checkAllReduce(const Tensor &in, const Tensor &out, ReduceKind kind) {
  const char *what = "allReduce";
  checkSameDtype(in, out, what);
  BBRT_CHECK(in.shape == out.shape, "allReduce: shapes differ (%s)",
             shapes(in, out).c_str());
  checkReducible(in.dtype, kind, what);
}

bool checkAllReduceAmong(Context *ctx, const Tensor &inout, ReduceKind kind,
                         const std::vector<int64_t> &ranks) {
  checkAllReduce(inout, inout, kind);
  if (ranks.size() <= 1)
    return false;
  BBRT_CHECK(ctx->mesh, "allReduceAmong: the model declares no mesh");
  return true;
}

int checkAllGather(const Tensor &in, const Tensor &out, int64_t axis,
                   int64_t groupSize) {
  const char *what = "allGather";
  checkSameDtype(in, out, what);
  checkRanks(in, out, what);
  const int a = normAxis(axis, in.shape.rank, what);
  Dims want = in.shape;
  want.d[a] *= groupSize;
  BBRT_CHECK(out.shape == want,
             "allGather: out must be %s (in %s gathered from %lld ranks "
             "along axis %d), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(),
             (long long)groupSize, a, formatDims(out.shape).c_str());
  return a;
}

int checkReduceScatter(const Tensor &in, const Tensor &out, int64_t axis,
                       ReduceKind kind, int64_t groupSize) {
  const char *what = "reduceScatter";
  checkSameDtype(in, out, what);
  checkReducible(in.dtype, kind, what);
  checkRanks(in, out, what);
  const int a = normAxis(axis, in.shape.rank, what);
  Dims want = in.shape;
  BBRT_CHECK(want.d[a] % groupSize == 0,
             "reduceScatter: axis %d of in %s does not split into %lld "
             "blocks",
             a, formatDims(in.shape).c_str(), (long long)groupSize);
  want.d[a] /= groupSize;
  BBRT_CHECK(out.shape == want,
             "reduceScatter: out must be %s (in %s scattered over %lld "
             "ranks along axis %d), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(),
             (long long)groupSize, a, formatDims(out.shape).c_str());
  return a;
}

AllToAllShape checkAllToAll(const Tensor &in, const Tensor &out,
                            int64_t splitAxis, int64_t concatAxis,
                            int64_t groupSize) {
  const char *what = "allToAll";
  checkSameDtype(in, out, what);
  checkRanks(in, out, what);
  AllToAllShape s;
  const int r = in.shape.rank;
  s.split = normAxis(splitAxis, r, what);
  s.concat = normAxis(concatAxis, r, what);
  BBRT_CHECK(in.shape.d[s.split] % groupSize == 0,
             "allToAll: split axis %d of in %s does not split into %lld "
             "blocks",
             s.split, formatDims(in.shape).c_str(), (long long)groupSize);
  s.block = in.shape;
  s.block.d[s.split] /= groupSize;
  Dims want = s.block;
  want.d[s.concat] *= groupSize;
  BBRT_CHECK(out.shape == want,
             "allToAll: out must be %s (in %s split along axis %d, "
             "concatenated along axis %d over %lld ranks), not %s",
             formatDims(want).c_str(), formatDims(in.shape).c_str(), s.split,
             s.concat, (long long)groupSize, formatDims(out.shape).c_str());
  return s;
}

Dims shardSliceOffsets(Context *ctx, const Tensor &in, const Tensor &out,
                       const char *splitAxes) {
  checkSameDtype(in, out, "shardSlice");
  const std::string text = splitAxes ? splitAxes : "";
  static const std::vector<int64_t> noMesh;
  MeshState *mesh = ctx->mesh.get();
  const std::vector<int64_t> &meshShape = mesh ? mesh->shape : noMesh;
  auto parse = [&]() {
    SplitAxes s = parseSplitAxes(text);
    try {
      checkSplitAxes(s, meshShape, in.shape.rank);
    } catch (const Error &e) {
      fail("shardSlice of a %s tensor: %s", formatDims(in.shape).c_str(),
           e.what());
    }
    return s;
  };
  SplitAxes parsed;
  const SplitAxes *split = &parsed;
  if (mesh) {
    auto it = mesh->splits.find(text);
    if (it == mesh->splits.end())
      it = mesh->splits.emplace(text, parse()).first;
    split = &it->second;
  } else {
    parsed = parse();
  }
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
  return shardOffsets(out.shape, *split, meshShape, coords);
}

void checkPeer(int64_t peer, int64_t tag, const char *what) {
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

int64_t outerCount(const Dims &shape, int axis) {
  int64_t n = 1;
  for (int d = 0; d < axis; ++d)
    n *= shape.d[d];
  return n;
}

int64_t innerCount(const Dims &shape, int axis) {
  int64_t n = 1;
  for (int d = axis + 1; d < shape.rank; ++d)
    n *= shape.d[d];
  return n;
}

} // namespace bbrt
