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
struct MeshState; // the Context's place in the mesh (core/Distributed.h)

/// For each tensor dimension, the mesh axes it is split over, major to minor
/// (setSharding's text, parsed; bbrt/sharding.h). Empty: replicated; fewer
/// entries than dimensions: the trailing dimensions are replicated.
using SplitAxes = std::vector<std::vector<int64_t>>;

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

/// Memory the kernels work on: 64-byte aligned host memory in the CPU
/// runtime, GPU memory (cudaMalloc) in the CUDA runtime; zero-filled. Only
/// kernels and the copies below touch it: host code reads and writes it
/// through copyToHost/copyToDevice (see deviceMemoryIsHost).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  DeviceBuffer(DeviceBuffer &&o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();
  void *data() const { return p_; }
  size_t size() const { return n_; }

private:
  void *p_ = nullptr;
  size_t n_ = 0;
};

/// Called first in main, before MPI or any thread starts: the CPU runtime
/// runs the program again (same arguments, OPENBLAS_CORETYPE set) when
/// OpenBLAS fell back to generic kernels on a CPU with AVX2 or AVX-512
/// (runtime/cpu/Device.cpp); the CUDA runtime does nothing.
void prepareProcess(char **argv);
/// Which runtime this program linked: "cpu" or "cuda".
const char *backendName();
/// The device this process runs on, in words ("CPU rank (MODEL NAME)", the
/// GPU's name), and its memory in bytes (a CPU rank: the host's physical
/// memory over the ranks on the host). The CUDA runtime needs initDevice
/// first (createContext calls it).
std::string deviceName();
int64_t deviceMemoryBytes();
/// True when kernels work on host memory (the CPU runtime): then device
/// pointers may be read and written directly.
bool deviceMemoryIsHost();
/// Synchronous copies between host memory and device memory (DeviceBuffer,
/// weights, arena): they wait for every kernel launched before them.
void copyToDevice(void *deviceDst, const void *hostSrc, size_t bytes);
void copyToHost(void *hostDst, const void *deviceSrc, size_t bytes);
/// Device-to-device copy, ordered with the kernels.
void copyOnDevice(void *dst, const void *src, size_t bytes);
/// Zero-fills device memory, ordered with the kernels.
void zeroOnDevice(void *dst, size_t bytes);
/// Waits until every kernel launched so far has finished (the CPU runtime's
/// kernels finish before they return).
void synchronizeDevice();
/// Picks this process's device (the CUDA runtime: GPU local-rank modulo the
/// host's GPU count; a clear error when there is none). createContext calls
/// it; idempotent.
void initDevice(const ModelInfo &info);

struct TensorDecl {
  std::string name;
  DType dtype = DType::F32;
  Dims shape;
  int64_t offset = -1; // arena offset (function inputs and outputs only)
  std::string role;    // function inputs and outputs only (see addInput)
  SplitAxes split;     // weights, states and cut crossings (setSharding)
  /// The mesh `split` refers to (setShardingMesh: a pipeline stage's own)
  /// and that stage; empty and -1: the model's mesh.
  std::vector<int64_t> mesh;
  int64_t meshStage = -1;
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
  /// The device mesh (setMesh); empty: the program runs on one process.
  std::vector<int64_t> mesh;
  /// Pipeline stages on meshes of their own (addStageMesh): each stage's
  /// mesh, the stages on consecutive world ranks; `mesh` is then the world,
  /// one axis of their devices in all.
  std::vector<std::vector<int64_t>> stageMeshes;
  /// What setSharding applies to: 'w' (the last weight), 's' (the last
  /// state), 'i' (the last function input: a pipeline crossing received as
  /// a block of what another stage sends whole) or 0 (the last
  /// declaration was something else).
  char lastTensorDecl = 0;
  /// nullptr when the model has no function `name`.
  const FunctionInfo *function(const std::string &name) const;
};

/// Checks what bb_describe declared: unique names, each function's buffers
/// inside its arena, known roles with their dtypes and shapes.
void validateModel(const ModelInfo &info);

/// Where a program's time goes (`--profile`; runtime/core/Profile.cpp): per
/// kernel kind (the bb op it runs, e.g. "bb.matmul") and per entry
/// function, the calls, the seconds and the work the compiler counted; and
/// the driver's own work between the functions by what it does (a
/// pipeline's receives and sends, zeroing and averaging of gradients:
/// profileDriver).
struct Profile {
  struct Entry {
    int64_t calls = 0;
    double seconds = 0, flops = 0, bytes = 0;
  };
  std::map<std::string, Entry> kernels, functions, driver;
};

/// Books the driver's work `what` since `start` (profileStart) into
/// ctx->profile->driver, after waiting for the device; nothing without a
/// profile.
void profileDriver(Context *ctx, const char *what, double start);

struct Context {
  const ModelInfo *info = nullptr;
  DeviceBuffer arena; // as large as the largest function's (one runs at a time)
  std::unique_ptr<SafetensorsFile> weightFile;
  std::vector<const void *> weights; // device memory
  /// Weights not used in place from the mapped file: this rank's slices,
  /// misaligned tensors, and every weight when device memory is not host
  /// memory.
  std::vector<DeviceBuffer> weightCopies;
  std::vector<DeviceBuffer> states;
  /// Per input (output) index of the next function run: the memory bound
  /// in place of its arena place (bindInput), or null.
  std::vector<void *> boundInputs, boundOutputs;
  /// The function runFunction is running, or null.
  const FunctionInfo *running = nullptr;
  /// Per state: whether this process holds it (ContextOptions).
  std::vector<bool> heldStates;
  /// This process's place in the mesh; null when the model declares none.
  std::unique_ptr<MeshState> mesh;
  /// Set: every kernel call and function run is timed into it (the device
  /// synchronized around each, so kernels do not overlap).
  std::unique_ptr<Profile> profile;
  Context();
  ~Context();
};

/// What one process of a program holds: a pipeline stage's rank holds only
/// the states its stage owns or reads, and an arena for its stage's
/// functions.
struct ContextOptions {
  /// Per state (ModelInfo::states order): whether this process holds it.
  /// Empty: every state.
  std::vector<bool> heldStates;
  /// Per function (ModelInfo::functions order): whether this process runs
  /// it; the arena fits the largest of those. Empty: every function.
  std::vector<bool> runsFunction;
};

/// Allocates the arena and the states and maps the weights from
/// `weightsPath` (opened only when a weight or a fromWeights state needs it),
/// checking each tensor's dtype and shape. A sharded weight or state (see
/// setSharding) is checked against its global shape, and this rank's slice is
/// copied into private memory. For a model whose mesh has more than one
/// device, initializes MPI first (initDistributed in bbrt/sharding.h).
/// States `options` leaves out get no memory (state() refuses them).
std::unique_ptr<Context> createContext(const ModelInfo &info,
                                       const std::string &weightsPath,
                                       const ContextOptions &options = {});

/// Whether this process holds state number `index` (ContextOptions).
bool holdsState(const Context *ctx, size_t index);

/// The Tensor of function input/output `decl` in ctx's arena.
Tensor arenaTensor(Context *ctx, const TensorDecl &decl);
/// Binds input (output) `index` of the functions run from now on to
/// `memory`, device memory of the input's (output's) size, instead of its
/// place in the arena: the function reads (writes) it there, and the driver
/// copies nothing in or out. Until clearBindings; every function's
/// input `index` is bound, so a driver binds per run.
void bindInput(Context *ctx, size_t index, void *memory);
void bindOutput(Context *ctx, size_t index, void *memory);
void clearBindings(Context *ctx);
/// The Tensor of input (output) `index` of `fn`: where it is bound, else
/// in the arena.
Tensor inputTensor(Context *ctx, const FunctionInfo &fn, size_t index);
Tensor outputTensor(Context *ctx, const FunctionInfo &fn, size_t index);
/// The Tensor of state number `index`.
Tensor stateTensor(Context *ctx, size_t index);

/// Runs entry function `f` on ctx and waits until it has finished (timed
/// into ctx->profile when there is one: core/Profile.cpp).
void runFunction(Context *ctx, const FunctionInfo &f);

/// The profile as a table: per kernel kind, then per function, by time,
/// with calls and milliseconds per step or run (`per`, of which there were
/// `count`), the share of the kernels' time, and the FLOP/s and bytes/s
/// achieved; then the driver's work, if any was booked (its share: of the
/// driver's time).
std::string formatProfile(const Profile &profile, int64_t count,
                          const char *per);
/// A host-memory view of device tensor `t`: `t` itself when device memory
/// is host memory, else a copy of it in `storage`.
Tensor hostView(Tensor t, AlignedBuffer &storage);
/// Scalars of a device tensor (one element of its dtype, F32 here).
float readScalarF32(const void *device);
void writeScalarF32(void *device, float value);

/// Sets the OpenMP thread count (n <= 0: all cores, shared among the ranks
/// on this host). OpenBLAS stays single-
/// threaded: GEMMs are split over the OpenMP threads (see cpu/Gemm.h).
void setNumThreads(int n);
int numThreads();

} // namespace bbrt

#endif // BBRT_MODEL_H
