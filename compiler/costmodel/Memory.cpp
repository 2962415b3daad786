//===- Memory.cpp - bytes a device holds ----------------------------------===//
#include "compiler/costmodel/Memory.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

using namespace mlir::bb::costmodel;

static int64_t shardBytes(int64_t elements, int64_t shards,
                          int64_t bytesPerElement) {
  assert(shards > 0 && "a part is split over at least one device");
  return (elements + shards - 1) / shards * bytesPerElement;
}

StateBytes mlir::bb::costmodel::stateBytesPerDevice(
    llvm::ArrayRef<ParameterState> parameters) {
  StateBytes total;
  for (const ParameterState &p : parameters) {
    total.params +=
        shardBytes(p.elements, p.paramShards, p.paramBytesPerElement);
    total.grads += shardBytes(p.elements, p.gradShards, p.gradBytesPerElement);
    total.optimizer +=
        shardBytes(p.elements, p.optimizerShards, p.optimizerBytesPerElement);
  }
  return total;
}

int64_t mlir::bb::costmodel::peakLiveBytes(llvm::ArrayRef<LiveRange> values) {
  // (position, change): a value arrives at `def` and leaves after `lastUse`.
  std::vector<std::pair<int64_t, int64_t>> events;
  events.reserve(2 * values.size());
  for (const LiveRange &v : values) {
    assert(v.def >= -1 && v.lastUse >= v.def && "a value dies after its def");
    events.emplace_back(v.def, v.bytes);
    events.emplace_back(v.lastUse + 1, -v.bytes);
  }
  // At one position, departures (negative) sort before arrivals.
  std::sort(events.begin(), events.end());
  int64_t live = 0, peak = 0;
  for (const auto &[position, change] : events) {
    live += change;
    peak = std::max(peak, live);
  }
  return peak;
}
