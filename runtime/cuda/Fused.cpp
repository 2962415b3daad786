//===- Fused.cpp - the CUDA runtime's side of fused kernels ---------------===//
//
// The generated program's fused kernels (bbrt/fused.h, compiled by nvcc in
// the program) launch on the runtime's stream and check the launch here.
//
//===----------------------------------------------------------------------===//
#include "bbrt/fused.h"
#include "runtime/cuda/Device.h"

namespace bbrt {
namespace detail {

void *fusedStream() { return cuda::stream(); }

void checkFusedLaunch(const char *what) { cuda::checkLaunch(what); }

void *fusedScratch(size_t bytes) { return cuda::scratch(bytes, 1); }

} // namespace detail
} // namespace bbrt
