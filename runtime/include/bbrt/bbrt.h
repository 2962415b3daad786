//===- bbrt.h - the runtime API that generated programs call ---*- C++ -*-===//
//
// Generated programs (bbc -o NAME) are C++ written by MLIR's EmitC emitter,
// linked with this runtime:
//
//   void bb_describe(bbrt::ModelInfo *info);  // weights, states, functions
//   void bb_<function>(bbrt::Context *ctx);   // kernel calls on arena buffers
//
// bb_describe registers each entry function by pointer (addFunction), so the
// runtime only needs bb_describe by name. Inference programs have one
// function, "forward"; training programs have "train_step" and "eval_step".
// Everything else (command line, reading inputs, mmapping weights, writing
// outputs, timing, the training loop) lives in the runtime. The runtime never
// includes MLIR.
//
// Conventions for every kernel:
// - A Tensor is a pointer, an element type and a static row-major shape.
// - Outputs never alias inputs unless the kernel says so.
// - Broadcasting follows NumPy: shapes align on the right, size 1 stretches.
// - Kernels run on the calling thread plus the runtime's thread pool (OpenMP);
//   BLAS is used for matmul and convolution.
// - A kernel given shapes or dtypes it cannot handle throws bbrt::Error (the
//   driver prints it as one line `NAME: error: ...`, exit code 1). F16/BF16
//   are supported only by data movement kernels and convert.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_BBRT_H
#define BBRT_BBRT_H

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace bbrt {

constexpr int kMaxRank = 8;

/// What every runtime failure throws; what() is one line without a prefix.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Element types, as the compiler names them. Bool is one byte (0 or 1).
enum class DType : int32_t { F32, F64, F16, BF16, I8, I16, I32, I64, U8, Bool };

/// Bytes per element of `dtype`.
int64_t dtypeSize(DType dtype);
/// "f32", "i64", "bool", ... (npyDescr in bbrt/io.h gives NumPy's "<f4").
const char *dtypeName(DType dtype);

struct Dims {
  int rank = 0;
  int64_t d[kMaxRank] = {};
  Dims() = default;
  Dims(std::initializer_list<int64_t> dims); // throws Error above kMaxRank
  Dims(const int64_t *dims, int rank);
  int64_t numel() const;
  int64_t operator[](int i) const { return d[i]; }
  bool operator==(const Dims &o) const;
  bool operator!=(const Dims &o) const { return !(*this == o); }
};

/// "2x3x4"; "scalar" for rank 0.
std::string formatDims(const Dims &dims);

struct Tensor {
  void *data = nullptr;
  DType dtype = DType::F32;
  Dims shape;
  Tensor() = default;
  Tensor(const void *data, DType dtype, std::initializer_list<int64_t> dims)
      : data(const_cast<void *>(data)), dtype(dtype), shape(dims) {}
  Tensor(const void *data, DType dtype, const Dims &dims)
      : data(const_cast<void *>(data)), dtype(dtype), shape(dims) {}
  int64_t numel() const { return shape.numel(); }
  int64_t nbytes() const { return numel() * dtypeSize(dtype); }
  bool empty() const { return data == nullptr; }
};

/// An absent optional operand (e.g. conv without bias).
inline Tensor none() { return Tensor(); }

//===--- what bb_describe declares ------------------------------------------===//

struct ModelInfo; // filled by bb_describe through these calls (bbrt/model.h)
struct Context;   // arena, weights, states (bbrt/model.h)

/// An entry function of the program (the generated bb_<name>).
using EntryPoint = void (*)(Context *);

void setModelName(ModelInfo *info, const char *name);
/// A read-only weight stored under `name` in NAME.safetensors (memory-mapped);
/// index = order of addWeight calls.
void addWeight(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims);
/// A mutable tensor kept across calls (training: parameters and optimizer
/// state); index = order of addState calls. fromWeights: its initial value is
/// the weights-file tensor of the same name (dtype and shape checked);
/// otherwise zeros.
void addState(ModelInfo *info, const char *name, DType dtype,
              std::initializer_list<int64_t> dims, bool fromWeights);
/// Starts entry function `name`; the addInput/addOutput/setArenaSize calls
/// that follow describe it.
void addFunction(ModelInfo *info, const char *name, EntryPoint fn);
/// An input or output of the current function, living at `offset` bytes into
/// the arena. Input roles: "" (model input), "labels", "lr" (f32 scalar),
/// "step" (f32 scalar, the 1-based step number). Output roles: "" (model
/// output), "loss" (f32 scalar), "grad_norm" (f32 scalar, global L2 norm of
/// the gradients before clipping). Pipeline stages add repeatable roles told
/// apart by name: "stash" (a stage's forward output its backward takes),
/// "send"/"recv" (a value crossing to another stage), "grad" (a gradient out
/// of a backward, into an update), and the scalar input "grad_sumsq" (the
/// sum of squares of every gradient of every stage), and "accumulator" (a
/// backward's input: the gradient accumulated so far, which it returns
/// with this micro-batch's added as the "grad" output of the same name). A
/// stash, a "grad" input, an accumulator and the gradient a backward
/// returns into it have no arena place (offset -1): the driver always
/// binds them (bindInput/bindOutput).
void addInput(ModelInfo *info, const char *name, DType dtype,
              std::initializer_list<int64_t> dims, int64_t offset,
              const char *role = "");
void addOutput(ModelInfo *info, const char *name, DType dtype,
               std::initializer_list<int64_t> dims, int64_t offset,
               const char *role = "");
/// Bytes of arena the current function uses for every intermediate, input
/// and output. Functions never run concurrently, so they share one arena.
void setArenaSize(ModelInfo *info, int64_t bytes);
/// A model-level key/value (e.g. "train.lr" -> "3e-4"); a repeated key keeps
/// the last value.
void setAttribute(ModelInfo *info, const char *key, const char *value);

//===--- what entry functions use ------------------------------------------===//

/// Pointer `offset` bytes into the arena (64-byte aligned base).
void *arena(Context *ctx, int64_t offset);
/// Pointer to input (output) `index` of the running function: the memory
/// the driver bound to it for this run (bindInput/bindOutput in
/// bbrt/model.h: a pipeline's stash slots and gradient accumulators), else
/// its place `offset` bytes into the arena.
void *inputBuffer(Context *ctx, int64_t index, int64_t offset);
void *outputBuffer(Context *ctx, int64_t index, int64_t offset);
/// Pointer to weight number `index` (read-only, memory-mapped).
const void *weight(Context *ctx, int64_t index);
/// Pointer to state number `index` (64-byte aligned, writable, kept across
/// calls).
void *state(Context *ctx, int64_t index);
/// Brackets of every kernel call. Without a profile in the Context
/// (`--profile`, bbrt/model.h) they do nothing; with one, the start waits
/// for the device and reads the clock, and the end waits again and books
/// the call's seconds, FLOPs and bytes (the op's cost interface, counted by
/// the compiler) under `op`, the bb op the kernel runs.
double profileStart(Context *ctx);
void profileEnd(Context *ctx, const char *op, double flops, double bytes,
                double start);

//===--- collectives and sharding -------------------------------------------===//
//
// A sharded (SPMD) program is one per-rank program: the same binary runs as
// every rank of `mpirun -np N`, each rank holds its slice of every sharded
// tensor, and the entry functions call the collectives below explicitly.
// Ranks map row-major onto mesh coordinates: on a {2, 4} mesh, rank =
// c0 * 4 + c1. Collectives run over the group of ranks that differ only in
// `meshAxes` (sorted mesh axis indices), in the group's rank order: the
// linearized coordinate along meshAxes, major to minor. A group of one rank
// (empty meshAxes, or axes of size 1) copies without communicating. Every rank
// of a group must call the same collective with the same shapes. Collectives
// throw bbrt::Error on bad shapes, dtypes or axes (see README "Sharded
// programs").

enum class ReduceKind : int32_t; // defined with reduce() below

/// The device mesh of a sharded program, e.g. {2, 4}. Programs that never
/// call it run on one process without MPI; a mesh of more than one device
/// makes the program initialize MPI and refuse a world size other than the
/// mesh's device count.
void setMesh(ModelInfo *info, std::initializer_list<int64_t> shape);
/// Sharding of the weight or state declared just before (the last addWeight
/// or addState call; or addInput: a pipeline crossing this rank receives as
/// its block of what another stage sends whole, which the driver cuts): for each tensor dimension, the mesh axes it is split
/// over, major to minor, as text "[[0], [], [1, 2]]" (MLIR mesh split_axes
/// syntax; "[]", "" or missing trailing entries: replicated). The declared
/// dims are the local (per-rank) shape; the weights file holds the global
/// tensor (each split dim times the product of its axes' sizes) and each rank
/// copies only its slice: block number (its coordinate along the listed axes,
/// linearized major to minor) of each split dimension. Checkpoints hold global
/// tensors (gathered to rank 0 when written; each rank reads its slice on
/// resume).
void setSharding(ModelInfo *info, const char *splitAxes);
/// Pipeline stages on meshes of their own (bb-auto-shard-stages): the model
/// declares a world mesh of one axis (setMesh({N})) and then each stage's
/// mesh in stage order; stage s runs on the world ranks after the earlier
/// stages' and each rank's collectives run on its stage's mesh (its ranks
/// numbered from the stage's first). A rank only runs its stage's
/// functions.
void addStageMesh(ModelInfo *info, std::initializer_list<int64_t> shape);
/// The mesh the sharding declared just before (setSharding) refers to:
/// stage `stage`'s (addStageMesh), else the model's mesh.
void setShardingMesh(ModelInfo *info, int64_t stage);

/// out = in reduced elementwise over the group (Mean = Sum / group size).
/// F32, F64, I32, I64 (Mean: floats only); out may be in (in-place).
void allReduce(Context *ctx, Tensor in, Tensor out, ReduceKind kind,
               Dims meshAxes);
/// out = concatenation of the group's `in`s along `axis` (negative counts
/// from the end), in group order. Any dtype.
void allGather(Context *ctx, Tensor in, Tensor out, int64_t axis,
               Dims meshAxes);
/// The group's `in`s reduced elementwise (as allReduce), then this rank's
/// block along `axis`: block number = its index in the group; out's `axis`
/// is in's divided by the group size.
void reduceScatter(Context *ctx, Tensor in, Tensor out, int64_t axis,
                   ReduceKind kind, Dims meshAxes);
/// in is cut into group-size blocks along splitAxis; block j goes to group
/// member j; out = the blocks received from members 0, 1, ... concatenated
/// along concatAxis (out's splitAxis is in's / group size, its concatAxis
/// in's * group size). Any dtype.
void allToAll(Context *ctx, Tensor in, Tensor out, int64_t splitAxis,
              int64_t concatAxis, Dims meshAxes);
/// This rank's slice of a replicated tensor, without communication: out =
/// the block of `in` that setSharding would give this rank for `splitAxes`
/// (same text syntax); out's shape is the local shape. Any dtype.
void shardSlice(Context *ctx, Tensor in, Tensor out, const char *splitAxes);
/// Point-to-point (pipeline stages): blocking send of in's bytes to world
/// rank peerRank, and the matching receive into out (same dtype and element
/// count on both sides). Any dtype; tag in [0, 32767].
void sendTensor(Context *ctx, Tensor in, int64_t peerRank, int64_t tag);
void recvTensor(Context *ctx, Tensor out, int64_t peerRank, int64_t tag);
/// Non-blocking sendTensor: copies in's bytes and starts sending them, so
/// `in` may change at once; waitSends(ctx) completes every send posted so far
/// (call it before the Context goes away). Messages between two ranks with
/// the same tag arrive in the order they were posted.
void postSend(Context *ctx, Tensor in, int64_t peerRank, int64_t tag);
void waitSends(Context *ctx);

//===--- kernels ---------------------------------------------------------------===//

enum class UnaryKind : int32_t {
  Neg, Abs, Sqrt, Exp, Log, Erf, Tanh, Sigmoid, Relu,
  HardSigmoid, // alpha * x + beta clamped to [0, 1]
  HardSwish,   // x * clamp(x / 6 + 1/2, 0, 1)
  Gelu,        // exact (erf)
  GeluTanh,    // tanh approximation
  // Added after the first contract (values above are unchanged):
  Reciprocal, Floor, Ceil,
  Round,       // half to even (ONNX Round)
  Sign, Sin, Cos,
  Not,         // Bool only
  LeakyRelu,   // x < 0 ? alpha * x : x
  Clip,        // clamp(x, alpha, beta)
  Softplus,    // log(1 + exp(x))
};
/// out = f(in); same shape and dtype. Float dtypes (F32, F64); Neg, Abs,
/// Sign, Relu, Clip also take I8/I16/I32/I64; Not takes Bool. `in` and `out`
/// may be the same buffer.
void unary(UnaryKind kind, Tensor in, Tensor out, float alpha = 0.f,
           float beta = 0.f);

enum class BinaryKind : int32_t {
  Add, Sub, Mul, Div, Pow,
  Eq, Ne, Lt, Le, Gt, Ge, // comparisons: out is Bool
  // Added after the first contract:
  Max, Min,
  Mod,                    // integers: sign of divisor (ONNX fmod=0); floats: fmod
  And, Or, Xor,           // Bool only
};
/// out = a (op) b with broadcasting; a and b have the same dtype, out has it
/// too (Bool for comparisons). Integer Div truncates toward zero; integer
/// division by zero gives 0 instead of trapping.
void binary(BinaryKind kind, Tensor a, Tensor b, Tensor out);
/// out = cond ? t : f with broadcasting of all three (cond is Bool).
void select(Tensor cond, Tensor t, Tensor f, Tensor out);
/// Element type conversion between any two dtypes (float->int truncates and
/// saturates, NaN -> 0; ->Bool is x != 0).
void convert(Tensor in, Tensor out);

/// Batched matmul: a [..., M, K] (or [..., K, M] if transA), b [..., K, N] (or
/// [..., N, K] if transB), out [..., M, N]; batch dims broadcast. A rank-1 a
/// is [K] (M dim absent from out), a rank-1 b is [K] (N dim absent).
/// F32/F64 through BLAS; integer dtypes through plain loops. With `tf32`
/// (f32 operands only) each operand is rounded to TF32 (core/TF32.h) and the
/// products summed in f32: the CUDA runtime's tensor-core TF32 mode.
void matmul(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
            bool tf32 = false);
/// matmul, then out[..., n] += bias[n] (bb.linear): bias rank 1 of out's
/// dtype (F32 or F64) and last dimension; the same bits as matmul and a
/// broadcast add. The CUDA runtime adds it in cuBLASLt's epilogue. A bias
/// of out's shape is an addend: out = bias + the product, summed by the
/// GEMM (beta = 1) with bias as its C, which may be out itself (in place:
/// a pipeline's gradient accumulator).
void linear(Tensor a, Tensor b, Tensor bias, Tensor out, bool transA,
            bool transB, bool tf32 = false);

/// N-d convolution, NCHW..., weight [F, C/group, K...], optional bias [F].
/// pads: all begin pads then all end pads. Empty strides/pads/dilations mean
/// 1s/0s/1s. With `relu`, out = max(0, conv) (bb.conv {relu}).
void conv(Tensor x, Tensor w, Tensor bias, Tensor out, Dims strides, Dims pads,
          Dims dilations, int64_t group, bool relu = false);
/// Pools over the spatial dims of x [N, C, ...]; out's shape fixes the output
/// size (ceil_mode windows that run past the padded end are clipped).
/// Positions in the padding never win a max.
void maxPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             Dims dilations = Dims());
/// countIncludePad: divide by the window's size within the padded input;
/// otherwise by the number of real elements it covers.
void avgPool(Tensor x, Tensor out, Dims kernel, Dims strides, Dims pads,
             bool countIncludePad, Dims dilations = Dims());

/// (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c], c = dim 1.
void batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var,
               Tensor out, float epsilon);
/// Normalizes over dims [axis, rank) (negative axis counts from the end);
/// scale/bias hold prod(dims[axis:]) elements; bias may be none().
void layerNorm(Tensor x, Tensor scale, Tensor bias, Tensor out, int64_t axis,
               float epsilon);
/// Gradients of layerNorm (bb.layer_norm_grad) from its input x, scale and
/// the output's gradient dy: dx (x's shape), dscale and dbias (the
/// normalized shape; the sums over the rows). Statistics recomputed in
/// double; the column sums in double over fixed blocks of rows, so the
/// same on any thread count. F32.
void layerNormGrad(Tensor x, Tensor scale, Tensor dy, Tensor dx, Tensor dscale,
                   Tensor dbias, int64_t axis, float epsilon);
/// Along `axis` (negative counts from the end), max-subtracted.
void softmax(Tensor x, Tensor out, int64_t axis, bool log);

enum class ReduceKind : int32_t { Sum, Mean, Max, Min, Prod };
/// Reduces over `axes` (sorted, non-negative); `out` has the kept shape
/// (keepdims or not does not matter to the kernel: same element order).
/// Float sums accumulate in double.
void reduce(ReduceKind kind, Tensor x, Tensor out, Dims axes);

/// ONNX Gather: indices I32/I64; negative indices wrap; out-of-range throws.
void gather(Tensor data, Tensor indices, Tensor out, int64_t axis);
/// out dim i = in dim perm[i].
void transpose(Tensor in, Tensor out, Dims perm);
/// Concatenation of `count` inputs along axis (negative counts from the end).
void concatN(Tensor out, int64_t axis, const Tensor *inputs, int count);
/// bbrt::concat(out, axis, t0, t1, ...).
template <typename... Ts> void concat(Tensor out, int64_t axis, Ts... inputs) {
  static_assert(sizeof...(Ts) > 0, "concat needs at least one input");
  const Tensor ts[] = {Tensor(inputs)...};
  concatN(out, axis, ts, static_cast<int>(sizeof...(Ts)));
}
/// Strided slice (starts, strides per dim; out shape gives the counts).
/// Strides may be negative; a negative start counts from the end; every
/// element read must lie inside `in`.
void slice(Tensor in, Tensor out, Dims starts, Dims strides);
/// Broadcast `in` to out's shape.
void broadcastTo(Tensor in, Tensor out);
/// Keep upper (or lower) triangle of the last two dims relative to diagonal k
/// (upper: j - i >= k; lower: j - i <= k); `in` and `out` may be the same.
void trilu(Tensor in, Tensor out, bool upper, int64_t k);
/// Byte copy (used for reshape when source and destination differ).
void copy(Tensor in, Tensor out);

//===--- training ---------------------------------------------------------------===//

/// out = zeros; out[i..., indices[j...], k...] += updates[i..., j..., k...]
/// along `axis` (the gradient of gather). F32 updates/out.
void scatterAdd(Tensor indices, Tensor updates, Tensor out, int64_t axis);
/// Scalar mean over label positions != ignoreIndex of -log_softmax(logits)[label];
/// logits [..., C] F32, labels [...] I64 or I32, out a F32 scalar.
void crossEntropy(Tensor logits, Tensor labels, Tensor out, int64_t ignoreIndex);
/// (softmax(logits) - onehot(labels)) * grad / count; rows of ignored labels 0.
void crossEntropyGrad(Tensor logits, Tensor labels, Tensor grad, Tensor out,
                      int64_t ignoreIndex);

/// What the operands of attention's matrix products are rounded to before
/// they are multiplied, as matmul's reduced-precision forms round them (bf16
/// and f16 to nearest even, TF32 as the tensor cores do); the sums are f32
/// (bb.attention's `products`).
enum class Products : int32_t { F32, TF32, BF16, F16 };

/// Scaled dot-product attention (bb.attention): for every index of the
/// leading dims, which q [..., T, D], k [..., S, D] and v [..., S, E] share,
/// out [..., T, E] = softmax(scale q k^T) v, the softmax over the S keys
/// (max-subtracted, sums in double), and lse [..., T] the log of each
/// query's sum of exp(scores) (the max included). `bias` (F32, broadcast to
/// [..., T, S], or none()) is added to the scaled scores; `mask` (Bool,
/// broadcast likewise, or none()) removes a score where it is true; a query
/// with every key removed gets 0 and lse -inf. F32. No [T, S] tensor is stored:
/// the CPU runtime takes 64 queries at a time, and only the keys up to the
/// last one any of them keeps (a causal mask halves the work).
void attention(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor bias,
               Tensor out, Tensor lse, float scale,
               Products products = Products::F32);
/// Gradients of attention (bb.attention_grad) from its operands, its lse and
/// the output's gradient dout: dq, dk, dv of q's, k's and v's shapes, and
/// (unless none()) dbias, the scores' gradient [..., T, S] (a trained
/// bias's, before it is summed over its broadcast dims). The probabilities
/// are recomputed from the scores and lse.
void attentionGrad(Tensor q, Tensor k, Tensor v, Tensor lse, Tensor dout,
                   Tensor mask, Tensor bias, Tensor dq, Tensor dk, Tensor dv,
                   Tensor dbias, float scale, Products products = Products::F32);

/// Gradient of conv with respect to its input (a transposed convolution):
/// dx [N, C, D...] from dy [N, F, O...] and w [F, C/group, K...], with conv's
/// strides/pads/dilations/group; dx's shape gives the input size. Input
/// positions no window reads get 0. F32; GEMM per image and group, then
/// col2im (depthwise: direct loops).
void convInputGrad(Tensor dy, Tensor w, Tensor dx, Dims strides, Dims pads,
                   Dims dilations, int64_t group);
/// Gradient of conv with respect to its weight: dw [F, C/group, K...] from
/// x [N, C, D...] and dy [N, F, O...]. F32; im2col and GEMM per image, group
/// and block of output rows (depthwise: direct loops). For a fixed thread
/// count the result is deterministic.
void convWeightGrad(Tensor x, Tensor dy, Tensor dw, Dims strides, Dims pads,
                    Dims dilations, int64_t group);
/// Gradient of maxPool: dx = zeros, then each dy element is added at the
/// position of its window's maximum in x (the first on ties; positions in
/// the padding never win; a NaN does). dy's shape gives the output size
/// (ceil mode). F32.
void maxPoolGrad(Tensor x, Tensor dy, Tensor dx, Dims kernel, Dims strides,
                 Dims pads);
/// Gradient of avgPool: each dy element, divided by its window's divisor as
/// avgPool counts it, is added to every input position of the window; dx's
/// shape gives the input size. F32.
void avgPoolGrad(Tensor dy, Tensor dx, Dims kernel, Dims strides, Dims pads,
                 bool countIncludePad);
/// Gradient of slice (any dtype): dx = zeros, then the positions slice
/// reads (starts + i * strides per dim; strides may be negative) get dy.
void sliceGrad(Tensor dy, Tensor dx, Dims starts, Dims strides);

/// torch.optim.SGD (dampening 0), F32:
///   g = grad * gradScale[0] + weightDecay * param
///   buf = momentum * buf + g
///   param -= lr[0] * (nesterov ? g + momentum * buf : buf)
/// lr and gradScale are F32 scalars (gradScale: the gradient clipping
/// factor). paramOut may be param and bufOut may be buf (in-place update).
void sgdUpdate(Tensor param, Tensor grad, Tensor buf, Tensor lr,
               Tensor gradScale, Tensor paramOut, Tensor bufOut,
               float momentum, float weightDecay, bool nesterov);
/// torch.optim.AdamW, F32, t = step[0] (F32 scalar, 1-based):
///   g = grad * gradScale[0]
///   param *= 1 - lr * weightDecay
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g * g
///   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// The scalar factors are computed in double, as PyTorch does, then used in
/// float. paramOut, mOut, vOut may be param, m, v (in-place update).
void adamwUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor lr,
                 Tensor step, Tensor gradScale, Tensor paramOut, Tensor mOut,
                 Tensor vOut, float beta1, float beta2, float eps,
                 float weightDecay);

} // namespace bbrt

#endif // BBRT_BBRT_H
