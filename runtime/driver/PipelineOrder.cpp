//===- PipelineOrder.cpp - where pipeline stages run, in what order ------===//
#include "runtime/driver/PipelineOrder.h"

#include "runtime/core/Util.h"

#include <algorithm>
#include <limits>

namespace bbrt {
namespace driver {

std::vector<std::pair<int64_t, bool>> scheduleOf(const StageLayout &layout,
                                                 int64_t stage, int64_t replica,
                                                 int64_t &inFlight) {
  const int64_t S = layout.stages, T = layout.total;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  std::vector<std::vector<int64_t>> fDone(S, std::vector<int64_t>(T, kNever)),
      bDone = fDone;
  struct Worker {
    int64_t stage, replica, cap;
    std::vector<int64_t> list;
    size_t nextF = 0, nextB = 0;
    int64_t busyUntil = 0;
  };
  std::vector<Worker> workers;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t j = 0; j < layout.replicas[s]; ++j) {
      Worker w{s, j, S - s, {}, 0, 0, 0};
      for (int64_t m = j; m < T; m += layout.replicas[s])
        w.list.push_back(m);
      workers.push_back(std::move(w));
    }
  std::vector<std::pair<int64_t, bool>> order;
  inFlight = 0;
  int64_t t = 0, remaining = 2 * S * T;
  while (remaining > 0) {
    bool started = false;
    for (Worker &w : workers) {
      if (w.busyUntil > t)
        continue;
      const int64_t s = w.stage;
      bool backward = false;
      int64_t m = -1;
      if (w.nextB < w.nextF) {
        const int64_t b = w.list[w.nextB];
        if (fDone[s][b] <= t && (s + 1 == S || bDone[s + 1][b] <= t)) {
          backward = true;
          m = b;
        }
      }
      if (m < 0 && w.nextF < w.list.size() &&
          static_cast<int64_t>(w.nextF - w.nextB) < w.cap) {
        const int64_t f = w.list[w.nextF];
        if (s == 0 || fDone[s - 1][f] <= t)
          m = f;
      }
      if (m < 0)
        continue;
      if (backward) {
        bDone[s][m] = t + 2;
        w.busyUntil = t + 2;
        ++w.nextB;
      } else {
        fDone[s][m] = t + 1;
        w.busyUntil = t + 1;
        ++w.nextF;
      }
      --remaining;
      started = true;
      if (s == stage && w.replica == replica) {
        order.emplace_back(m, backward);
        inFlight = std::max(inFlight,
                            static_cast<int64_t>(w.nextF - w.nextB));
      }
    }
    int64_t next = kNever;
    for (const Worker &w : workers)
      if (w.busyUntil > t)
        next = std::min(next, w.busyUntil);
    if (next != kNever) {
      t = next;
    } else if (!started) {
      // Nothing runs and nothing can start: let more forwards in flight.
      for (Worker &w : workers)
        BBRT_CHECK(++w.cap <= T + S, "no pipeline schedule for %lld stages",
                   (long long)S);
    }
  }
  return order;
}

} // namespace driver
} // namespace bbrt
