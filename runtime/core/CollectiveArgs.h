//===- CollectiveArgs.h - checked operands of the collectives ---*- C++ -*-===//
//
// What both runtimes' collectives (cpu/Collectives.cpp over MPI,
// cuda/Collectives.cpp over NCCL) check and derive before they move a byte:
// the group a collective runs over, each collective's shapes and dtypes,
// shardSlice's block, point-to-point peers. Each fails with the one-line
// errors bbrt.h's callers see, naming the collective.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_COLLECTIVEARGS_H
#define BBRT_CORE_COLLECTIVEARGS_H

#include "bbrt/model.h"

#include <vector>

namespace bbrt {

/// This rank's group along `meshAxes`: the sorted axes (checked), the
/// group's size and this rank's index in it. No mesh: a group of one.
struct GroupPlace {
  std::vector<int64_t> axes;
  int64_t size = 1;
  int64_t index = 0;
};
GroupPlace groupPlace(Context *ctx, const Dims &meshAxes, const char *what);

/// allReduce: same dtype and shape; the dtype and kind reducible (f32, f64,
/// i32, i64; Mean of floats only).
void checkAllReduce(const Tensor &in, const Tensor &out, ReduceKind kind);
/// allReduceAmong's checks (checkAllReduce's, and a mesh when `ranks` are
/// more than one); whether there is anything to reduce (more than one rank).
bool checkAllReduceAmong(Context *ctx, const Tensor &inout, ReduceKind kind,
                         const std::vector<int64_t> &ranks);
/// allGather over `groupSize` ranks: returns the normalized axis.
int checkAllGather(const Tensor &in, const Tensor &out, int64_t axis,
                   int64_t groupSize);
/// reduceScatter over `groupSize` ranks: returns the normalized axis.
int checkReduceScatter(const Tensor &in, const Tensor &out, int64_t axis,
                       ReduceKind kind, int64_t groupSize);
/// allToAll over `groupSize` ranks: the normalized axes and one block's
/// shape (in's with the split axis divided by the group size).
struct AllToAllShape {
  int split = 0, concat = 0;
  Dims block;
};
AllToAllShape checkAllToAll(const Tensor &in, const Tensor &out,
                            int64_t splitAxis, int64_t concatAxis,
                            int64_t groupSize);
/// shardSlice: where this rank's block of `in` starts (checks the split
/// text against the mesh and out's shape; parsed texts are cached in the
/// Context's mesh).
Dims shardSliceOffsets(Context *ctx, const Tensor &in, const Tensor &out,
                       const char *splitAxes);
/// sendTensor/recvTensor/postSend: a distributed program, another world
/// rank, a tag in [0, 32767].
void checkPeer(int64_t peer, int64_t tag, const char *what);

/// Element-count products of dims [0, axis) and (axis, rank): outer == 1
/// means the blocks along `axis` are contiguous.
int64_t outerCount(const Dims &shape, int axis);
int64_t innerCount(const Dims &shape, int axis);

} // namespace bbrt

#endif
