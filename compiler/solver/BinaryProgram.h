//===- BinaryProgram.h - 0-1 integer programs solved by COIN-OR CBC -*- C++ -*-===//
//
// The sharding search states its choice as a 0-1 program (Alpa's
// formulation): binary variables, linear constraints, a linear objective to
// minimize. This wrapper keeps CBC's API out of the passes.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_SOLVER_BINARYPROGRAM_H
#define BB_COMPILER_SOLVER_BINARYPROGRAM_H

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace mlir::bb::solver {

class BinaryProgram {
public:
  /// A new variable in [0, 1] with objective coefficient `cost`; integral
  /// unless `continuous` (for linearization helpers that the constraints
  /// force to 0 or 1 anyway).
  int addVariable(double cost, bool continuous = false);
  /// lower <= sum(coef * var) <= upper.
  void addConstraint(const std::vector<std::pair<int, double>> &terms,
                     double lower, double upper);
  int numVariables() const { return static_cast<int>(costs.size()); }
  int numConstraints() const { return static_cast<int>(rows.size()); }

  struct Solution {
    bool feasible = false;
    bool optimal = false; ///< false when the time limit stopped the search
    double objective = 0;
    std::vector<double> values;
    double seconds = 0;
  };
  /// Solves with CBC (branch and cut), stopping after `timeLimitSeconds`
  /// with the best solution found.
  Solution solve(double timeLimitSeconds) const;

  static constexpr double kInfinity = std::numeric_limits<double>::infinity();

private:
  struct Row {
    std::vector<std::pair<int, double>> terms;
    double lower, upper;
  };
  std::vector<double> costs;
  std::vector<bool> integral;
  std::vector<Row> rows;
};

} // namespace mlir::bb::solver

#endif // BB_COMPILER_SOLVER_BINARYPROGRAM_H
