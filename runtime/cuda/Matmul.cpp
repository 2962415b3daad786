//===- Matmul.cpp - batched matmul through cuBLASLt -----------------------===//
//
// bbrt::matmul on the GPU. Row-major out[M, N] = op(a)[M, K] op(b)[K, N] is
// cuBLASLt's column-major out^T = op(b)^T op(a)^T, so `b` is cuBLASLt's
// first operand. Batch dims: a batch that only one operand has and the
// other broadcasts is folded into M (a row-major [B, M, K] lhs is a
// [B*M, K] matrix); equal batches run as one strided-batched call; any
// other broadcast runs one call per output matrix. F32 computes in full
// f32 (CUBLAS_COMPUTE_32F), F64 in f64; BF16 or F16 operands
// (bb-mixed-precision) run on the tensor cores with f32 sums
// (CUBLAS_COMPUTE_32F) into an F32 output or one of the operands' type.
// bbrt::linear adds its bias in cuBLASLt's bias epilogue
// (f32 outputs; where cuBLASLt has no such algorithm, or for f64, a
// broadcast add follows the product). Algorithms are chosen once per shape
// by cuBLASLt's heuristic and cached.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/Device.h"
#include "bbrt/bbrt.h"
#include "bbrt/model.h"
#include "runtime/core/KernelArgs.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <tuple>

namespace bbrt {
namespace cuda {
namespace {

struct GemmKey {
  cudaDataType_t type;    ///< of the operands
  cudaDataType_t outType; ///< of the output
  bool transA, transB; // of cuBLASLt's operands (b, a of bbrt::matmul)
  int64_t m, n, k, batch, strideA, strideB, strideC;
  bool bias; ///< with CUBLASLT_EPILOGUE_BIAS (bbrt::linear)
  /// f32 operands rounded inside cuBLASLt (CUBLAS_COMPUTE_32F_FAST_TF32,
  /// _16BF, _16F); F32: none.
  Products products;
  /// Bytes every matrix pointer of the calls is aligned to (a power of two,
  /// at most 256): cuBLASLt's heuristic otherwise assumes 256 and may pick
  /// an algorithm that fails on the 64-byte aligned arena buffers and the
  /// per-matrix offsets of a broadcast product.
  uint32_t align;
  bool operator<(const GemmKey &o) const {
    return std::tie(type, outType, transA, transB, m, n, k, batch, strideA,
                    strideB, strideC, bias, products, align) <
           std::tie(o.type, o.outType, o.transA, o.transB, o.m, o.n, o.k,
                    o.batch, o.strideA, o.strideB, o.strideC, o.bias,
                    o.products, o.align);
  }
};

struct Gemm {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
};

cublasLtMatrixLayout_t layout(cudaDataType_t type, int64_t rows, int64_t cols,
                              int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l;
  checkBlas(cublasLtMatrixLayoutCreate(&l, type, rows, cols, rows),
            "cublasLtMatrixLayoutCreate");
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    checkBlas(cublasLtMatrixLayoutSetAttribute(
                  l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count),
              "batch count");
    checkBlas(cublasLtMatrixLayoutSetAttribute(
                  l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                  sizeof stride),
              "batch stride");
  }
  return l;
}

/// The cached plan of a GEMM; null when cuBLASLt has no algorithm for a
/// bias epilogue there (without one, that is an error).
const Gemm *gemmFor(const GemmKey &key) {
  static std::map<GemmKey, Gemm> cache;
  static std::map<GemmKey, bool> noBiasEpilogue;
  auto it = cache.find(key);
  if (it != cache.end())
    return &it->second;
  if (noBiasEpilogue.count(key))
    return nullptr;
  Gemm g;
  const bool f64 = key.type == CUDA_R_64F;
  // Scale factors (alpha, beta) in the compute type: f64, or f32 for f32
  // (TF32 too), bf16 and f16 operands.
  const cublasComputeType_t compute =
      f64                                  ? CUBLAS_COMPUTE_64F
      : key.products == Products::TF32     ? CUBLAS_COMPUTE_32F_FAST_TF32
      : key.products == Products::BF16     ? CUBLAS_COMPUTE_32F_FAST_16BF
      : key.products == Products::F16      ? CUBLAS_COMPUTE_32F_FAST_16F
                                           : CUBLAS_COMPUTE_32F;
  checkBlas(cublasLtMatmulDescCreate(&g.desc, compute,
                                     f64 ? CUDA_R_64F : CUDA_R_32F),
            "cublasLtMatmulDescCreate");
  cublasOperation_t ta = key.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = key.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  checkBlas(cublasLtMatmulDescSetAttribute(g.desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                           &ta, sizeof ta),
            "transa");
  checkBlas(cublasLtMatmulDescSetAttribute(g.desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                           &tb, sizeof tb),
            "transb");
  if (key.bias) {
    // The bias (one value per row of cuBLASLt's column-major output, which
    // is one per column of ours) is added before the output is written;
    // its pointer is set per call. The same bias for every matrix of a
    // batch (stride 0).
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    checkBlas(cublasLtMatmulDescSetAttribute(
                  g.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue),
              "bias epilogue");
    cudaDataType_t biasType = key.outType;
    checkBlas(cublasLtMatmulDescSetAttribute(
                  g.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &biasType,
                  sizeof biasType),
              "bias type");
  }
  // Stored shapes (column-major): op(A) is m x k, op(B) is k x n.
  g.a = key.transA ? layout(key.type, key.k, key.m, key.batch, key.strideA)
                   : layout(key.type, key.m, key.k, key.batch, key.strideA);
  g.b = key.transB ? layout(key.type, key.n, key.k, key.batch, key.strideB)
                   : layout(key.type, key.k, key.n, key.batch, key.strideB);
  g.c = layout(key.outType, key.m, key.n, key.batch, key.strideC);
  cublasLtMatmulPreference_t pref;
  checkBlas(cublasLtMatmulPreferenceCreate(&pref), "matmul preference");
  size_t ws = blasWorkspaceSize();
  checkBlas(cublasLtMatmulPreferenceSetAttribute(
                pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
            "workspace size");
  for (cublasLtMatmulPreferenceAttributes_t a :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, a, &key.align,
                                                   sizeof key.align),
              "pointer alignment");
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  checkBlas(cublasLtMatmulAlgoGetHeuristic(blasLt(), g.desc, g.a, g.b, g.c,
                                           g.c, pref, 1, &result, &found),
            "cublasLtMatmulAlgoGetHeuristic");
  cublasLtMatmulPreferenceDestroy(pref);
  if (found == 0 && key.bias) {
    cublasLtMatmulDescDestroy(g.desc);
    cublasLtMatrixLayoutDestroy(g.a);
    cublasLtMatrixLayoutDestroy(g.b);
    cublasLtMatrixLayoutDestroy(g.c);
    noBiasEpilogue[key] = true;
    return nullptr;
  }
  if (found == 0)
    fail("matmul: cuBLASLt has no algorithm for %lldx%lldx%lld (batch %lld)",
         (long long)key.m, (long long)key.n, (long long)key.k,
         (long long)key.batch);
  g.algo = result.algo;
  return &cache.emplace(key, g).first->second;
}

/// The largest power of two, at most 256, dividing every one of `values`
/// (addresses and byte offsets).
uint32_t alignmentOf(std::initializer_list<uint64_t> values) {
  uint64_t align = 256;
  for (uint64_t v : values)
    if (v != 0)
      align = std::min<uint64_t>(align, v & (~v + 1)); // the lowest set bit
  return static_cast<uint32_t>(align);
}

uint64_t address(const void *p) { return reinterpret_cast<uintptr_t>(p); }

/// Column-major C (m x n) = op(A) op(B) (+ bias[row] when `bias`), `batch`
/// times with the strides, every pointer aligned to `align` bytes. The plan
/// must exist (gemmFor probed it).
void gemm(cudaDataType_t type, cudaDataType_t outType, bool transA,
          bool transB, int64_t m, int64_t n, int64_t k, const void *A,
          const void *B, void *C, int64_t batch, int64_t strideA,
          int64_t strideB, int64_t strideC, const void *bias,
          Products products, uint32_t align, bool accumulate) {
  const Gemm &g = *gemmFor({type, outType, transA, transB, m, n, k, batch,
                            strideA, strideB, strideC, bias != nullptr,
                            products, align});
  if (bias)
    checkBlas(cublasLtMatmulDescSetAttribute(
                  g.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
              "bias pointer");
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = type == CUDA_R_64F;
  const void *alpha = f64 ? static_cast<const void *>(&one64) : &one32;
  // beta = 1 adds the product into C (which is D: in place).
  const void *beta = f64 ? static_cast<const void *>(accumulate ? &one64 : &zero64)
                         : (accumulate ? &one32 : &zero32);
  checkBlas(cublasLtMatmul(blasLt(), g.desc, alpha, A, g.a, B, g.b, beta, C,
                           g.c, C, g.c, &g.algo, blasWorkspace(),
                           blasWorkspaceSize(), stream()),
            "cublasLtMatmul");
}

/// bbrt::matmul, with `bias` (bbrt::linear) added in the epilogue, or
/// (accumulate) added into `out` (beta = 1). Returns false, having launched
/// nothing, when cuBLASLt has no bias epilogue for these shapes.
bool product(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
             const void *bias, Products products, bool accumulate = false) {
  if (products != Products::F32 &&
      (a.dtype != DType::F32 || b.dtype != DType::F32 || out.dtype != DType::F32))
    fail("matmul: tf32 (or rounded) products need f32 operands and output "
         "(%s, %s, output %s)",
         dtypeName(a.dtype), dtypeName(b.dtype), dtypeName(out.dtype));
  // 16-bit operands (bf16 or f16) of one type, summed in f32.
  const bool half = (a.dtype == DType::BF16 || a.dtype == DType::F16) &&
                    b.dtype == a.dtype &&
                    (out.dtype == DType::F32 || out.dtype == a.dtype);
  if (!half && (a.dtype != b.dtype || a.dtype != out.dtype))
    fail("matmul: dtypes differ (%s, %s, output %s; bf16 or f16 operands may "
         "give an f32 output)",
         dtypeName(a.dtype), dtypeName(b.dtype), dtypeName(out.dtype));
  if (!half && a.dtype != DType::F32 && a.dtype != DType::F64)
    fail("matmul: dtype %s is not supported by the CUDA runtime (f32, f64, "
         "bf16, f16)",
         dtypeName(a.dtype));
  if (a.shape.rank < 1 || b.shape.rank < 1)
    fail("matmul: operands must have rank >= 1");
  auto cudaType = [](DType d) {
    return d == DType::F64    ? CUDA_R_64F
           : d == DType::BF16 ? CUDA_R_16BF
           : d == DType::F16  ? CUDA_R_16F
                              : CUDA_R_32F;
  };
  const cudaDataType_t type = cudaType(a.dtype), outType = cudaType(out.dtype);
  // Matrix dims (a rank-1 operand is one row of a, one column of b).
  const int ra = a.shape.rank, rb = b.shape.rank;
  const int64_t M = ra == 1 ? 1 : a.shape.d[transA ? ra - 1 : ra - 2];
  const int64_t K = a.shape.d[ra == 1 ? 0 : (transA ? ra - 2 : ra - 1)];
  const int64_t Kb = rb == 1 ? b.shape.d[0] : b.shape.d[transB ? rb - 1 : rb - 2];
  const int64_t N = rb == 1 ? 1 : b.shape.d[transB ? rb - 2 : rb - 1];
  if (K != Kb)
    fail("matmul: inner dims differ: %s%s x %s%s",
         formatDims(a.shape).c_str(), transA ? "^T" : "",
         formatDims(b.shape).c_str(), transB ? "^T" : "");
  // Batch dims: a's, b's and out's, right-aligned.
  Dims ab, bb, ob;
  ab.rank = ra > 2 ? ra - 2 : 0;
  bb.rank = rb > 2 ? rb - 2 : 0;
  for (int i = 0; i < ab.rank; ++i)
    ab.d[i] = a.shape.d[i];
  for (int i = 0; i < bb.rank; ++i)
    bb.d[i] = b.shape.d[i];
  ob.rank = std::max(ab.rank, bb.rank);
  for (int i = 0; i < ob.rank; ++i) {
    const int ia = i - (ob.rank - ab.rank), ib = i - (ob.rank - bb.rank);
    const int64_t da = ia >= 0 ? ab.d[ia] : 1, db = ib >= 0 ? bb.d[ib] : 1;
    if (da != db && da != 1 && db != 1)
      fail("matmul: batch dims of %s and %s do not broadcast",
           formatDims(a.shape).c_str(), formatDims(b.shape).c_str());
    ob.d[i] = std::max(da, db);
  }
  const int64_t batch = ob.numel(), na = ab.numel(), nb = bb.numel();
  if (out.numel() != batch * M * N)
    fail("matmul: output %s does not hold %lld x %lld x %lld",
         formatDims(out.shape).c_str(), (long long)batch, (long long)M,
         (long long)N);
  if (out.numel() == 0)
    return true;
  if (K == 0) {
    if (bias)
      return false; // the sum is the bias alone: the caller's add
    if (accumulate)
      return true; // nothing to add
    cuda::check(cudaMemsetAsync(out.data, 0, out.nbytes(), stream()),
                "matmul");
    return true;
  }
  const int64_t es = dtypeSize(a.dtype), os = dtypeSize(out.dtype);
  const bool folded = nb == 1 && !transA,
             strided = !folded && na == batch && nb == batch;
  // What every matrix of the calls below is aligned to: the base pointers,
  // and for more than one matrix their offsets.
  const uint32_t align =
      folded ? alignmentOf({address(a.data), address(b.data), address(out.data)})
             : alignmentOf({address(a.data), address(b.data), address(out.data),
                            uint64_t(K * N * es), uint64_t(M * K * es),
                            uint64_t(M * N * os)});
  if (bias) {
    // cuBLASLt's bias epilogue wants a 16-byte aligned bias; else the
    // caller adds it.
    if (address(bias) % 16 != 0)
      return false;
    // Every call below has this plan: is there a bias epilogue for it?
    GemmKey key = folded ? GemmKey{type, outType, transB, false, N, batch * M,
                                   K, 1, 0, 0, 0, true, products, align}
                 : strided ? GemmKey{type, outType, transB, transA, N, M, K,
                                     batch, K * N, M * K, M * N, true, products,
                                     align}
                           : GemmKey{type, outType, transB, transA, N, M, K,
                                     1, 0, 0, 0, true, products, align};
    if (!gemmFor(key))
      return false;
  }
  // cuBLASLt's A is b: column-major N x K (op N) or K x N stored (op T).
  if (folded) {
    // Every output matrix uses the one b; a's batch folds into M.
    gemm(type, outType, transB, false, N, batch * M, K, b.data, a.data,
         out.data, 1, 0, 0, 0, bias, products, align, accumulate);
  } else if (strided) {
    gemm(type, outType, transB, transA, N, M, K, b.data, a.data, out.data,
         batch, K * N, M * K, M * N, bias, products, align, accumulate);
  } else {
    // General broadcast: one call per output matrix.
    for (int64_t i = 0; i < batch; ++i) {
      int64_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int d = ob.rank - 1; d >= 0; --d) {
        const int64_t c = rem % ob.d[d];
        rem /= ob.d[d];
        const int da = d - (ob.rank - ab.rank), db = d - (ob.rank - bb.rank);
        if (da >= 0) {
          ia += (ab.d[da] == 1 ? 0 : c) * sa;
          sa *= ab.d[da];
        }
        if (db >= 0) {
          ib += (bb.d[db] == 1 ? 0 : c) * sb;
          sb *= bb.d[db];
        }
      }
      gemm(type, outType, transB, transA, N, M, K,
           static_cast<const char *>(b.data) + ib * K * N * es,
           static_cast<const char *>(a.data) + ia * M * K * es,
           static_cast<char *>(out.data) + i * M * N * os, 1, 0, 0, 0, bias,
           products, align, accumulate);
    }
  }
  checkLaunch(bias ? "linear" : "matmul");
  return true;
}

Products tf32Products(bool tf32) { return tf32 ? Products::TF32 : Products::F32; }

} // namespace

void matmulRounded(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
                   Products products) {
  product(a, b, out, transA, transB, nullptr, products);
}

} // namespace cuda

void matmul(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
            bool tf32) {
  cuda::product(a, b, out, transA, transB, nullptr, cuda::tf32Products(tf32));
}

void linear(Tensor a, Tensor b, Tensor bias, Tensor out, bool transA,
            bool transB, bool tf32) {
  if (checkLinearBias(bias, out)) {
    // An addend: the GEMM adds the product into it (beta = 1, C = D), in
    // place when it is the output.
    copyOnDevice(out.data, bias.data, static_cast<size_t>(out.nbytes()));
    cuda::product(a, b, out, transA, transB, nullptr,
                  cuda::tf32Products(tf32), true);
    return;
  }
  // f32 outputs: the bias in cuBLASLt's epilogue where it has one.
  if (out.dtype == DType::F32 &&
      cuda::product(a, b, out, transA, transB, bias.data,
                    cuda::tf32Products(tf32)))
    return;
  matmul(a, b, out, transA, transB, tf32);
  binary(BinaryKind::Add, out, bias, out);
}

} // namespace bbrt
