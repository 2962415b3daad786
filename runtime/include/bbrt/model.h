//===- model.h - ModelInfo, Context and buffers (runtime side) --*- C++ -*-===//
//
// What bb_describe fills and bb_forward runs on. Generated code only needs
// bbrt.h; the driver, the tests and tools use this header.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_MODEL_H
#define BBRT_MODEL_H

#include "bbrt/bbrt.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace bbrt {

class SafetensorsFile;

/// Heap memory with a 64-byte aligned base, zero-filled.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  AlignedBuffer(AlignedBuffer &&o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  AlignedBuffer &operator=(AlignedBuffer &&o) noexcept;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer();
  void *data() const { return p_; }
  size_t size() const { return n_; }

private:
  void *p_ = nullptr;
  size_t n_ = 0;
};

struct TensorDecl {
  std::string name;
  DType dtype = DType::F32;
  Dims shape;
  int64_t offset = -1; // arena offset (inputs and outputs only)
  int64_t nbytes() const { return shape.numel() * dtypeSize(dtype); }
};

struct ModelInfo {
  std::string name;
  std::vector<TensorDecl> inputs, outputs, weights;
  int64_t arenaSize = 0;
};

/// Checks what bb_describe declared: unique names, buffers inside the arena.
void validateModel(const ModelInfo &info);

struct Context {
  const ModelInfo *info = nullptr;
  AlignedBuffer arena;
  std::unique_ptr<SafetensorsFile> weightFile;
  std::vector<const void *> weights;
  std::vector<AlignedBuffer> weightCopies; // for misaligned tensors
  Context();
  ~Context();
};

/// Allocates the arena and maps the weights (when the model declares any)
/// from `weightsPath`, checking each declared weight's dtype and shape.
std::unique_ptr<Context> createContext(const ModelInfo &info,
                                       const std::string &weightsPath);

/// The Tensor of input/output `decl` in ctx's arena.
Tensor arenaTensor(Context *ctx, const TensorDecl &decl);

/// Sets the OpenMP thread count (n <= 0: all cores). OpenBLAS stays single-
/// threaded: GEMMs are split over the OpenMP threads (see cpu/Gemm.h).
void setNumThreads(int n);
int numThreads();

} // namespace bbrt

#endif // BBRT_MODEL_H
