// Sharding arithmetic and declarations in one process (no MPI): split-axes
// text, mesh coordinates and groups, global/local shapes and shard offsets,
// copyBox against naive loops, setMesh/setSharding errors, and collectives
// on one-rank groups (which copy without MPI). mpi_collectives.cpp checks the
// collectives across ranks.
#include "TestUtil.h"
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/core/Distributed.h"

#include <algorithm>
#include <map>
#include <tuple>

using namespace bbrt;
using bbrt::test::rng;

namespace {

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

void noop(Context *) {}

/// A model with one function and the given mesh (none when empty).
void basicModel(ModelInfo &info, std::initializer_list<int64_t> mesh) {
  setModelName(&info, "m");
  if (mesh.size())
    setMesh(&info, mesh);
  addFunction(&info, "forward", noop);
  setArenaSize(&info, 64);
}

} // namespace

TEST_CASE("parseSplitAxes reads MLIR mesh split_axes text", "[sharding]") {
  CHECK(parseSplitAxes("[[0], [], [1, 2]]") == SplitAxes{{0}, {}, {1, 2}});
  CHECK(parseSplitAxes("").empty());
  CHECK(parseSplitAxes("[]").empty());
  CHECK(parseSplitAxes("  [ [ 1 ,0 ] ]  ") == SplitAxes{{1, 0}});
  CHECK(parseSplitAxes("[[],[3]]") == SplitAxes{{}, {3}});
  CHECK(formatSplitAxes(SplitAxes{{0}, {}, {1, 2}}) == "[[0], [], [1, 2]]");
  CHECK(formatSplitAxes(SplitAxes{}) == "[]");
  CHECK(isReplicated(SplitAxes{{}, {}}));
  CHECK(!isReplicated(SplitAxes{{}, {0}}));

  CHECK(errorOf([] { parseSplitAxes("[[0]"); }) ==
        "split axes '[[0]': expected ']' at the end (want e.g. \"[[0], [], "
        "[1, 2]]\")");
  CHECK(errorOf([] { parseSplitAxes("[0]"); }) ==
        "split axes '[0]': expected '[' at offset 1 (want e.g. \"[[0], [], "
        "[1, 2]]\")");
  CHECK(errorOf([] { parseSplitAxes("[[x]]"); }) ==
        "split axes '[[x]]': expected a mesh axis number at offset 2 (want "
        "e.g. \"[[0], [], [1, 2]]\")");
  CHECK(errorOf([] { parseSplitAxes("[[0]] ]"); }) ==
        "split axes '[[0]] ]': unexpected ']' after the list (want e.g. "
        "\"[[0], [], [1, 2]]\")");
}

TEST_CASE("checkSplitAxes checks axes against the mesh and rank",
          "[sharding]") {
  const std::vector<int64_t> mesh = {2, 2};
  checkSplitAxes({{0}, {}, {1}}, mesh, 3);
  checkSplitAxes({{1, 0}}, mesh, 1);
  CHECK(errorOf([&] { checkSplitAxes({{2}}, mesh, 1); }) ==
        "split axes [[2]]: mesh axis 2 does not exist (mesh 2x2 has 2 axes)");
  CHECK(errorOf([&] { checkSplitAxes({{0}, {0}}, mesh, 2); }) ==
        "split axes [[0], [0]]: mesh axis 0 is used twice");
  CHECK(errorOf([&] { checkSplitAxes({{0}, {}, {1}}, mesh, 2); }) ==
        "split axes [[0], [], [1]]: 3 entries for a tensor of rank 2");
  CHECK(errorOf([&] { checkSplitAxes({{1}}, {4}, 1); }) ==
        "split axes [[1]]: mesh axis 1 does not exist (mesh 4 has 1 axis)");
}

TEST_CASE("ranks map row-major onto mesh coordinates", "[sharding]") {
  const std::vector<int64_t> mesh = {2, 4};
  CHECK(meshSize(mesh) == 8);
  CHECK(meshSize({}) == 1);
  CHECK(formatMesh(mesh) == "2x4");
  CHECK(formatMesh({}) == "1");
  CHECK(meshCoords(mesh, 6) == std::vector<int64_t>{1, 2});
  CHECK(meshCoords(mesh, 3) == std::vector<int64_t>{0, 3});
  for (int64_t r = 0; r < 8; ++r)
    CHECK(meshRankAt(mesh, meshCoords(mesh, r)) == r);
  // rank = c0 * 4 + c1
  CHECK(meshRankAt(mesh, {1, 3}) == 7);
  CHECK(axesSize(mesh, {0, 1}) == 8);
  CHECK(axesSize(mesh, {}) == 1);
  CHECK(axesIndex(mesh, {1, 2}, {0, 1}) == 6);
  CHECK(axesIndex(mesh, {1, 2}, {1, 0}) == 2 * 2 + 1);
  CHECK(axesIndex(mesh, {1, 2}, {}) == 0);
}

TEST_CASE("groupRanks lists a group in linearized coordinate order",
          "[sharding]") {
  CHECK(groupRanks({2, 2}, 3, {0}) == std::vector<int64_t>{1, 3});
  CHECK(groupRanks({2, 2}, 3, {1}) == std::vector<int64_t>{2, 3});
  CHECK(groupRanks({2, 2}, 0, {0, 1}) == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(groupRanks({2, 2}, 2, {}) == std::vector<int64_t>{2});
  // Brute force on a 2x3x2 mesh: the ranks equal to `rank` off the axes,
  // ordered by their linearized coordinate along the axes.
  const std::vector<int64_t> mesh = {2, 3, 2};
  const std::vector<std::vector<int64_t>> axesSets = {
      {}, {0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
  for (int64_t rank = 0; rank < 12; ++rank)
    for (const auto &axes : axesSets) {
      const auto mine = meshCoords(mesh, rank);
      std::map<int64_t, int64_t> byIndex;
      for (int64_t r = 0; r < 12; ++r) {
        const auto c = meshCoords(mesh, r);
        bool same = true;
        for (int a = 0; a < 3; ++a)
          if (std::find(axes.begin(), axes.end(), a) == axes.end() &&
              c[a] != mine[a])
            same = false;
        if (same)
          byIndex[axesIndex(mesh, c, axes)] = r;
      }
      std::vector<int64_t> want;
      for (auto &kv : byIndex)
        want.push_back(kv.second);
      INFO("rank " << rank << " axes " << axes.size());
      CHECK(groupRanks(mesh, rank, axes) == want);
      CHECK(static_cast<int64_t>(want.size()) == axesSize(mesh, axes));
    }
}

TEST_CASE("checkMeshAxes wants sorted axes of the mesh", "[sharding]") {
  CHECK(checkMeshAxes(Dims{0, 1}, {2, 2}, "allReduce") ==
        std::vector<int64_t>{0, 1});
  CHECK(checkMeshAxes(Dims(), {}, "allReduce").empty());
  CHECK(errorOf([] { checkMeshAxes(Dims{1, 0}, {2, 2}, "allGather"); }) ==
        "allGather: mesh axes 1x0 are not sorted and unique");
  CHECK(errorOf([] { checkMeshAxes(Dims{2}, {2, 2}, "allGather"); }) ==
        "allGather: mesh axis 2 does not exist (mesh 2x2)");
  CHECK(errorOf([] { checkMeshAxes(Dims{0}, {}, "allReduce"); }) ==
        "allReduce: mesh axis 0 does not exist (the model declares no mesh)");
}

TEST_CASE("global and local shapes, shard offsets", "[sharding]") {
  const std::vector<int64_t> mesh = {2, 3};
  const SplitAxes split = {{0}, {1}};
  CHECK(globalShape(Dims{2, 2}, split, mesh) == Dims{4, 6});
  CHECK(localShape(Dims{4, 6}, split, mesh) == Dims{2, 2});
  CHECK(shardOffsets(Dims{2, 2}, split, mesh, {1, 2}) == Dims{2, 4});
  CHECK(shardOffsets(Dims{2, 2}, split, mesh, {0, 1}) == Dims{0, 2});
  // one dimension over both axes, minor axis listed first: index c1 * 2 + c0
  const SplitAxes both = {{}, {1, 0}};
  CHECK(globalShape(Dims{5, 1}, both, mesh) == Dims{5, 6});
  CHECK(shardOffsets(Dims{5, 1}, both, mesh, {1, 2}) == Dims{0, 5});
  // trailing dimensions without entries are replicated
  CHECK(globalShape(Dims{3, 4, 5}, SplitAxes{{1}}, mesh) == Dims{9, 4, 5});
  CHECK(errorOf([&] { localShape(Dims{5, 6}, split, mesh); }) ==
        "dimension 0 of shape 5x6 (5) does not split into 2 equal blocks");
}

TEST_CASE("copyBox copies boxes like naive loops", "[sharding]") {
  std::uniform_int_distribution<int> pick(1, 5);
  for (int iter = 0; iter < 300; ++iter) {
    const int rank = 1 + iter % 4;
    const int64_t esize = std::vector<int64_t>{1, 2, 4, 8}[iter % 4];
    Dims src, dst, box, so, doff;
    src.rank = dst.rank = box.rank = so.rank = doff.rank = rank;
    for (int d = 0; d < rank; ++d) {
      box.d[d] = pick(rng()) - 1 + (iter % 7 == 0 ? 0 : 1); // sometimes 0
      if (box.d[d] == 0 && iter % 7 != 0)
        box.d[d] = 1;
      src.d[d] = box.d[d] + pick(rng()) % 3;
      dst.d[d] = box.d[d] + pick(rng()) % 3;
      if (iter % 3 == 0) // whole dims: long contiguous runs
        src.d[d] = dst.d[d] = box.d[d];
      so.d[d] = src.d[d] - box.d[d] ? pick(rng()) % (src.d[d] - box.d[d] + 1) : 0;
      doff.d[d] = dst.d[d] - box.d[d] ? pick(rng()) % (dst.d[d] - box.d[d] + 1) : 0;
    }
    std::vector<unsigned char> a(src.numel() * esize), b(dst.numel() * esize),
        want;
    for (auto &v : a)
      v = static_cast<unsigned char>(rng()());
    for (auto &v : b)
      v = static_cast<unsigned char>(rng()());
    want = b;
    // naive: every element of the box
    const int64_t n = box.numel();
    for (int64_t i = 0; i < n; ++i) {
      int64_t rest = i, si = 0, di = 0;
      int64_t idx[kMaxRank];
      for (int d = rank - 1; d >= 0; --d) {
        idx[d] = rest % box.d[d];
        rest /= box.d[d];
      }
      for (int d = 0; d < rank; ++d) {
        si = si * src.d[d] + so.d[d] + idx[d];
        di = di * dst.d[d] + doff.d[d] + idx[d];
      }
      std::memcpy(&want[di * esize], &a[si * esize], esize);
    }
    copyBox(a.data(), src, so, b.data(), dst, doff, box, esize);
    INFO("iter " << iter << " box " << formatDims(box) << " src "
                 << formatDims(src) << " dst " << formatDims(dst));
    CHECK(b == want);
  }
  float x[6] = {};
  CHECK(errorOf([&] {
          copyBox(x, Dims{6}, Dims{4}, x, Dims{6}, Dims{0}, Dims{3}, 4);
        }) == "copyBox: box 3 at 4 / 0 outside 6 / 6");
}

TEST_CASE("setMesh and setSharding declarations", "[sharding]") {
  ModelInfo info;
  setMesh(&info, {2, 2});
  CHECK(info.mesh == std::vector<int64_t>{2, 2});
  CHECK(errorOf([&] { setMesh(&info, {4}); }) ==
        "model declares the mesh twice");
  ModelInfo bad;
  CHECK(errorOf([&] { setMesh(&bad, {2, 0}); }) ==
        "model declares mesh axis of size 0");
  CHECK(errorOf([&] { setSharding(&info, "[[0]]"); }) ==
        "model declares a sharding ([[0]]) that follows no weight or state");
  addWeight(&info, "w", DType::F32, {2, 3});
  setSharding(&info, "[[0], [1]]");
  addState(&info, "s", DType::F32, {4}, false);
  setSharding(&info, "[[1, 0]]");
  CHECK(info.weights[0].split == SplitAxes{{0}, {1}});
  CHECK(info.states[0].split == SplitAxes{{1, 0}});
  CHECK(globalShape(info, info.weights[0]) == Dims{4, 6});
  CHECK(globalShape(info, info.states[0]) == Dims{16});
  CHECK(shardingNote(info, info.weights[0]) ==
        " (sharded [[0], [1]] over mesh 2x2: 2x3 per rank)");
  CHECK(errorOf([&] { setSharding(&info, "[[0"); }).rfind(
            "model's state 's': split axes '[[0': ", 0) == 0);
  addFunction(&info, "forward", noop);
  setArenaSize(&info, 64);
  CHECK(errorOf([&] { setSharding(&info, "[[0]]"); }) ==
        "model declares a sharding ([[0]]) that follows no weight or state");
  validateModel(info);

  ModelInfo noMesh;
  basicModel(noMesh, {});
  addWeight(&noMesh, "w", DType::F32, {2});
  setSharding(&noMesh, "[[0]]");
  CHECK(errorOf([&] { validateModel(noMesh); }) ==
        "model's weight 'w' is sharded ([[0]]) but the model declares no mesh");
  ModelInfo badAxis;
  basicModel(badAxis, {2});
  addState(&badAxis, "s", DType::F32, {2, 2}, false);
  setSharding(&badAxis, "[[], [1]]");
  CHECK(errorOf([&] { validateModel(badAxis); }) ==
        "model's state 's' (2x2): split axes [[], [1]]: mesh axis 1 does not "
        "exist (mesh 2 has 1 axis)");
}

TEST_CASE("a mesh of several devices refuses to run in one process",
          "[sharding]") {
  ModelInfo info;
  basicModel(info, {2, 2});
  CHECK(launcherWorldSize() == 1);
  CHECK(errorOf([&] { createContext(info, ""); }) ==
        "this program was compiled for 4 ranks (mesh 2x2); it is running on "
        "1 (run it with mpirun -np 4)");
  CHECK(!distributed());
  CHECK(worldSize() == 1);
  CHECK(worldRank() == 0);
}

TEST_CASE("collectives on one-rank groups copy without MPI", "[sharding]") {
  ModelInfo info;
  basicModel(info, {1, 1});
  auto ctx = createContext(info, "");
  CHECK(!distributed());
  HostTensor x = test::random(DType::F32, {3, 4});
  HostTensor y(DType::F32, {3, 4});
  for (ReduceKind k : {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Max}) {
    allReduce(ctx.get(), x.view(), y.view(), k, Dims{0, 1});
    CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  }
  allReduce(ctx.get(), y.view(), y.view(), ReduceKind::Mean, Dims{1});
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  std::memset(y.data(), 0, y.nbytes());
  allGather(ctx.get(), x.view(), y.view(), 1, Dims{0});
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  std::memset(y.data(), 0, y.nbytes());
  reduceScatter(ctx.get(), x.view(), y.view(), 0, ReduceKind::Sum, Dims{0, 1});
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  std::memset(y.data(), 0, y.nbytes());
  allToAll(ctx.get(), x.view(), y.view(), 0, 1, Dims{1});
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  std::memset(y.data(), 0, y.nbytes());
  shardSlice(ctx.get(), x.view(), y.view(), "[[0], [1]]");
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);

  // Errors that every rank would raise alike, before any communication.
  HostTensor wrong(DType::F32, {3, 5});
  CHECK(errorOf([&] {
          allGather(ctx.get(), x.view(), wrong.view(), 1, Dims{0});
        }) == "allGather: out must be 3x4 (in 3x4 gathered from 1 ranks along "
              "axis 1), not 3x5");
  CHECK(errorOf([&] {
          allReduce(ctx.get(), x.view(), wrong.view(), ReduceKind::Sum,
                    Dims{0});
        }) == "allReduce: shapes differ (in 3x4, out 3x5)");
  HostTensor xi(DType::I64, {3, 4}), yi(DType::I64, {3, 4});
  CHECK(errorOf([&] {
          allReduce(ctx.get(), xi.view(), yi.view(), ReduceKind::Mean,
                    Dims{0});
        }) == "allReduce: Mean of dtype i64 (floats only)");
  HostTensor xb(DType::Bool, {3, 4}), yb(DType::Bool, {3, 4});
  CHECK(errorOf([&] {
          allReduce(ctx.get(), xb.view(), yb.view(), ReduceKind::Max,
                    Dims{0});
        }) == "allReduce: dtype bool cannot be reduced (f32, f64, i32, i64)");
  CHECK(errorOf([&] {
          allGather(ctx.get(), x.view(), y.view(), 2, Dims{0});
        }) == "allGather: axis 2 outside rank 2");
  CHECK(errorOf([&] {
          shardSlice(ctx.get(), x.view(), y.view(), "[[2]]");
        }) == "shardSlice of a 3x4 tensor: split axes [[2]]: mesh axis 2 does "
              "not exist (mesh 1x1 has 2 axes)");
  CHECK(errorOf([&] { sendTensor(ctx.get(), x.view(), 1, 0); }) ==
        "sendTensor: the program runs on one process (its mesh has one "
        "device)");
}

TEST_CASE("collectives of a model without a mesh", "[sharding]") {
  ModelInfo info;
  basicModel(info, {});
  auto ctx = createContext(info, "");
  HostTensor x = test::random(DType::F32, {2, 2}), y(DType::F32, {2, 2});
  allReduce(ctx.get(), x.view(), y.view(), ReduceKind::Sum, Dims());
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  shardSlice(ctx.get(), x.view(), y.view(), "[]");
  CHECK(std::memcmp(x.data(), y.data(), x.nbytes()) == 0);
  CHECK(errorOf([&] {
          allReduce(ctx.get(), x.view(), y.view(), ReduceKind::Sum, Dims{0});
        }) ==
        "allReduce: mesh axis 0 does not exist (the model declares no mesh)");
}

TEST_CASE("stage meshes: declarations, each rank's mesh, a state put together",
          "[sharding]") {
  // Two pipeline stages on meshes of their own: 1x2 on ranks 0-1, 1x1 on
  // rank 2, in a world of one axis.
  ModelInfo info;
  CHECK(errorOf([&] { addStageMesh(&info, {1, 2}); }) ==
        "model declares a stage's mesh without a world mesh of one axis");
  setMesh(&info, {3});
  addStageMesh(&info, {1, 2});
  addStageMesh(&info, {1, 1});
  CHECK(errorOf([&] { addStageMesh(&info, {1, 1}); }) ==
        "model's stage meshes take 4 ranks, its world 3");
  // A state of stage 0 split over its mesh's second axis: 2x3 per rank,
  // 2x6 whole; without its mesh it would read the world's.
  addState(&info, "w", DType::F32, {2, 3}, false);
  setSharding(&info, "[[], [1]]");
  CHECK(errorOf([&] { setShardingMesh(&info, 2); }) ==
        "model places a sharding on stage 2's mesh, which it does not "
        "declare (or after no weight or state)");
  setShardingMesh(&info, 0);
  CHECK(declMesh(info, info.states[0]) == std::vector<int64_t>{1, 2});
  CHECK(globalShape(info, info.states[0]) == Dims{2, 6});
  CHECK(shardingNote(info, info.states[0]) ==
        " (sharded [[], [1]] over mesh 1x2: 2x3 per rank)");

  // Each world rank's place: its stage's mesh, from the stage's first rank.
  for (auto [rank, offset, local] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{0, 0, 0}, {1, 0, 1}, {2, 2, 0}}) {
    MeshState m;
    placeOnStageMesh(info, rank, m);
    CHECK(m.offset == offset);
    CHECK(m.rank == local);
    CHECK(m.shape == (rank < 2 ? std::vector<int64_t>{1, 2}
                               : std::vector<int64_t>{1, 1}));
    CHECK(m.coords == meshCoords(m.shape, local));
  }
  MeshState outside;
  CHECK(errorOf([&] { placeOnStageMesh(info, 3, outside); }) ==
        "rank 3 is on none of the model's stage meshes (3 ranks in all)");

  // The stage's blocks, rank after rank, put together whole.
  std::vector<float> blocks = {0, 1, 2, 6, 7, 8,   // rank 0: columns 0-2
                               3, 4, 5, 9, 10, 11}; // rank 1: columns 3-5
  AlignedBuffer whole;
  Tensor t = assembleBlocks(info.states[0], {1, 2},
                            reinterpret_cast<const char *>(blocks.data()), whole);
  CHECK(t.shape == Dims{2, 6});
  const float *v = static_cast<const float *>(t.data);
  CHECK(std::vector<float>(v, v + 12) ==
        std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}
