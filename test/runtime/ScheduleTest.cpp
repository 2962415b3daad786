// learningRate: warmup, then constant, cosine or linear decay.
#include "bbrt/train.h"

#include <catch2/catch.hpp>

using namespace bbrt;

namespace {
Schedule make(ScheduleKind kind, double lr, int64_t warmup, double minLr, int64_t decaySteps) {
  Schedule s;
  s.kind = kind;
  s.lr = lr;
  s.warmup = warmup;
  s.minLr = minLr;
  s.decaySteps = decaySteps;
  return s;
}
} // namespace

TEST_CASE("constant schedule with and without warmup", "[schedule]") {
  Schedule c = make(ScheduleKind::Constant, 3e-4, 0, 0, 100);
  for (int64_t s : {0, 1, 50, 99, 1000})
    CHECK(learningRate(c, s) == 3e-4);
  Schedule w = make(ScheduleKind::Constant, 1.0, 4, 0, 100);
  CHECK(learningRate(w, 0) == 0.25);
  CHECK(learningRate(w, 1) == 0.5);
  CHECK(learningRate(w, 3) == 1.0);
  CHECK(learningRate(w, 4) == 1.0);
}

TEST_CASE("cosine schedule", "[schedule]") {
  Schedule c = make(ScheduleKind::Cosine, 1.0, 0, 0.1, 10);
  CHECK(learningRate(c, 0) == 1.0);
  CHECK(learningRate(c, 5) == Approx(0.55).epsilon(1e-12));
  CHECK(learningRate(c, 10) == Approx(0.1).epsilon(1e-12));
  CHECK(learningRate(c, 25) == Approx(0.1).epsilon(1e-12)); // clamped past the decay
  Schedule w = make(ScheduleKind::Cosine, 2.0, 2, 0.0, 12);
  CHECK(learningRate(w, 0) == 1.0); // warmup: lr * 1 / 2
  CHECK(learningRate(w, 1) == 2.0);
  CHECK(learningRate(w, 2) == 2.0); // p = 0
  CHECK(learningRate(w, 7) == Approx(1.0).epsilon(1e-12)); // p = 0.5
  CHECK(learningRate(w, 12) == Approx(0.0).margin(1e-15));
  for (int64_t s = 2; s < 12; ++s)
    CHECK(learningRate(w, s + 1) < learningRate(w, s));
}

TEST_CASE("linear schedule and a decay shorter than the warmup", "[schedule]") {
  Schedule l = make(ScheduleKind::Linear, 1.0, 0, 0.1, 10);
  CHECK(learningRate(l, 0) == 1.0);
  CHECK(learningRate(l, 5) == Approx(0.55).epsilon(1e-12));
  CHECK(learningRate(l, 10) == Approx(0.1).epsilon(1e-12));
  CHECK(learningRate(l, 11) == Approx(0.1).epsilon(1e-12));
  // decaySteps <= warmup: the decay takes one step
  Schedule s = make(ScheduleKind::Linear, 1.0, 5, 0.0, 3);
  CHECK(learningRate(s, 4) == 1.0);
  CHECK(learningRate(s, 5) == 1.0);
  CHECK(learningRate(s, 6) == 0.0);
}

TEST_CASE("schedule names", "[schedule]") {
  ScheduleKind k = ScheduleKind::Constant;
  CHECK(parseScheduleKind("cosine", k));
  CHECK(k == ScheduleKind::Cosine);
  CHECK(parseScheduleKind("linear", k));
  CHECK(k == ScheduleKind::Linear);
  CHECK(parseScheduleKind("constant", k));
  CHECK(k == ScheduleKind::Constant);
  CHECK(!parseScheduleKind("Cosine", k));
  CHECK(!parseScheduleKind("", k));
  CHECK(std::string(scheduleKindName(ScheduleKind::Linear)) == "linear");
}
