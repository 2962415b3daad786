//===- train.h - what training programs share with their tools --*- C++ -*-===//
//
// The learning-rate schedule of the training driver (runtime/driver/Train.cpp):
// the driver computes the rate of each step and passes it to train_step as
// its "lr" input.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_TRAIN_H
#define BBRT_TRAIN_H

#include <cstdint>
#include <string>

namespace bbrt {

enum class ScheduleKind { Constant, Cosine, Linear };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double lr = 0;          // peak rate
  int64_t warmup = 0;     // steps of linear warmup to lr
  double minLr = 0;       // where cosine and linear decay end
  int64_t decaySteps = 0; // step at which the decay reaches minLr
};

/// The rate of 0-based step `step0` (s): with warmup W > 0 and s < W,
/// lr * (s + 1) / W; then constant: lr; cosine: minLr + (1 + cos(pi p)) / 2 *
/// (lr - minLr); linear: minLr + (1 - p) (lr - minLr), where
/// p = clamp((s - W) / max(1, decaySteps - W), 0, 1).
double learningRate(const Schedule &schedule, int64_t step0);

/// "constant", "cosine", "linear" <-> ScheduleKind; parse returns false for
/// other names.
bool parseScheduleKind(const std::string &name, ScheduleKind &kind);
const char *scheduleKindName(ScheduleKind kind);

} // namespace bbrt

#endif // BBRT_TRAIN_H
