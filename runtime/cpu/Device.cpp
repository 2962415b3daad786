//===- Device.cpp - the CPU runtime's device memory: host memory ----------===//
//
// The CPU runtime's kernels work on host memory, so DeviceBuffer is an
// aligned host allocation and the copies are memcpy; its kernels' threads
// are the OpenMP pool (runtime/cuda/Device.cpp is the GPU counterpart).
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "runtime/core/Util.h"

#include "bbrt/sharding.h"

#include <cstdlib>
#include <cstring>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <unistd.h>

extern "C" void openblas_set_num_threads(int);

namespace bbrt {

DeviceBuffer::DeviceBuffer(size_t bytes)
    : p_(allocateZeroedHost(bytes)), n_(bytes) {}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { std::free(p_); }

const char *backendName() { return "cpu"; }
bool deviceMemoryIsHost() { return true; }

void copyToDevice(void *dst, const void *src, size_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
}
void copyToHost(void *dst, const void *src, size_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
}
void copyOnDevice(void *dst, const void *src, size_t bytes) {
  if (bytes && dst != src)
    std::memmove(dst, src, bytes);
}
void synchronizeDevice() {}
void initDevice(const ModelInfo &) {}

//===--- threads -----------------------------------------------------------===//

void setNumThreads(int n) {
  if (n <= 0) {
    // Ranks on one host share its cores.
    long c = sysconf(_SC_NPROCESSORS_ONLN) / localWorldSize();
    n = c > 0 ? static_cast<int>(c) : 1;
  }
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  // OpenBLAS stays single-threaded: the runtime splits GEMMs over the OpenMP
  // threads itself (see cpu/Gemm.h for why).
  openblas_set_num_threads(1);
}

int numThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

} // namespace bbrt
