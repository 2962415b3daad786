//===- Conv.cpp - convolution and pooling: not in the CUDA runtime yet -----===//
//
// The CUDA runtime has no convolution or pooling kernels yet (the plan is
// cuDNN; docs/cuda.md). bbc --target=cuda refuses models that use them
// before building anything; these definitions keep a program that reaches
// one anyway failing with one clear line instead of a link error.
//
//===----------------------------------------------------------------------===//
#include "bbrt/bbrt.h"
#include "runtime/core/Util.h"

namespace bbrt {
namespace {

[[noreturn]] void unsupported(const char *kernel) {
  fail("%s is not supported by the CUDA runtime yet (compile the model "
       "with --target=cpu)",
       kernel);
}

} // namespace

void conv(Tensor, Tensor, Tensor, Tensor, Dims, Dims, Dims, int64_t) {
  unsupported("conv");
}
void maxPool(Tensor, Tensor, Dims, Dims, Dims, Dims) {
  unsupported("maxPool");
}
void avgPool(Tensor, Tensor, Dims, Dims, Dims, bool, Dims) {
  unsupported("avgPool");
}
void convInputGrad(Tensor, Tensor, Tensor, Dims, Dims, Dims, int64_t) {
  unsupported("convInputGrad");
}
void convWeightGrad(Tensor, Tensor, Tensor, Dims, Dims, Dims, int64_t) {
  unsupported("convWeightGrad");
}
void maxPoolGrad(Tensor, Tensor, Tensor, Dims, Dims, Dims) {
  unsupported("maxPoolGrad");
}
void avgPoolGrad(Tensor, Tensor, Dims, Dims, Dims, bool) {
  unsupported("avgPoolGrad");
}

} // namespace bbrt
