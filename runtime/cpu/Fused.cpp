//===- Fused.cpp - the CPU runtime's threads for fused kernels ------------===//
#include "bbrt/fused.h"
#include "runtime/cpu/Common.h"

namespace bbrt {
namespace detail {

void fusedChunks(int64_t n, int64_t work,
                 void (*body)(void *, int64_t, int64_t), void *arg) {
  cpu::parallelRange(n, n * work >= cpu::kParallelMin,
                     [&](int64_t b, int64_t e) { body(arg, b, e); });
}

} // namespace detail
} // namespace bbrt
