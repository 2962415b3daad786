//===- Device.cpp - the CPU runtime's device memory: host memory ----------===//
//
// The CPU runtime's kernels work on host memory, so DeviceBuffer is an
// aligned host allocation and the copies are memcpy; its kernels' threads
// are the OpenMP pool (runtime/cuda/Device.cpp is the GPU counterpart), and
// its matrix products OpenBLAS's kernels for this CPU.
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "runtime/core/Util.h"

#include "bbrt/sharding.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <unistd.h>

extern "C" void openblas_set_num_threads(int);
extern "C" char *openblas_get_corename(void);

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

std::string deviceName() {
  std::string model;
  if (FILE *f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (model.empty() && std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "model name", 10) == 0)
        if (const char *colon = std::strchr(line, ':')) {
          model = colon + 1;
          model.erase(0, model.find_first_not_of(" \t"));
          model.erase(model.find_last_not_of(" \t\n") + 1);
        }
    std::fclose(f);
  }
  return model.empty() ? "CPU rank" : "CPU rank (" + model + ")";
}

int64_t deviceMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0
             ? static_cast<int64_t>(pages) * size / localWorldSize()
             : 0;
}

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
void zeroOnDevice(void *dst, size_t bytes) {
  if (bytes)
    std::memset(dst, 0, bytes);
}
void synchronizeDevice() {}
void initDevice(const ModelInfo &) {}

//===--- BLAS kernels ------------------------------------------------------===//
//
// OpenBLAS as Debian builds it (DYNAMIC_ARCH) picks its kernels when it
// loads, by the CPU's family and model, and falls back to the Prescott (SSE3)
// kernels for a model newer than the library: OpenBLAS 0.3.21 on a Xeon of
// family 6 model 207 (Emerald Rapids) ran a GPT training step 2.7-2.9x
// slower than with the SkylakeX (AVX-512) kernels that CPU runs
// (docs/benchmarks.md).
// The kernels can be named only before OpenBLAS loads (OPENBLAS_CORETYPE),
// and it loads before main, so a program that finds the fallback runs itself
// again with them named after the CPU's features.

namespace {

/// The OpenBLAS kernel family that this CPU's features (and what its OS
/// saves) run best, or null.
const char *blasCoreForFeatures() {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return nullptr;
  const bool fma = c & bit_FMA;
  if (!(c & bit_OSXSAVE) || __get_cpuid_max(0, nullptr) < 7)
    return nullptr;
  // The register state the OS saves: YMM (XCR0 bits 1-2), ZMM (5-7).
  unsigned xcr0, xcr0High;
  __asm__("xgetbv" : "=a"(xcr0), "=d"(xcr0High) : "c"(0));
  (void)xcr0High;
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) &&
                      (b & bit_AVX512DQ) && (b & bit_AVX512VL) &&
                      (b & bit_AVX512CD);
  if (zmm && avx512 && fma)
    return "SkylakeX";
  if (ymm && (b & bit_AVX2) && fma)
    return "Haswell";
#endif
  return nullptr;
}

} // namespace

void prepareProcess(char **argv) {
  if (std::getenv("OPENBLAS_CORETYPE"))
    return; // the user's choice, or this is the program run again
  const char *core = blasCoreForFeatures();
  if (!core || strcasecmp(openblas_get_corename(), "Prescott") != 0)
    return;
  if (setenv("OPENBLAS_CORETYPE", core, 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // Not run again (no /proc): go on with the fallback kernels.
  unsetenv("OPENBLAS_CORETYPE");
}

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
