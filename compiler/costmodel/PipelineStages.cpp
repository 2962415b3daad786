//===- PipelineStages.cpp - cutting a layer sequence into stages ----------===//
#include "compiler/costmodel/PipelineStages.h"

#include <algorithm>
#include <cassert>
#include <limits>

using namespace mlir::bb::costmodel;

std::vector<size_t> mlir::bb::costmodel::balancedStages(llvm::ArrayRef<double> costs,
                                                        size_t stages,
                                                        llvm::ArrayRef<int64_t> devices) {
  const size_t n = costs.size();
  assert(stages >= 1 && stages <= n && "1 <= stages <= blocks");
  assert((devices.empty() || devices.size() == stages) && "a count per stage");
  // Stage k's share of the range's work.
  auto per = [&](size_t k) {
    return devices.empty() ? 1.0 : 1.0 / static_cast<double>(devices[k]);
  };
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  const double inf = std::numeric_limits<double>::infinity();
  // First the smallest largest sum: largest[k][i] for k ranges covering
  // blocks [0, i).
  std::vector<std::vector<double>> largest(stages + 1, std::vector<double>(n + 1, inf));
  largest[0][0] = 0;
  for (size_t k = 1; k <= stages; ++k)
    for (size_t i = k; i <= n; ++i)
      for (size_t j = k - 1; j < i; ++j)
        largest[k][i] = std::min(largest[k][i],
                                 std::max(largest[k - 1][j],
                                          (prefix[i] - prefix[j]) * per(k - 1)));
  // Then, among the cuts with no range above it, the one with the smallest
  // sum of squares: the spare work spread over the stages rather than piled
  // on the first ones, whose 1F1B stash is the largest (ties: the later
  // start). The bound allows for the sums' rounding.
  const double limit = largest[stages][n] * (1 + 1e-12);
  std::vector<std::vector<double>> squares(stages + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<size_t>> from(stages + 1, std::vector<size_t>(n + 1, 0));
  squares[0][0] = 0;
  for (size_t k = 1; k <= stages; ++k)
    for (size_t i = k; i <= n; ++i)
      for (size_t j = k - 1; j < i; ++j) {
        const double c = (prefix[i] - prefix[j]) * per(k - 1);
        if (c > limit || squares[k - 1][j] == inf)
          continue;
        const double v = squares[k - 1][j] + c * c;
        if (v <= squares[k][i]) {
          squares[k][i] = v;
          from[k][i] = j;
        }
      }
  std::vector<size_t> starts(stages);
  size_t end = n;
  for (size_t k = stages; k > 0; --k) {
    starts[k - 1] = from[k][end];
    end = starts[k - 1];
  }
  return starts;
}

ReplicatedCut mlir::bb::costmodel::replicatedStages(llvm::ArrayRef<double> costs,
                                                   size_t stages, int64_t devices,
                                                   int64_t microbatches,
                                                   StageStepCost perStep) {
  const size_t n = costs.size();
  const size_t N = devices > 0 ? static_cast<size_t>(devices) : 0;
  if (stages < 1 || stages > n || N < stages)
    return {};
  std::vector<int64_t> counts; // replica counts a stage may have
  for (int64_t r = 1; r <= devices; ++r)
    if (microbatches % r == 0)
      counts.push_back(r);
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  const double inf = std::numeric_limits<double>::infinity();
  // value[k][i][d]: k stages over blocks [0, i) on d devices; first the
  // smallest largest load (a range's sum per replica), then, under it, the
  // smallest sum of squared loads.
  using Table = std::vector<std::vector<std::vector<double>>>;
  auto table = [&] {
    return Table(stages + 1, std::vector<std::vector<double>>(
                                 n + 1, std::vector<double>(N + 1, inf)));
  };
  auto solve = [&](bool squares, double limit, Table &value,
                   std::vector<std::vector<std::vector<std::pair<size_t, int64_t>>>> *from) {
    value[0][0][0] = 0;
    for (size_t k = 1; k <= stages; ++k)
      for (size_t i = k; i <= n; ++i)
        for (size_t j = k - 1; j < i; ++j)
          for (int64_t r : counts)
            for (size_t d = k - 1 + r; d <= N; ++d) {
              const double before = value[k - 1][j][d - r];
              if (before == inf)
                continue;
              // The once-per-step work only adds: a stage whose compute
              // alone improves nothing needs no more (the DP calls
              // perStep far less often).
              const double compute =
                  (prefix[i] - prefix[j]) / static_cast<double>(r);
              if ((squares && compute > limit) ||
                  (squares ? before + compute * compute
                           : std::max(before, compute)) >= value[k][i][d])
                continue;
              // Stage k - 1's load: blocks [j, i) on r replicas, the last
              // of them device d - 1.
              const double l =
                  perStep ? compute + perStep(k - 1, j, i,
                                              static_cast<int64_t>(d) - r, r) /
                                          static_cast<double>(microbatches)
                          : compute;
              if (l == inf || (squares && l > limit))
                continue;
              const double v = squares ? before + l * l : std::max(before, l);
              if (v < value[k][i][d]) {
                value[k][i][d] = v;
                if (from)
                  (*from)[k][i][d] = {j, r};
              }
            }
  };
  Table largest = table();
  solve(false, 0, largest, nullptr);
  if (largest[stages][n][N] == inf)
    return {};
  Table spread = table();
  std::vector<std::vector<std::vector<std::pair<size_t, int64_t>>>> from(
      stages + 1, std::vector<std::vector<std::pair<size_t, int64_t>>>(
                      n + 1, std::vector<std::pair<size_t, int64_t>>(N + 1)));
  solve(true, largest[stages][n][N] * (1 + 1e-12), spread, &from);
  ReplicatedCut cut;
  cut.starts.assign(stages, 0);
  cut.replicas.assign(stages, 0);
  size_t end = n, d = N;
  for (size_t k = stages; k > 0; --k) {
    auto [j, r] = from[k][end][d];
    cut.starts[k - 1] = j;
    cut.replicas[k - 1] = r;
    end = j;
    d -= static_cast<size_t>(r);
  }
  return cut;
}

std::vector<double> mlir::bb::costmodel::stageCosts(llvm::ArrayRef<double> costs,
                                                    llvm::ArrayRef<size_t> starts) {
  std::vector<double> sums(starts.size(), 0);
  for (size_t s = 0; s < starts.size(); ++s) {
    const size_t end = s + 1 < starts.size() ? starts[s + 1] : costs.size();
    for (size_t i = starts[s]; i < end; ++i)
      sums[s] += costs[i];
  }
  return sums;
}

double mlir::bb::costmodel::pipelineStepTime(llvm::ArrayRef<double> stageTimes,
                                             int64_t microbatches,
                                             llvm::ArrayRef<int64_t> replicas) {
  assert((replicas.empty() || replicas.size() == stageTimes.size()) &&
         "a count per stage");
  double sum = 0, rest = 0;
  for (size_t s = 0; s < stageTimes.size(); ++s) {
    const int64_t rounds =
        replicas.empty() ? microbatches : microbatches / replicas[s];
    sum += stageTimes[s];
    rest = std::max(rest, static_cast<double>(rounds - 1) * stageTimes[s]);
  }
  return sum + rest;
}

double mlir::bb::costmodel::bubbleFraction(int64_t stages, int64_t microbatches) {
  return static_cast<double>(stages - 1) /
         static_cast<double>(microbatches + stages - 1);
}
