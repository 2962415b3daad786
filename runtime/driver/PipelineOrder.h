//===- PipelineOrder.h - where pipeline stages run, in what order -*- C++ -*-===//
//
// The pipeline driver's arithmetic (driver/PipelineSchedule.cpp), apart so
// that tests can check it without a model or MPI: which world ranks each
// stage's copies take, and the order in which one copy runs its forwards
// and backwards in a step.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_DRIVER_PIPELINEORDER_H
#define BBRT_DRIVER_PIPELINEORDER_H

#include <cstdint>
#include <utility>
#include <vector>

namespace bbrt {
namespace driver {

/// Where the stages run: stage s on world ranks offsets[s] .. offsets[s] +
/// replicas[s] * perStage - 1, replica j of it on the perStage ranks from
/// offsets[s] + j * perStage (one rank, unless the stage is partitioned).
struct StageLayout {
  int64_t stages = 0;
  int64_t total = 0;    // micro-batches per step, over all replicas
  /// Per stage: the ranks of one replica (the stage mesh's, or with a mesh
  /// per stage its own).
  std::vector<int64_t> perStage;
  std::vector<int64_t> replicas, offsets;

  int64_t stageOfRank(int64_t rank) const {
    int64_t s = 0;
    while (s + 1 < stages && rank >= offsets[s + 1])
      ++s;
    return s;
  }
};

/// In what order replica `replica` of stage `stage` runs its forwards and
/// backwards (micro-batch, backward?) in a step of `layout`, and the most
/// micro-batches it has in flight (`inFlight`). Micro-batch m runs on
/// replica m % r of a stage of r replicas. The order is every replica's
/// share of one global order, simulated with a forward taking 1 and a
/// backward 2: each replica runs its micro-batches' forwards in order and
/// their backwards in order, a backward as soon as it can (1F1B), a forward
/// while fewer than S - s are in flight (more only where nothing could run
/// otherwise). Since every rank follows the same global order, whose every
/// operation comes after those it waits for, no rank waits for one that
/// waits for it; and two ranks exchange a crossing's micro-batches in the
/// same order.
std::vector<std::pair<int64_t, bool>> scheduleOf(const StageLayout &layout,
                                                 int64_t stage, int64_t replica,
                                                 int64_t &inFlight);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_PIPELINEORDER_H
