//===- BinaryProgram.cpp - 0-1 integer programs solved by COIN-OR CBC ------===//
#include "compiler/solver/BinaryProgram.h"

#include "CbcHeuristic.hpp"
#include "CbcHeuristicFPump.hpp"
#include "CbcModel.hpp"
#include "CoinPackedMatrix.hpp"
#include "ClpSimplex.hpp"
#include "OsiClpSolverInterface.hpp"

#include <chrono>
#include <mutex>

using namespace mlir::bb::solver;

int BinaryProgram::addVariable(double cost, bool continuous) {
  costs.push_back(cost);
  integral.push_back(!continuous);
  return static_cast<int>(costs.size()) - 1;
}

void BinaryProgram::addConstraint(
    const std::vector<std::pair<int, double>> &terms, double lower,
    double upper) {
  rows.push_back({terms, lower, upper});
}

BinaryProgram::Solution BinaryProgram::solve(double timeLimitSeconds) const {
  auto start = std::chrono::steady_clock::now();
  const int n = numVariables();
  // Row-major, built in one step (appending row by row reallocates the
  // matrix each time).
  std::vector<CoinBigIndex> starts;
  std::vector<int> lengths, index;
  std::vector<double> value, rowLower, rowUpper;
  for (const Row &r : rows) {
    starts.push_back(static_cast<CoinBigIndex>(index.size()));
    lengths.push_back(static_cast<int>(r.terms.size()));
    for (auto [i, c] : r.terms) {
      index.push_back(i);
      value.push_back(c);
    }
    rowLower.push_back(r.lower == -kInfinity ? -COIN_DBL_MAX : r.lower);
    rowUpper.push_back(r.upper == kInfinity ? COIN_DBL_MAX : r.upper);
  }
  starts.push_back(static_cast<CoinBigIndex>(index.size()));
  CoinPackedMatrix matrix(/*colordered=*/false, /*minor=*/n,
                          /*major=*/static_cast<int>(rows.size()),
                          static_cast<CoinBigIndex>(index.size()), value.data(),
                          index.data(), starts.data(), lengths.data());
  std::vector<double> colLower(n, 0.0), colUpper(n, 1.0);
  // One solve at a time in the process: COIN-OR's thread safety across
  // models is not documented (the stage search plans on several threads).
  // The wait for the lock is not the solve's time.
  static std::mutex solving;
  auto waitFrom = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(solving);
  start += std::chrono::steady_clock::now() - waitFrom;
  OsiClpSolverInterface lp;
  lp.loadProblem(matrix, colLower.data(), colUpper.data(), costs.data(),
                 rowLower.data(), rowUpper.data());
  for (int i = 0; i < n; ++i)
    if (integral[i])
      lp.setInteger(i);
  lp.messageHandler()->setLogLevel(0);
  // The root LP too keeps to the time limit (CBC checks it between nodes
  // only): with the memory rows of several pipeline stages, Clp's primal
  // simplex was seen stalling for minutes in CBC's first solve (gpt-6.7b on
  // p3.16xlarge:4). The dual simplex solves those LPs at once.
  lp.setHintParam(OsiDoDualInInitial, true, OsiHintDo);
  lp.getModelPtr()->setMaximumSeconds(timeLimitSeconds);

  CbcModel model(lp);
  model.setLogLevel(0);
  model.messageHandler()->setLogLevel(0);
  model.setMaximumSeconds(timeLimitSeconds);
  // Primal heuristics (CbcModel runs none unless given): rounding, and the
  // feasibility pump. Without them the memory rows (dense knapsack rows
  // over the choice variables) left CBC to find its first incumbent by
  // branching: 30.5 s for the 23 programs of one 175B pipelined plan and its
  // refinement, 5.1 s with them, each solved to optimality.
  CbcRounding rounding(model);
  model.addHeuristic(&rounding);
  CbcHeuristicFPump pump(model);
  model.addHeuristic(&pump);
  model.branchAndBound();

  Solution s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start).count();
  const double *best = model.bestSolution();
  if (!best)
    return s;
  s.feasible = true;
  s.optimal = model.isProvenOptimal();
  s.objective = model.getObjValue();
  s.values.assign(best, best + n);
  return s;
}
