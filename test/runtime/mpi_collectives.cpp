// Checks the collectives of sharded programs across real ranks; run by
// mpi_collectives_test.sh under `mpirun -np N`:
//
//   mpi_collectives check MESH DIR   every collective along every set of mesh
//                                    axes (MESH: "2x2", "2", ...), shardSlice,
//                                    point-to-point, sharded weight loading and
//                                    checkpoints (files in DIR, shared by the
//                                    ranks); exit 0 when every rank passed
//   mpi_collectives fail-on R MESH   rank R throws while the others wait in a
//                                    collective: every rank must end (exit 1)
//
// Every rank's input is a function of (rank, element, salt) with small integer
// values, so sums are exact in any order and each rank computes the expected
// result of a collective from the other ranks' inputs on its own.
#include "bbrt/bbrt.h"
#include "bbrt/io.h"
#include "bbrt/model.h"
#include "bbrt/safetensors.h"
#include "bbrt/sharding.h"
#include "runtime/driver/Checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace bbrt;

namespace {

int64_t failures = 0, checks = 0;

void check(bool ok, const std::string &what) {
  ++checks;
  if (!ok) {
    ++failures;
    fprintf(stderr, "[rank %lld] FAIL: %s\n", (long long)worldRank(),
            what.c_str());
  }
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

/// Rank r's input element i: small integers (exact in float sums).
double value(int64_t r, int64_t i, int salt) {
  return static_cast<double>((r * 7 + i * 3 + salt * 5) % 23 - 11);
}

HostTensor input(DType dtype, const Dims &shape, int64_t rank, int salt) {
  HostTensor t(dtype, shape);
  for (int64_t i = 0; i < shape.numel(); ++i) {
    const double v = value(rank, i, salt);
    switch (dtype) {
    case DType::F32: static_cast<float *>(t.data())[i] = float(v); break;
    case DType::F64: static_cast<double *>(t.data())[i] = v; break;
    case DType::I64: static_cast<int64_t *>(t.data())[i] = int64_t(v); break;
    case DType::I32: static_cast<int32_t *>(t.data())[i] = int32_t(v); break;
    case DType::U8: static_cast<uint8_t *>(t.data())[i] = uint8_t(v + 11); break;
    default: abort();
    }
  }
  return t;
}

double at(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::F32: return static_cast<const float *>(t.data())[i];
  case DType::F64: return static_cast<const double *>(t.data())[i];
  case DType::I64: return double(static_cast<const int64_t *>(t.data())[i]);
  case DType::I32: return double(static_cast<const int32_t *>(t.data())[i]);
  case DType::U8: return double(static_cast<const uint8_t *>(t.data())[i]);
  default: abort();
  }
}

void set(HostTensor &t, int64_t i, double v) {
  switch (t.dtype) {
  case DType::F32: static_cast<float *>(t.data())[i] = float(v); break;
  case DType::F64: static_cast<double *>(t.data())[i] = v; break;
  case DType::I64: static_cast<int64_t *>(t.data())[i] = int64_t(v); break;
  case DType::I32: static_cast<int32_t *>(t.data())[i] = int32_t(v); break;
  case DType::U8: static_cast<uint8_t *>(t.data())[i] = uint8_t(v); break;
  default: abort();
  }
}

bool equal(const HostTensor &a, const HostTensor &b) {
  if (a.dtype != b.dtype || a.shape != b.shape)
    return false;
  for (int64_t i = 0; i < a.shape.numel(); ++i)
    if (at(a, i) != at(b, i))
      return false;
  return true;
}

Dims zeros(int rank) {
  Dims z;
  z.rank = rank;
  return z;
}
Dims along(int rank, int axis, int64_t offset) {
  Dims o = zeros(rank);
  o.d[axis] = offset;
  return o;
}

double reduceValues(ReduceKind kind, const std::vector<double> &v) {
  double r = v[0];
  for (size_t j = 1; j < v.size(); ++j) {
    switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean: r += v[j]; break;
    case ReduceKind::Max: r = std::max(r, v[j]); break;
    case ReduceKind::Min: r = std::min(r, v[j]); break;
    case ReduceKind::Prod: r *= v[j]; break;
    }
  }
  return kind == ReduceKind::Mean ? r / static_cast<double>(v.size()) : r;
}

const char *kindName(ReduceKind k) {
  switch (k) {
  case ReduceKind::Sum: return "Sum";
  case ReduceKind::Mean: return "Mean";
  case ReduceKind::Max: return "Max";
  case ReduceKind::Min: return "Min";
  case ReduceKind::Prod: return "Prod";
  }
  return "?";
}

struct Fixture {
  std::vector<int64_t> mesh;
  Context *ctx;
  int64_t rank;
};

std::string axesText(const std::vector<int64_t> &axes) {
  std::string s = "{";
  for (size_t i = 0; i < axes.size(); ++i)
    s += (i ? "," : "") + std::to_string(axes[i]);
  return s + "}";
}

Dims dimsOf(const std::vector<int64_t> &v) {
  return Dims(v.data(), static_cast<int>(v.size()));
}

//===--- the collectives, along one set of axes -----------------------------===//

void checkAllReduce(const Fixture &f, const std::vector<int64_t> &axes) {
  const std::vector<int64_t> group = groupRanks(f.mesh, f.rank, axes);
  struct Case {
    DType dtype;
    ReduceKind kind;
    bool inPlace;
  };
  const Case cases[] = {
      {DType::F32, ReduceKind::Sum, false}, {DType::F32, ReduceKind::Sum, true},
      {DType::F32, ReduceKind::Max, false}, {DType::F32, ReduceKind::Min, true},
      {DType::F32, ReduceKind::Mean, false}, {DType::F32, ReduceKind::Mean, true},
      {DType::F32, ReduceKind::Prod, false}, {DType::F64, ReduceKind::Mean, false},
      {DType::I64, ReduceKind::Sum, false}, {DType::I64, ReduceKind::Max, true},
      {DType::I32, ReduceKind::Min, false},
  };
  int salt = 0;
  for (const Case &c : cases) {
    ++salt;
    const Dims shape{3, 5};
    HostTensor in = input(c.dtype, shape, f.rank, salt);
    HostTensor out(c.dtype, shape);
    HostTensor want(c.dtype, shape);
    for (int64_t i = 0; i < shape.numel(); ++i) {
      std::vector<double> v;
      for (int64_t r : group)
        v.push_back(value(r, i, salt));
      if (c.dtype == DType::F32 && c.kind == ReduceKind::Mean)
        set(want, i, float(float(reduceValues(ReduceKind::Sum, v)) /
                           float(v.size())));
      else
        set(want, i, reduceValues(c.kind, v));
    }
    if (c.inPlace) {
      allReduce(f.ctx, in.view(), in.view(), c.kind, dimsOf(axes));
      check(equal(in, want), std::string("allReduce in place ") +
                                 kindName(c.kind) + " " + dtypeName(c.dtype) +
                                 " along " + axesText(axes));
    } else {
      allReduce(f.ctx, in.view(), out.view(), c.kind, dimsOf(axes));
      check(equal(out, want), std::string("allReduce ") + kindName(c.kind) +
                                  " " + dtypeName(c.dtype) + " along " +
                                  axesText(axes));
    }
  }
}

void checkAllGather(const Fixture &f, const std::vector<int64_t> &axes) {
  const std::vector<int64_t> group = groupRanks(f.mesh, f.rank, axes);
  const int64_t g = static_cast<int64_t>(group.size());
  const Dims shape{2, 3, 2};
  for (DType dtype : {DType::F32, DType::I64, DType::U8})
    for (int64_t axis : {0, 1, 2, -1}) {
      const int a = axis < 0 ? static_cast<int>(axis + 3) : static_cast<int>(axis);
      const int salt = 20 + a;
      HostTensor in = input(dtype, shape, f.rank, salt);
      Dims outShape = shape;
      outShape.d[a] *= g;
      HostTensor out(dtype, outShape), want(dtype, outShape);
      for (int64_t j = 0; j < g; ++j) {
        HostTensor other = input(dtype, shape, group[j], salt);
        copyBox(other.data(), shape, zeros(3), want.data(), outShape,
                along(3, a, j * shape.d[a]), shape, dtypeSize(dtype));
      }
      allGather(f.ctx, in.view(), out.view(), axis, dimsOf(axes));
      check(equal(out, want), std::string("allGather ") + dtypeName(dtype) +
                                  " axis " + std::to_string(axis) + " along " +
                                  axesText(axes));
    }
}

void checkReduceScatter(const Fixture &f, const std::vector<int64_t> &axes) {
  const std::vector<int64_t> group = groupRanks(f.mesh, f.rank, axes);
  const int64_t g = static_cast<int64_t>(group.size());
  const int64_t me = axesIndex(f.mesh, meshCoords(f.mesh, f.rank), axes);
  for (ReduceKind kind : {ReduceKind::Sum, ReduceKind::Max, ReduceKind::Mean})
    for (int a = 0; a < 3; ++a) {
      const int salt = 30 + a;
      Dims outShape{2, 3, 2};
      Dims inShape = outShape;
      inShape.d[a] *= g;
      HostTensor in = input(DType::F32, inShape, f.rank, salt);
      HostTensor out(DType::F32, outShape), want(DType::F32, outShape);
      // the full reduction, then this rank's block along a
      HostTensor full(DType::F32, inShape);
      for (int64_t i = 0; i < inShape.numel(); ++i) {
        std::vector<double> v;
        for (int64_t r : group)
          v.push_back(value(r, i, salt));
        set(full, i, kind == ReduceKind::Mean
                         ? float(float(reduceValues(ReduceKind::Sum, v)) /
                                 float(g))
                         : reduceValues(kind, v));
      }
      copyBox(full.data(), inShape, along(3, a, me * outShape.d[a]),
              want.data(), outShape, zeros(3), outShape, 4);
      reduceScatter(f.ctx, in.view(), out.view(), a, kind, dimsOf(axes));
      check(equal(out, want), std::string("reduceScatter ") + kindName(kind) +
                                  " axis " + std::to_string(a) + " along " +
                                  axesText(axes));
    }
}

void checkAllToAll(const Fixture &f, const std::vector<int64_t> &axes) {
  const std::vector<int64_t> group = groupRanks(f.mesh, f.rank, axes);
  const int64_t g = static_cast<int64_t>(group.size());
  const int64_t me = axesIndex(f.mesh, meshCoords(f.mesh, f.rank), axes);
  const int pairs[][2] = {{0, 1}, {1, 0}, {2, 0}, {0, 2}, {1, 1}, {2, 1}};
  for (DType dtype : {DType::F32, DType::I64})
    for (const auto &p : pairs) {
      const int s = p[0], c = p[1];
      const int salt = 40 + s * 3 + c;
      Dims inShape{2, 3, 2};
      inShape.d[s] *= g;
      Dims block = inShape;
      block.d[s] /= g;
      Dims outShape = block;
      outShape.d[c] *= g;
      HostTensor in = input(dtype, inShape, f.rank, salt);
      HostTensor out(dtype, outShape), want(dtype, outShape);
      // block j of out (along c) = member j's block `me` (along s)
      for (int64_t j = 0; j < g; ++j) {
        HostTensor other = input(dtype, inShape, group[j], salt);
        copyBox(other.data(), inShape, along(3, s, me * block.d[s]),
                want.data(), outShape, along(3, c, j * block.d[c]), block,
                dtypeSize(dtype));
      }
      allToAll(f.ctx, in.view(), out.view(), s, c, dimsOf(axes));
      check(equal(out, want), std::string("allToAll ") + dtypeName(dtype) +
                                  " split " + std::to_string(s) + " concat " +
                                  std::to_string(c) + " along " +
                                  axesText(axes));
    }
}

//===--- slices, point to point, weights, checkpoints -----------------------===//

/// Naive: element (i0, i1, ...) of the local slice is global element
/// (i0 + off0, ...), off_d = index along split[d] * local_d.
void checkShardSlice(const Fixture &f, const std::string &text,
                     const Dims &global) {
  const SplitAxes split = parseSplitAxes(text);
  const Dims local = localShape(global, split, f.mesh);
  const std::vector<int64_t> coords = meshCoords(f.mesh, f.rank);
  HostTensor in = input(DType::F32, global, 0, 50);
  HostTensor out(DType::F32, local), want(DType::F32, local);
  for (int64_t i = 0; i < local.numel(); ++i) {
    int64_t rest = i, gi = 0;
    int64_t idx[kMaxRank];
    for (int d = local.rank - 1; d >= 0; --d) {
      idx[d] = rest % local.d[d];
      rest /= local.d[d];
    }
    for (int d = 0; d < local.rank; ++d) {
      const int64_t off =
          d < static_cast<int>(split.size())
              ? axesIndex(f.mesh, coords, split[d]) * local.d[d]
              : 0;
      gi = gi * global.d[d] + idx[d] + off;
    }
    set(want, i, at(in, gi));
  }
  shardSlice(f.ctx, in.view(), out.view(), text.c_str());
  check(equal(out, want), "shardSlice " + text);
}

void checkSendRecv(const Fixture &f) {
  const int64_t n = worldSize(), r = f.rank;
  const int64_t next = (r + 1) % n, prev = (r + n - 1) % n;
  HostTensor mine = input(DType::F32, {4, 3}, r, 60);
  HostTensor got(DType::F32, {4, 3});
  if (r % 2 == 0) {
    sendTensor(f.ctx, mine.view(), next, 7);
    recvTensor(f.ctx, got.view(), prev, 7);
  } else {
    recvTensor(f.ctx, got.view(), prev, 7);
    sendTensor(f.ctx, mine.view(), next, 7);
  }
  check(equal(got, input(DType::F32, {4, 3}, prev, 60)), "send/recv ring");
  check(errorOf([&] { sendTensor(f.ctx, mine.view(), r, 1); }) ==
            "sendTensor: peer rank " + std::to_string(r) + " is this rank",
        "sendTensor to itself");
  check(errorOf([&] { recvTensor(f.ctx, got.view(), n, 1); }) ==
            "recvTensor: peer rank " + std::to_string(n) +
                " outside the world of " + std::to_string(n) + " ranks",
        "recvTensor from outside the world");
}

void noop(Context *) {}

/// A model on `mesh` with a weight split along dim 0 over axis 0, a
/// replicated weight, and a state split along dim 1 over every axis.
void shardedModel(ModelInfo &info, const std::vector<int64_t> &mesh) {
  const int64_t m0 = mesh[0], all = meshSize(mesh);
  setModelName(&info, "sharded");
  if (mesh.size() == 1)
    setMesh(&info, {mesh[0]});
  else
    setMesh(&info, {mesh[0], mesh[1]});
  addWeight(&info, "W", DType::F32, {8 / m0, 6});
  setSharding(&info, "[[0]]");
  addWeight(&info, "R", DType::F32, {3});
  const std::string allAxes = mesh.size() == 1 ? "[[], [0]]" : "[[], [0, 1]]";
  addState(&info, "S", DType::F32, {4, 8 / all}, true);
  setSharding(&info, allAxes.c_str());
  addState(&info, "S#m", DType::F32, {4, 8 / all}, false);
  setSharding(&info, allAxes.c_str());
  addFunction(&info, "forward", noop);
  setArenaSize(&info, 64);
}

/// Global tensors with element i = i * 0.5 + salt.
HostTensor ramp(const Dims &shape, float salt) {
  HostTensor t(DType::F32, shape);
  for (int64_t i = 0; i < shape.numel(); ++i)
    static_cast<float *>(t.data())[i] = float(i) * 0.5f + salt;
  return t;
}

HostTensor sliceOf(const HostTensor &global, const Dims &local,
                   const Dims &offsets) {
  HostTensor t(global.dtype, local);
  copyBox(global.data(), global.shape, offsets, t.data(), local,
          zeros(local.rank), local, dtypeSize(global.dtype));
  return t;
}

void checkWeightsAndCheckpoints(const Fixture &, const std::vector<int64_t> &mesh,
                                const std::string &dir) {
  ModelInfo info;
  shardedModel(info, mesh);
  const std::string path = dir + "/sharded.safetensors";
  const std::string bad = dir + "/bad.safetensors";
  const HostTensor W = ramp({8, 6}, 0), R = ramp({3}, 100), S = ramp({4, 8}, 200);
  if (isRoot()) {
    writeSafetensors(path, {{"W", W.view()}, {"R", R.view()}, {"S", S.view()}});
    writeSafetensors(bad, {{"W", ramp({4, 6}, 0).view()},
                           {"R", R.view()},
                           {"S", S.view()}});
  }
  barrier();
  auto ctx = createContext(info, path);
  const std::vector<int64_t> coords = meshCoords(mesh, worldRank());
  const TensorDecl &w = info.weights[0], &s = info.states[0];
  const Dims wOff = shardOffsets(w.shape, w.split, mesh, coords);
  const Dims sOff = shardOffsets(s.shape, s.split, mesh, coords);
  HostTensor wGot(DType::F32, w.shape), rGot(DType::F32, {3}),
      sGot(DType::F32, s.shape);
  std::memcpy(wGot.data(), weight(ctx.get(), 0), wGot.nbytes());
  std::memcpy(rGot.data(), weight(ctx.get(), 1), rGot.nbytes());
  std::memcpy(sGot.data(), state(ctx.get(), 0), sGot.nbytes());
  check(equal(wGot, sliceOf(W, w.shape, wOff)), "sharded weight W: own slice");
  check(equal(rGot, R), "replicated weight R");
  check(equal(sGot, sliceOf(S, s.shape, sOff)),
        "sharded state S from weights: own slice");

  const std::string want =
      "weights file '" + bad +
      "': tensor 'W' has shape 4x6, the model expects 8x6 (sharded [[0]] "
      "over mesh " + formatMesh(mesh) + ": " + formatDims(w.shape) +
      " per rank)";
  check(errorOf([&] { createContext(info, bad); }) == want,
        "error for a weights file with the wrong global shape");

  // Checkpoint: S and S#m hold rank-specific values; the file holds the
  // global tensors; reading it back gives every rank its slice.
  for (int64_t i = 0; i < s.shape.numel(); ++i) {
    static_cast<float *>(state(ctx.get(), 0))[i] = float(worldRank() * 100 + i);
    static_cast<float *>(state(ctx.get(), 1))[i] = float(-worldRank() * 100 - i);
  }
  HostTensor s0(DType::F32, s.shape), m0(DType::F32, s.shape);
  std::memcpy(s0.data(), state(ctx.get(), 0), s0.nbytes());
  std::memcpy(m0.data(), state(ctx.get(), 1), m0.nbytes());
  driver::CheckpointMeta meta;
  meta.step = 3;
  meta.model = "sharded";
  const std::string ckpt = dir + "/checkpoint.safetensors";
  driver::writeCheckpoint(ckpt, ctx.get(), meta);
  // every rank returns once the file is there
  check(readFileBytes(ckpt).size() > 0, "checkpoint written before return");
  if (isRoot()) {
    SafetensorsFile file(ckpt, "checkpoint");
    const SafetensorsEntry *e = file.find("S");
    check(e && e->shape == Dims{4, 8}, "checkpoint holds the global S");
    if (e && e->shape == Dims{4, 8}) {
      HostTensor global(DType::F32, {4, 8});
      std::memcpy(global.data(), e->data, global.nbytes());
      bool ok = true;
      for (int64_t r = 0; r < worldSize(); ++r) {
        const Dims off =
            shardOffsets(s.shape, s.split, mesh, meshCoords(mesh, r));
        HostTensor got = sliceOf(global, s.shape, off);
        for (int64_t i = 0; i < s.shape.numel(); ++i)
          ok &= at(got, i) == double(r * 100 + i);
      }
      check(ok, "checkpoint's S assembled from every rank's slice");
    }
  }
  std::memset(state(ctx.get(), 0), 0, s0.nbytes());
  std::memset(state(ctx.get(), 1), 0, m0.nbytes());
  driver::CheckpointMeta back = driver::readCheckpoint(ckpt, ctx.get());
  check(back.step == 3, "checkpoint metadata");
  check(std::memcmp(state(ctx.get(), 0), s0.data(), s0.nbytes()) == 0 &&
            std::memcmp(state(ctx.get(), 1), m0.data(), m0.nbytes()) == 0,
        "resume gives each rank its slice");
}

std::vector<int64_t> parseMesh(const std::string &text) {
  std::vector<int64_t> mesh;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    mesh.push_back(std::stoll(text.substr(pos, x - pos)));
    if (x == std::string::npos)
      break;
    pos = x + 1;
  }
  return mesh;
}

int runChecks(const std::vector<int64_t> &mesh, const std::string &dir) {
  ModelInfo info;
  setModelName(&info, "collectives");
  if (mesh.size() == 1)
    setMesh(&info, {mesh[0]});
  else
    setMesh(&info, {mesh[0], mesh[1]});
  addFunction(&info, "forward", noop);
  setArenaSize(&info, 64);
  auto ctx = createContext(info, "");
  Fixture f{mesh, ctx.get(), worldRank()};
  check(worldSize() == meshSize(mesh), "world size");

  std::vector<std::vector<int64_t>> axesSets = {{}};
  for (int64_t a = 0; a < static_cast<int64_t>(mesh.size()); ++a) {
    const size_t n = axesSets.size();
    for (size_t i = 0; i < n; ++i) {
      std::vector<int64_t> s = axesSets[i];
      s.push_back(a);
      axesSets.push_back(s);
    }
  }
  for (int round = 0; round < 2; ++round) // the second from cached comms
    for (const auto &axes : axesSets) {
      checkAllReduce(f, axes);
      checkAllGather(f, axes);
      checkReduceScatter(f, axes);
      checkAllToAll(f, axes);
    }
  checkShardSlice(f, "[[0]]", {4, 6});
  checkShardSlice(f, "[[], [0]]", {3, 4, 2});
  checkShardSlice(f, "[]", {3, 2});
  if (mesh.size() == 2) {
    checkShardSlice(f, "[[0], [], [1]]", {4, 3, 6});
    checkShardSlice(f, "[[1, 0]]", {8, 3});
    checkShardSlice(f, "[[], [0, 1]]", {2, 8});
    checkShardSlice(f, "[[1]]", {2, 5});
  }
  checkSendRecv(f);
  checkWeightsAndCheckpoints(f, mesh, dir);

  // Every rank's verdict, summed over the whole mesh.
  std::vector<int64_t> all;
  for (int64_t a = 0; a < static_cast<int64_t>(mesh.size()); ++a)
    all.push_back(a);
  int64_t counts[2] = {failures, checks};
  Tensor t(counts, DType::I64, {2});
  allReduce(ctx.get(), t, t, ReduceKind::Sum, dimsOf(all));
  if (isRoot())
    printf("mpi_collectives: mesh %s, %lld ranks: %lld checks, %lld failed\n",
           formatMesh(mesh).c_str(), (long long)worldSize(),
           (long long)counts[1], (long long)counts[0]);
  return counts[0] == 0 ? 0 : 1;
}

/// Rank `bad` throws while every other rank waits in an allReduce that
/// needs it.
int failOn(int64_t bad, const std::vector<int64_t> &mesh) {
  ModelInfo info;
  setModelName(&info, "fail");
  setMesh(&info, {meshSize(mesh)});
  addFunction(&info, "forward", noop);
  setArenaSize(&info, 64);
  auto ctx = createContext(info, "");
  if (worldRank() == bad)
    throw Error("injected failure");
  float x = 1;
  allReduce(ctx.get(), Tensor(&x, DType::F32, {}), Tensor(&x, DType::F32, {}),
            ReduceKind::Sum, Dims{0});
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    int rc = 2;
    if (cmd == "check" && argc == 4)
      rc = runChecks(parseMesh(argv[2]), argv[3]);
    else if (cmd == "fail-on" && argc == 4)
      rc = failOn(std::stoll(argv[2]), parseMesh(argv[3]));
    else
      fprintf(stderr, "usage: mpi_collectives check MESH DIR | fail-on RANK "
                      "MESH\n");
    finalizeDistributed();
    return rc;
  } catch (const std::exception &e) {
    fatalError("mpi_collectives", e.what());
  }
}
