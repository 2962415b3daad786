//===- MemoryTest.cpp - training state and activation liveness ------------===//
#include "compiler/costmodel/Memory.h"

#include <catch2/catch.hpp>

using namespace mlir::bb::costmodel;

TEST_CASE("training state per device: replicated, sharded, ZeRO", "[memory]") {
  ParameterState w;
  w.elements = 1000;
  w.optimizerBytesPerElement = 8; // AdamW: two f32 moments
  StateBytes replicated = stateBytesPerDevice({w});
  CHECK(replicated.params == 4000);
  CHECK(replicated.grads == 4000);
  CHECK(replicated.optimizer == 8000);
  CHECK(replicated.total() == 16000);

  // ZeRO-1 over 4 devices splits the optimizer state only; ZeRO-2 also the
  // gradients; tensor parallelism over 2 splits all three.
  ParameterState zero1 = w;
  zero1.optimizerShards = 4;
  CHECK(stateBytesPerDevice({zero1}).total() == 4000 + 4000 + 2000);
  ParameterState zero2 = zero1;
  zero2.gradShards = 4;
  CHECK(stateBytesPerDevice({zero2}).total() == 4000 + 1000 + 2000);
  ParameterState tp = w;
  tp.paramShards = tp.gradShards = tp.optimizerShards = 2;
  CHECK(stateBytesPerDevice({tp}).total() == 8000);

  // Uneven splits count the largest shard; several tensors add up.
  ParameterState odd;
  odd.elements = 1001;
  odd.paramBytesPerElement = 2; // bf16
  odd.gradBytesPerElement = 0;  // frozen
  odd.paramShards = 4;
  StateBytes both = stateBytesPerDevice({w, odd});
  CHECK(both.params == 4000 + 251 * 2);
  CHECK(both.grads == 4000);
  CHECK(stateBytesPerDevice({}).total() == 0);
}

TEST_CASE("peak activations by liveness", "[memory]") {
  // x -> op0 -> a; op1(a) -> b; op2(a, b) -> c; op3(c) -> d
  std::vector<LiveRange> values = {
      {100, -1, 0}, // x, an input: dies after op0
      {200, 0, 2},  // a
      {300, 1, 2},  // b
      {50, 2, 3},   // c
      {10, 3, 3},   // d, an unused result
  };
  // During op2: a, b and c are live.
  CHECK(peakLiveBytes(values) == 550);
  // x is freed before b is made.
  CHECK(peakLiveBytes({{100, -1, 0}, {300, 1, 1}}) == 300);
  // An operand and the result of one op are live together.
  CHECK(peakLiveBytes({{100, -1, 0}, {300, 0, 1}}) == 400);
  // Values live across the whole sequence (saved activations) stack up.
  CHECK(peakLiveBytes({{64, -1, 9}, {64, 0, 9}, {32, 5, 6}}) == 160);
  CHECK(peakLiveBytes({}) == 0);
}
