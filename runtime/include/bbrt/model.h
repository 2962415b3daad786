//===- model.h - ModelInfo, Context and buffers (runtime side) --*- C++ -*-===//
//
// What bb_describe fills and the entry functions run on. Generated code only
// needs bbrt.h; the driver, the tests and tools use this header.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_MODEL_H
#define BBRT_MODEL_H

#include "bbrt/bbrt.h"

#include <cstddef>
#include <map>
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
  int64_t offset = -1; // arena offset (function inputs and outputs only)
  std::string role;    // function inputs and outputs only (see addInput)
  int64_t nbytes() const { return shape.numel() * dtypeSize(dtype); }
};

struct StateDecl : TensorDecl {
  bool fromWeights = false; // initial value from the weights file, else zeros
};

/// One entry function and the arena buffers it reads and writes.
struct FunctionInfo {
  std::string name;
  std::vector<TensorDecl> inputs, outputs;
  int64_t arenaSize = 0;
  EntryPoint fn = nullptr;
  /// The first input (output) with `role`; nullptr when none.
  const TensorDecl *inputWithRole(const std::string &role) const;
  const TensorDecl *outputWithRole(const std::string &role) const;
};

struct ModelInfo {
  std::string name;
  std::vector<TensorDecl> weights;
  std::vector<StateDecl> states;
  std::vector<FunctionInfo> functions;
  std::map<std::string, std::string> attributes;
  /// nullptr when the model has no function `name`.
  const FunctionInfo *function(const std::string &name) const;
};

/// Checks what bb_describe declared: unique names, each function's buffers
/// inside its arena, known roles with their dtypes and shapes.
void validateModel(const ModelInfo &info);

struct Context {
  const ModelInfo *info = nullptr;
  AlignedBuffer arena; // as large as the largest function's (one runs at a time)
  std::unique_ptr<SafetensorsFile> weightFile;
  std::vector<const void *> weights;
  std::vector<AlignedBuffer> weightCopies; // for misaligned tensors
  std::vector<AlignedBuffer> states;
  Context();
  ~Context();
};

/// Allocates the arena and the states and maps the weights from
/// `weightsPath` (opened only when a weight or a fromWeights state needs it),
/// checking each tensor's dtype and shape.
std::unique_ptr<Context> createContext(const ModelInfo &info,
                                       const std::string &weightsPath);

/// The Tensor of function input/output `decl` in ctx's arena.
Tensor arenaTensor(Context *ctx, const TensorDecl &decl);
/// The Tensor of state number `index`.
Tensor stateTensor(Context *ctx, size_t index);

/// Sets the OpenMP thread count (n <= 0: all cores). OpenBLAS stays single-
/// threaded: GEMMs are split over the OpenMP threads (see cpu/Gemm.h).
void setNumThreads(int n);
int numThreads();

} // namespace bbrt

#endif // BBRT_MODEL_H
