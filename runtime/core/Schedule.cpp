//===- Schedule.cpp - learning-rate schedules -----------------------------===//
#include "bbrt/train.h"

#include <algorithm>
#include <cmath>

namespace bbrt {

double learningRate(const Schedule &s, int64_t step0) {
  if (s.warmup > 0 && step0 < s.warmup)
    return s.lr * static_cast<double>(step0 + 1) /
           static_cast<double>(s.warmup);
  if (s.kind == ScheduleKind::Constant)
    return s.lr;
  const double span =
      static_cast<double>(std::max<int64_t>(1, s.decaySteps - s.warmup));
  const double p = std::min(
      1.0, std::max(0.0, static_cast<double>(step0 - s.warmup) / span));
  if (s.kind == ScheduleKind::Cosine)
    return s.minLr + 0.5 * (1.0 + std::cos(M_PI * p)) * (s.lr - s.minLr);
  return s.minLr + (1.0 - p) * (s.lr - s.minLr);
}

bool parseScheduleKind(const std::string &name, ScheduleKind &kind) {
  for (ScheduleKind k :
       {ScheduleKind::Constant, ScheduleKind::Cosine, ScheduleKind::Linear})
    if (name == scheduleKindName(k)) {
      kind = k;
      return true;
    }
  return false;
}

const char *scheduleKindName(ScheduleKind kind) {
  switch (kind) {
  case ScheduleKind::Constant: return "constant";
  case ScheduleKind::Cosine: return "cosine";
  case ScheduleKind::Linear: return "linear";
  }
  return "?";
}

} // namespace bbrt
