// scheduleOf (runtime/driver/PipelineOrder.h): every copy of every stage
// runs each of its micro-batches forward and backward once, both in order,
// a stage's ranks together never deadlock, and equal stages get 1F1B.
#include "runtime/driver/PipelineOrder.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace bbrt::driver;

namespace {

StageLayout layout(std::vector<int64_t> replicas, int64_t total) {
  StageLayout l;
  l.stages = static_cast<int64_t>(replicas.size());
  l.total = total;
  l.replicas = replicas;
  int64_t offset = 0;
  for (int64_t r : replicas) {
    l.offsets.push_back(offset);
    offset += r;
  }
  return l;
}

using Order = std::vector<std::pair<int64_t, bool>>;

/// Runs every copy's order as ranks would, a receive blocking until its
/// sender has run: a forward of stage s > 0 waits for stage s - 1's forward
/// of the micro-batch, a backward of stage s < S - 1 for stage s + 1's
/// backward. True when every operation runs (no deadlock).
bool runsToEnd(const StageLayout &l, const std::map<std::pair<int64_t, int64_t>, Order> &orders) {
  std::map<std::pair<int64_t, int64_t>, size_t> next;
  std::set<std::pair<int64_t, int64_t>> fDone, bDone; // (stage, m)
  size_t left = 0;
  for (const auto &[who, order] : orders)
    left += order.size();
  while (left > 0) {
    bool progressed = false;
    for (const auto &[who, order] : orders) {
      size_t &i = next[who];
      if (i == order.size())
        continue;
      const auto [m, backward] = order[i];
      const int64_t s = who.first;
      const bool ready =
          backward ? (s + 1 == l.stages || bDone.count({s + 1, m}))
                   : (s == 0 || fDone.count({s - 1, m}));
      if (!ready)
        continue;
      (backward ? bDone : fDone).insert({s, m});
      ++i;
      --left;
      progressed = true;
    }
    if (!progressed)
      return false;
  }
  return true;
}

void checkLayout(const std::vector<int64_t> &replicas, int64_t total) {
  CAPTURE(replicas, total);
  const StageLayout l = layout(replicas, total);
  std::map<std::pair<int64_t, int64_t>, Order> orders;
  for (int64_t s = 0; s < l.stages; ++s)
    for (int64_t j = 0; j < replicas[s]; ++j) {
      int64_t inFlight = 0;
      Order order = scheduleOf(l, s, j, inFlight);
      // Its micro-batches j, j + r, ...: each forward then backward once,
      // the forwards in order, the backwards in order.
      std::vector<int64_t> fwd, bwd;
      std::set<int64_t> open;
      int64_t most = 0;
      for (auto [m, backward] : order) {
        CHECK(m % replicas[s] == j);
        if (backward) {
          CHECK(open.erase(m) == 1);
          bwd.push_back(m);
        } else {
          open.insert(m);
          fwd.push_back(m);
          most = std::max<int64_t>(most, open.size());
        }
      }
      std::vector<int64_t> mine;
      for (int64_t m = j; m < total; m += replicas[s])
        mine.push_back(m);
      CHECK(fwd == mine);
      CHECK(bwd == mine);
      CHECK(open.empty());
      CHECK(inFlight == most);
      CHECK(inFlight <= std::max<int64_t>(1, l.stages - s));
      orders[{s, j}] = std::move(order);
    }
  CHECK(runsToEnd(l, orders));
}

} // namespace

TEST_CASE("pipeline order: equal stages run 1F1B", "[pipeline]") {
  // Four stages, eight micro-batches: stage s runs S - 1 - s forwards, then
  // a forward and a backward alternately, then the remaining backwards.
  const StageLayout l = layout({1, 1, 1, 1}, 8);
  for (int64_t s = 0; s < 4; ++s) {
    int64_t inFlight = 0;
    Order order = scheduleOf(l, s, 0, inFlight);
    Order want;
    const int64_t warmup = 3 - s;
    for (int64_t m = 0; m < warmup; ++m)
      want.push_back({m, false});
    for (int64_t i = 0; i + warmup < 8; ++i) {
      want.push_back({warmup + i, false});
      want.push_back({i, true});
    }
    for (int64_t m = 8 - warmup; m < 8; ++m)
      want.push_back({m, true});
    CAPTURE(s);
    CHECK(order == want);
    CHECK(inFlight == 4 - s);
  }
}

TEST_CASE("pipeline order: replicated stages, every copy in order and no "
          "deadlock",
          "[pipeline]") {
  checkLayout({1, 1}, 1);
  checkLayout({1, 1, 1, 1}, 8);
  checkLayout({2, 1}, 4);
  checkLayout({1, 2}, 4);
  checkLayout({1, 2, 1}, 4);
  checkLayout({2, 2}, 8);
  checkLayout({1, 4}, 4);
  checkLayout({4, 1, 2}, 8);
  checkLayout({1, 1, 1, 1, 1, 1, 8, 2}, 16);
  checkLayout({3, 1, 2, 6}, 12);
  checkLayout({2, 3}, 6);
}
