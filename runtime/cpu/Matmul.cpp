//===- Matmul.cpp - batched matmul through BLAS ---------------------------===//
#include "bbrt/model.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/core/KernelArgs.h"
#include "runtime/core/TF32.h"

namespace bbrt {
namespace cpu {

/// Integer gemm with plain loops (wrapping arithmetic).
template <typename T>
void gemmInt(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T *A,
             int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc) {
  using U = typename std::make_unsigned<T>::type;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      U acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        T a = ta ? A[k * lda + m] : A[m * lda + k];
        T b = tb ? B[n * ldb + k] : B[k * ldb + n];
        acc = U(acc + U(a) * U(b));
      }
      C[m * ldc + n] = T(acc);
    }
}

/// `t`'s bf16 or f16 values widened into `buffer` by bbrt::convert
/// (exactly: every bf16 and f16 value is an f32 value), as an f32 tensor of
/// the same shape.
Tensor widened(const Tensor &t, std::vector<float> &buffer) {
  buffer.resize(static_cast<size_t>(t.numel()));
  Tensor w(buffer.data(), DType::F32, t.shape);
  convert(t, w);
  return w;
}

/// `t`'s f32 values rounded to TF32 into `buffer`, as an f32 tensor of the
/// same shape.
Tensor tf32Rounded(const Tensor &t, std::vector<float> &buffer) {
  const int64_t n = t.numel();
  buffer.resize(static_cast<size_t>(n));
  const float *in = static_cast<const float *>(t.data);
  float *r = buffer.data();
  parallelFor(n, n >= (1 << 16), [&](int64_t i) { r[i] = roundToTf32(in[i]); });
  return Tensor(r, DType::F32, t.shape);
}

} // namespace cpu

using namespace cpu;

namespace {
/// out = product (accumulate: out + product, the GEMM's beta = 1; linear
/// calls it so only with an f32 or f64 output, so float operands).
void product(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
             bool tf32, bool accumulate) {
  const char *k = "matmul";
  if (tf32) {
    // TF32 products (bb.matmul's tf32): the operands rounded as the tensor
    // cores read them, then the f32 product.
    if (a.dtype != DType::F32 || b.dtype != DType::F32 || out.dtype != DType::F32)
      fail("%s: tf32 needs f32 operands and output (a %s, b %s, out %s)", k,
           dtypeName(a.dtype), dtypeName(b.dtype), dtypeName(out.dtype));
    checkData(k, "a", a);
    checkData(k, "b", b);
    static thread_local std::vector<float> ra, rb;
    return product(tf32Rounded(a, ra), tf32Rounded(b, rb), out, transA, transB,
                   false, accumulate);
  }
  if ((a.dtype == DType::BF16 || a.dtype == DType::F16) &&
      b.dtype == a.dtype &&
      (out.dtype == DType::F32 || out.dtype == a.dtype)) {
    // bf16 or f16 operands (bb-mixed-precision): multiplied and summed in
    // f32 like a GPU's tensor-core GEMM, through the f32 BLAS (widening is
    // exact); a bf16 or f16 result is the f32 sum rounded to nearest even.
    checkData(k, "a", a);
    checkData(k, "b", b);
    checkData(k, "output", out);
    static thread_local std::vector<float> wa, wb, wout;
    Tensor fa = widened(a, wa), fb = widened(b, wb);
    if (out.dtype == DType::F32)
      return product(fa, fb, out, transA, transB, false, accumulate);
    wout.resize(static_cast<size_t>(out.numel()));
    Tensor sum(wout.data(), DType::F32, out.shape);
    matmul(fa, fb, sum, transA, transB);
    convert(sum, out); // rounded to nearest even
    return;
  }
  if (a.dtype != b.dtype || a.dtype != out.dtype)
    fail("%s: dtypes differ (a %s, b %s, out %s; bf16 or f16 operands may "
         "give an f32 output)",
         k, dtypeName(a.dtype), dtypeName(b.dtype), dtypeName(out.dtype));
  checkData(k, "a", a);
  checkData(k, "b", b);
  checkData(k, "output", out);
  const int ra = a.shape.rank, rb = b.shape.rank;
  if (ra < 1 || rb < 1)
    fail("%s: operands must have rank >= 1 (a %s, b %s)", k,
         formatDims(a.shape).c_str(), formatDims(b.shape).c_str());
  int64_t M, K, K2, N;
  if (ra == 1) {
    M = 1;
    K = a.shape.d[0];
    transA = false;
  } else {
    M = transA ? a.shape.d[ra - 1] : a.shape.d[ra - 2];
    K = transA ? a.shape.d[ra - 2] : a.shape.d[ra - 1];
  }
  if (rb == 1) {
    N = 1;
    K2 = b.shape.d[0];
    transB = false;
  } else {
    K2 = transB ? b.shape.d[rb - 1] : b.shape.d[rb - 2];
    N = transB ? b.shape.d[rb - 2] : b.shape.d[rb - 1];
  }
  auto shapes = [&]() {
    return strformat("a %s%s, b %s%s, out %s", formatDims(a.shape).c_str(),
                     transA ? " (transposed)" : "",
                     formatDims(b.shape).c_str(),
                     transB ? " (transposed)" : "",
                     formatDims(out.shape).c_str());
  };
  if (K != K2)
    fail("%s: inner dims differ (%s)", k, shapes().c_str());
  const int tail = (ra > 1) + (rb > 1);
  const int ob = out.shape.rank - tail;
  if (ob < 0 || (ra > 1 && out.shape.d[ob] != M) ||
      (rb > 1 && out.shape.d[out.shape.rank - 1] != N))
    fail("%s: output shape does not fit (%s)", k, shapes().c_str());
  // Batch dims: broadcast a[:-2] and b[:-2] against out[:ob].
  Dims outBatch(out.shape.d, ob);
  Dims aBatch(a.shape.d, std::max(ra - 2, 0));
  Dims bBatch(b.shape.d, std::max(rb - 2, 0));
  if (aBatch.rank > ob || bBatch.rank > ob)
    fail("%s: output has too few batch dims (%s)", k, shapes().c_str());
  int64_t ast[kMaxRank], bst[kMaxRank], obst[kMaxRank];
  {
    int64_t acst[kMaxRank], bcst[kMaxRank];
    contiguousStrides(aBatch, acst);
    contiguousStrides(bBatch, bcst);
    for (int j = 0; j < ob; ++j) {
      int ai = j - (ob - aBatch.rank), bi = j - (ob - bBatch.rank);
      int64_t od = outBatch.d[j];
      if (ai < 0 || aBatch.d[ai] == 1)
        ast[j] = 0;
      else if (aBatch.d[ai] == od)
        ast[j] = acst[ai];
      else
        fail("%s: batch dims do not broadcast (%s)", k, shapes().c_str());
      if (bi < 0 || bBatch.d[bi] == 1)
        bst[j] = 0;
      else if (bBatch.d[bi] == od)
        bst[j] = bcst[bi];
      else
        fail("%s: batch dims do not broadcast (%s)", k, shapes().c_str());
    }
    contiguousStrides(outBatch, obst);
  }
  const int64_t batch = outBatch.numel();
  if (batch == 0 || M == 0 || N == 0)
    return;
  const int64_t lda = (ra == 1) ? K : a.shape.d[ra - 1];
  const int64_t ldb = (rb == 1) ? 1 : b.shape.d[rb - 1];
  const int64_t aMat = M * K, bMat = K * N, oMat = M * N;
  if (K == 0) {
    if (!accumulate)
      std::memset(out.data, 0, static_cast<size_t>(out.nbytes()));
    return;
  }
  bool bShared = true, aDense = aBatch.numel() == batch;
  for (int j = 0; j < ob; ++j)
    if (bst[j] != 0)
      bShared = false;

  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *A = static_cast<const T *>(a.data);
    const T *B = static_cast<const T *>(b.data);
    T *C = static_cast<T *>(out.data);
    auto one = [&](int64_t i, int64_t m) {
      int64_t rem = i, ao = 0, bo = 0;
      for (int j = ob - 1; j >= 0; --j) {
        int64_t idx = rem % outBatch.d[j];
        rem /= outBatch.d[j];
        ao += idx * ast[j];
        bo += idx * bst[j];
      }
      const T *Ai = A + ao * aMat;
      const T *Bi = B + bo * bMat;
      T *Ci = C + i * oMat;
      if constexpr (std::is_floating_point<T>::value)
        gemm(transA, transB, m, N, K, Ai, lda, Bi, ldb, T(accumulate), Ci, N);
      else
        gemmInt(transA, transB, m, N, K, Ai, lda, Bi, ldb, Ci, N);
    };
    if (batch == 1) {
      one(0, M);
    } else if (bShared && aDense && !transA && ra > 1) {
      // One tall GEMM: [batch*M, K] x [K, N].
      if constexpr (std::is_floating_point<T>::value)
        gemm(false, transB, batch * M, N, K, A, lda, B, ldb, T(accumulate), C,
             N);
      else
        gemmInt(false, transB, batch * M, N, K, A, lda, B, ldb, C, N);
    } else if (M * N * K <= 262144 || !std::is_floating_point<T>::value) {
      // Small GEMMs: spread the batch over threads (each GEMM runs on one).
      parallelFor(batch, batch * M * N * K >= 65536,
                  [&](int64_t i) { one(i, M); });
    } else {
      for (int64_t i = 0; i < batch; ++i) // each GEMM splits across threads
        one(i, M);
    }
  };
  switch (a.dtype) {
  case DType::F32: return run(Tag<float>{});
  case DType::F64: return run(Tag<double>{});
  case DType::I32: return run(Tag<int32_t>{});
  case DType::I64: return run(Tag<int64_t>{});
  default: unsupported(k, a.dtype);
  }
}

} // namespace

void matmul(Tensor a, Tensor b, Tensor out, bool transA, bool transB,
            bool tf32) {
  product(a, b, out, transA, transB, tf32, false);
}

void linear(Tensor a, Tensor b, Tensor bias, Tensor out, bool transA,
            bool transB, bool tf32) {
  if (checkLinearBias(bias, out)) {
    // An addend: the GEMM adds the product into it (in place when it is
    // the output).
    copyOnDevice(out.data, bias.data, static_cast<size_t>(out.nbytes()));
    product(a, b, out, transA, transB, tf32, true);
    return;
  }
  matmul(a, b, out, transA, transB, tf32);
  binary(BinaryKind::Add, out, bias, out); // in place, the bias broadcast
}

} // namespace bbrt
