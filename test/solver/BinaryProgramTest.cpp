//===- BinaryProgramTest.cpp - CBC's optimum against enumeration ----------===//
//
// Programs shaped like bb-auto-shard's (Alpa's formulation): each node picks
// one of its strategies, an edge's joint choice y(s, t) (continuous, its
// marginals the two ends' choices) carries the resharding cost, and memory
// rows (dense knapsack rows over the choices) bound what may be picked
// together. Small enough to enumerate every assignment.
//
//===----------------------------------------------------------------------===//
#include "compiler/solver/BinaryProgram.h"

#include <catch2/catch.hpp>

#include <limits>
#include <random>

using mlir::bb::solver::BinaryProgram;
using Catch::Detail::Approx;

namespace {

struct Instance {
  std::vector<std::vector<double>> nodeCost;  ///< [node][strategy]
  struct Edge {
    int from, to;
    std::vector<std::vector<double>> cost;    ///< [s][t]
  };
  std::vector<Edge> edges;
  struct Memory {
    std::vector<std::vector<double>> bytes;   ///< [node][strategy]
    double limit;
  };
  std::vector<Memory> rows;

  /// The cost of `pick`, or infinity when a memory row is exceeded.
  double evaluate(const std::vector<int> &pick) const {
    double c = 0;
    for (size_t n = 0; n < pick.size(); ++n)
      c += nodeCost[n][pick[n]];
    for (const Edge &e : edges)
      c += e.cost[pick[e.from]][pick[e.to]];
    for (const Memory &m : rows) {
      double b = 0;
      for (size_t n = 0; n < pick.size(); ++n)
        b += m.bytes[n][pick[n]];
      if (b > m.limit + 1e-9)
        return std::numeric_limits<double>::infinity();
    }
    return c;
  }

  /// The best cost by trying every assignment.
  double enumerate() const {
    std::vector<int> pick(nodeCost.size(), 0);
    double best = std::numeric_limits<double>::infinity();
    while (true) {
      best = std::min(best, evaluate(pick));
      size_t n = 0;
      while (n < pick.size() && ++pick[n] == int(nodeCost[n].size()))
        pick[n++] = 0;
      if (n == pick.size())
        return best;
    }
  }

  /// The program, and the first variable of each node.
  BinaryProgram program(std::vector<int> &firstVar) const {
    BinaryProgram p;
    for (const auto &costs : nodeCost) {
      firstVar.push_back(p.numVariables());
      std::vector<std::pair<int, double>> one;
      for (double c : costs)
        one.push_back({p.addVariable(c), 1.0});
      p.addConstraint(one, 1, 1);
    }
    for (const Edge &e : edges) {
      const size_t S = e.cost.size(), T = e.cost[0].size();
      std::vector<std::vector<std::pair<int, double>>> rowsU(S), colsV(T);
      for (size_t s = 0; s < S; ++s)
        for (size_t t = 0; t < T; ++t) {
          int y = p.addVariable(e.cost[s][t], /*continuous=*/true);
          rowsU[s].push_back({y, 1.0});
          colsV[t].push_back({y, 1.0});
        }
      for (size_t s = 0; s < S; ++s) {
        rowsU[s].push_back({firstVar[e.from] + int(s), -1.0});
        p.addConstraint(rowsU[s], 0, 0);
      }
      for (size_t t = 0; t < T; ++t) {
        colsV[t].push_back({firstVar[e.to] + int(t), -1.0});
        p.addConstraint(colsV[t], 0, 0);
      }
    }
    for (const Memory &m : rows) {
      std::vector<std::pair<int, double>> row;
      for (size_t n = 0; n < m.bytes.size(); ++n)
        for (size_t s = 0; s < m.bytes[n].size(); ++s)
          row.push_back({firstVar[n] + int(s), m.bytes[n][s]});
      p.addConstraint(row, -BinaryProgram::kInfinity, m.limit);
    }
    return p;
  }
};

/// A random instance: `nodes` nodes of 2 to 4 strategies, a chain of edges
/// and a few more, and `memoryRows` rows whose limit lies between the
/// lightest and the heaviest assignment's bytes.
Instance randomInstance(std::mt19937 &rng, int nodes, int memoryRows) {
  std::uniform_real_distribution<double> cost(0.0, 10.0), bytes(1.0, 8.0);
  std::uniform_int_distribution<int> strategies(2, 4), node(0, nodes - 1);
  Instance in;
  for (int n = 0; n < nodes; ++n)
    in.nodeCost.emplace_back(strategies(rng));
  for (auto &c : in.nodeCost)
    for (double &x : c)
      x = cost(rng);
  auto addEdge = [&](int from, int to) {
    Instance::Edge e{from, to, {}};
    e.cost.assign(in.nodeCost[from].size(),
                  std::vector<double>(in.nodeCost[to].size()));
    for (auto &r : e.cost)
      for (double &x : r)
        x = cost(rng);
    in.edges.push_back(std::move(e));
  };
  for (int n = 0; n + 1 < nodes; ++n)
    addEdge(n, n + 1);
  for (int k = 0; k < nodes / 2; ++k) {
    int a = node(rng), b = node(rng);
    if (a != b)
      addEdge(std::min(a, b), std::max(a, b));
  }
  for (int r = 0; r < memoryRows; ++r) {
    Instance::Memory m;
    double lightest = 0, heaviest = 0;
    for (auto &c : in.nodeCost) {
      m.bytes.emplace_back(c.size());
      for (double &x : m.bytes.back())
        x = bytes(rng);
      lightest += *std::min_element(m.bytes.back().begin(), m.bytes.back().end());
      heaviest += *std::max_element(m.bytes.back().begin(), m.bytes.back().end());
    }
    m.limit = lightest + 0.3 * (heaviest - lightest);
    in.rows.push_back(std::move(m));
  }
  return in;
}

} // namespace

TEST_CASE("the optimum of programs with memory rows matches enumeration",
          "[solver]") {
  std::mt19937 rng(20261206);
  for (int trial = 0; trial < 40; ++trial) {
    Instance in = randomInstance(rng, 7, trial % 4);
    const double best = in.enumerate();
    std::vector<int> firstVar;
    BinaryProgram::Solution sol = in.program(firstVar).solve(30);
    INFO("trial " << trial);
    if (best == std::numeric_limits<double>::infinity()) {
      CHECK_FALSE(sol.feasible);
      continue;
    }
    REQUIRE(sol.feasible);
    CHECK(sol.optimal);
    CHECK(sol.objective == Approx(best).epsilon(1e-6));
    // The values are one choice per node, and they cost what CBC says.
    std::vector<int> pick;
    for (size_t n = 0; n < in.nodeCost.size(); ++n) {
      int chosen = -1;
      for (size_t s = 0; s < in.nodeCost[n].size(); ++s)
        if (sol.values[firstVar[n] + s] > 0.5) {
          CHECK(chosen == -1);
          chosen = static_cast<int>(s);
        }
      REQUIRE(chosen >= 0);
      pick.push_back(chosen);
    }
    CHECK(in.evaluate(pick) == Approx(best).epsilon(1e-6));
  }
}

TEST_CASE("a program whose memory rows nothing satisfies has no solution",
          "[solver]") {
  std::mt19937 rng(7);
  Instance in = randomInstance(rng, 5, 1);
  double lightest = 0;
  for (const auto &b : in.rows[0].bytes)
    lightest += *std::min_element(b.begin(), b.end());
  in.rows[0].limit = 0.99 * lightest;
  std::vector<int> firstVar;
  BinaryProgram::Solution sol = in.program(firstVar).solve(30);
  CHECK_FALSE(sol.feasible);
  CHECK(sol.values.empty());
}
