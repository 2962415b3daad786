//===- Device.cpp - GPU selection, device memory, copies, handles ---------===//
//
// The CUDA runtime's side of bbrt/model.h's device memory: DeviceBuffer is
// cudaMalloc'd GPU memory, copies go through the process's one stream, and
// initDevice picks the GPU (local rank modulo the host's GPUs) or says
// clearly that there is none.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/Device.h"
#include "bbrt/model.h"

#include <cstring>
#include <cstdlib>
#include <mutex>
#include <string>

namespace bbrt {
namespace cuda {
namespace {

struct State {
  bool ready = false;
  int device = -1;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t blasLt = nullptr;
  void *workspace = nullptr;
  size_t workspaceSize = 32u << 20; // cuBLASLt's recommendation for Hopper
  KernelError *error = nullptr;
  void *scratch[2] = {nullptr, nullptr};
  size_t scratchSize[2] = {0, 0};
};

State &state() {
  static State s;
  return s;
}

/// This process's rank on its host, from the launcher's environment (before
/// MPI starts): OpenMPI, MPICH/Hydra, Slurm; 0 without a launcher.
int localRank() {
  for (const char *v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                        "SLURM_LOCALID"})
    if (const char *s = std::getenv(v))
      return std::atoi(s);
  return 0;
}

State &ready() {
  State &s = state();
  if (!s.ready)
    fail("internal error: the CUDA device is used before initDevice");
  return s;
}

} // namespace

void check(cudaError_t rc, const char *what) {
  if (rc != cudaSuccess)
    fail("%s: %s", what, cudaGetErrorString(rc));
}

void checkBlas(cublasStatus_t rc, const char *what) {
  if (rc != CUBLAS_STATUS_SUCCESS)
    fail("%s: cuBLAS status %d", what, static_cast<int>(rc));
}

void checkLaunch(const char *kernel) {
  check(cudaGetLastError(), kernel);
}

cudaStream_t stream() { return ready().stream; }
KernelError *kernelError() { return ready().error; }
cublasLtHandle_t blasLt() { return ready().blasLt; }
void *blasWorkspace() { return ready().workspace; }
size_t blasWorkspaceSize() { return ready().workspaceSize; }

void *scratch(size_t bytes, int which) {
  State &s = ready();
  if (bytes > s.scratchSize[which]) {
    // The old buffer may still be read by queued kernels.
    check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
    check(cudaFree(s.scratch[which]), "cudaFree");
    s.scratch[which] = nullptr;
    s.scratchSize[which] = 0;
    check(cudaMalloc(&s.scratch[which], bytes), "scratch memory (cudaMalloc)");
    s.scratchSize[which] = bytes;
  }
  return s.scratch[which];
}

} // namespace cuda

using cuda::check;

void prepareProcess(char **) {}
const char *backendName() { return "cuda"; }
bool deviceMemoryIsHost() { return false; }

std::string deviceName() {
  if (!cuda::state().ready)
    fail("internal error: deviceName before initDevice");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, cuda::state().device),
        "cudaGetDeviceProperties");
  return prop.name;
}

int64_t deviceMemoryBytes() {
  if (!cuda::state().ready)
    fail("internal error: deviceMemoryBytes before initDevice");
  size_t freeBytes = 0, total = 0;
  check(cudaMemGetInfo(&freeBytes, &total), "cudaMemGetInfo");
  return static_cast<int64_t>(total);
}

void initDevice(const ModelInfo &) {
  cuda::State &s = cuda::state();
  if (s.ready)
    return;
  int count = 0;
  cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess || count == 0)
    fail("no CUDA GPU is available (%s); this program was compiled for "
         "NVIDIA GPUs (bbc --target=cuda); compile it with --target=cpu to "
         "run it here",
         rc != cudaSuccess ? cudaGetErrorString(rc) : "no device found");
  s.device = cuda::localRank() % count;
  check(cudaSetDevice(s.device), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking),
        "cudaStreamCreate");
  cuda::checkBlas(cublasLtCreate(&s.blasLt), "cublasLtCreate");
  check(cudaMalloc(&s.workspace, s.workspaceSize), "cuBLASLt workspace");
  check(cudaMalloc(&s.error, sizeof(cuda::KernelError)), "error record");
  // On the process's stream (non-blocking, so not ordered with the legacy
  // default stream that cudaMemset would use).
  check(cudaMemsetAsync(s.error, 0, sizeof(cuda::KernelError), s.stream),
        "error record");
  check(cudaStreamSynchronize(s.stream), "error record");
  s.ready = true;
}

DeviceBuffer::DeviceBuffer(size_t bytes) {
  if (!cuda::state().ready)
    fail("internal error: device memory is allocated before initDevice");
  const size_t rounded = bytes == 0 ? 256 : (bytes + 255) / 256 * 256;
  cudaError_t rc = cudaMalloc(&p_, rounded);
  if (rc != cudaSuccess) {
    size_t freeBytes = 0, total = 0;
    cudaMemGetInfo(&freeBytes, &total);
    fail("out of GPU memory allocating %zu bytes (%zu of %zu free): %s",
         bytes, freeBytes, total, cudaGetErrorString(rc));
  }
  check(cudaMemsetAsync(p_, 0, rounded, cuda::stream()), "cudaMemset");
  n_ = bytes;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    if (p_) {
      cudaStreamSynchronize(cuda::state().stream);
      cudaFree(p_);
    }
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) {
    // Kernels queued on the buffer finish first.
    cudaStreamSynchronize(cuda::state().stream);
    cudaFree(p_);
  }
}

void copyToDevice(void *dst, const void *src, size_t bytes) {
  if (!bytes)
    return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice,
                        cuda::stream()),
        "copy to the GPU");
  check(cudaStreamSynchronize(cuda::stream()), "copy to the GPU");
}

void copyToHost(void *dst, const void *src, size_t bytes) {
  if (!bytes)
    return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost,
                        cuda::stream()),
        "copy from the GPU");
  check(cudaStreamSynchronize(cuda::stream()), "copy from the GPU");
}

void copyOnDevice(void *dst, const void *src, size_t bytes) {
  if (!bytes || dst == src)
    return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
                        cuda::stream()),
        "copy on the GPU");
}

void zeroOnDevice(void *dst, size_t bytes) {
  if (bytes)
    check(cudaMemsetAsync(dst, 0, bytes, cuda::stream()), "zero-fill on the GPU");
}

// The kernels run on the GPU; host-side work (data loading, checkpoints) is
// single-threaded.
void setNumThreads(int) {}
int numThreads() { return 1; }

void synchronizeDevice() {
  // Errors of asynchronous kernels surface here.
  check(cudaStreamSynchronize(cuda::stream()), "GPU kernels");
  // The record read and reset on the kernels' own stream: the legacy
  // default stream's copies and sets are not ordered with it, and a kernel
  // launched after the reset could record an error the reset then erased.
  cuda::KernelError e;
  check(cudaMemcpyAsync(&e, cuda::kernelError(), sizeof e,
                        cudaMemcpyDeviceToHost, cuda::stream()),
        "error record");
  check(cudaStreamSynchronize(cuda::stream()), "error record");
  if (e.code == cuda::kNoError)
    return;
  check(cudaMemsetAsync(cuda::kernelError(), 0, sizeof e, cuda::stream()),
        "error record");
  check(cudaStreamSynchronize(cuda::stream()), "error record");
  switch (e.code) {
  case cuda::kGatherIndex:
    fail("gather: index %lld is out of range for an axis of size %lld", e.a,
         e.b);
  case cuda::kLabel:
    fail("cross entropy: label %lld of row %lld is out of range [0, %lld)",
         e.a, e.c, e.b);
  case cuda::kScatterIndex:
    fail("scatterAdd: index %lld is out of range for an axis of size %lld",
         e.a, e.b);
  case cuda::kAdamStep: {
    double t;
    std::memcpy(&t, &e.a, sizeof t);
    fail("adamwUpdate: step %g is not a 1-based step number", t);
  }
  default:
    fail("a GPU kernel reported error %llu", e.code);
  }
}

} // namespace bbrt
