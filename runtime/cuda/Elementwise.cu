//===- Elementwise.cu - unary, binary, select, convert, broadcast ---------===//
//
// The CUDA versions of bbrt.h's elementwise kernels, with the CPU runtime's
// semantics (runtime/cpu/Elementwise.cpp): same dtypes, NaN handling of
// Max/Min, integer division by zero giving 0, Round half to even.
//
//===----------------------------------------------------------------------===//
#include "runtime/core/IntMath.h"
#include "runtime/cuda/Common.cuh"

#include <limits>
#include <type_traits>

namespace bbrt {
namespace cuda {
namespace {

//===--- unary ------------------------------------------------------------===//

template <typename T>
__device__ T unaryFloat(UnaryKind k, T v, float alpha, float beta) {
  switch (k) {
  case UnaryKind::Neg: return -v;
  case UnaryKind::Abs: return fabs(v);
  case UnaryKind::Sqrt: return sqrt(v);
  case UnaryKind::Exp: return exp(v);
  case UnaryKind::Log: return log(v);
  case UnaryKind::Erf: return erf(v);
  case UnaryKind::Tanh: return tanh(v);
  case UnaryKind::Sigmoid:
    return v >= T(0) ? T(1) / (T(1) + exp(-v)) : exp(v) / (T(1) + exp(v));
  case UnaryKind::Relu: return v > T(0) ? v : T(0);
  case UnaryKind::HardSigmoid: {
    T h = T(alpha) * v + T(beta);
    return h < T(0) ? T(0) : (h > T(1) ? T(1) : h);
  }
  case UnaryKind::HardSwish: {
    T h = v / T(6) + T(0.5);
    return v * (h < T(0) ? T(0) : (h > T(1) ? T(1) : h));
  }
  case UnaryKind::Gelu:
    return T(0.5) * v * (T(1) + erf(v * T(0.70710678118654752440)));
  case UnaryKind::GeluTanh: {
    const T c = T(0.79788456080286535588); // sqrt(2/pi)
    return T(0.5) * v * (T(1) + tanh(c * (v + T(0.044715) * v * v * v)));
  }
  case UnaryKind::Reciprocal: return T(1) / v;
  case UnaryKind::Floor: return floor(v);
  case UnaryKind::Ceil: return ceil(v);
  case UnaryKind::Round: return rint(v); // half to even
  case UnaryKind::Sign: return v > T(0) ? T(1) : (v < T(0) ? T(-1) : v);
  case UnaryKind::Sin: return sin(v);
  case UnaryKind::Cos: return cos(v);
  case UnaryKind::LeakyRelu: return v < T(0) ? T(alpha) * v : v;
  case UnaryKind::Clip: return v < T(alpha) ? T(alpha) : (v > T(beta) ? T(beta) : v);
  case UnaryKind::Softplus: return v > T(20) ? v : log1p(exp(v));
  default: return v;
  }
}

template <typename T>
__global__ void unaryFloatKernel(UnaryKind k, const T *x, T *y, int64_t n,
                                 float alpha, float beta) {
  BBRT_GRID_LOOP(i, n) y[i] = unaryFloat(k, x[i], alpha, beta);
}

template <typename T>
__global__ void unaryIntKernel(UnaryKind k, const T *x, T *y, int64_t n, T lo,
                               T hi) {
  using U = typename std::make_unsigned<T>::type;
  BBRT_GRID_LOOP(i, n) {
    const T v = x[i];
    switch (k) {
    case UnaryKind::Neg: y[i] = T(U(0) - U(v)); break;
    case UnaryKind::Abs: y[i] = v < 0 ? T(U(0) - U(v)) : v; break;
    case UnaryKind::Sign: y[i] = T((v > 0) - (v < 0)); break;
    case UnaryKind::Relu: y[i] = v > 0 ? v : T(0); break;
    case UnaryKind::Clip:
      y[i] = v < lo ? lo : (v > hi ? hi : v);
      break;
    default: y[i] = v;
    }
  }
}

__global__ void notKernel(const uint8_t *x, uint8_t *y, int64_t n) {
  BBRT_GRID_LOOP(i, n) y[i] = x[i] ? 0 : 1;
}

const char *unaryName(UnaryKind k) {
  static const char *const names[] = {
      "Neg",   "Abs",       "Sqrt",       "Exp",     "Log",      "Erf",
      "Tanh",  "Sigmoid",   "Relu",       "HardSigmoid", "HardSwish",
      "Gelu",  "GeluTanh",  "Reciprocal", "Floor",   "Ceil",     "Round",
      "Sign",  "Sin",       "Cos",        "Not",     "LeakyRelu", "Clip",
      "Softplus"};
  const int i = static_cast<int>(k);
  return i >= 0 && i < int(sizeof names / sizeof *names) ? names[i] : "?";
}

template <typename T>
void launchUnaryInt(UnaryKind k, const Tensor &in, const Tensor &out,
                    float alpha, float beta) {
  if (k != UnaryKind::Neg && k != UnaryKind::Abs && k != UnaryKind::Sign &&
      k != UnaryKind::Relu && k != UnaryKind::Clip)
    fail("unary %s: unsupported dtype %s", unaryName(k), dtypeName(in.dtype));
  const int64_t n = in.numel();
  T lo = 0, hi = 0;
  intClipBounds(alpha, beta, lo, hi);
  unaryIntKernel<T><<<blocksFor(n), kThreads, 0, stream()>>>(
      k, static_cast<const T *>(in.data), static_cast<T *>(out.data), n, lo, hi);
}

//===--- binary -----------------------------------------------------------===//

bool isCompare(BinaryKind k) {
  return k >= BinaryKind::Eq && k <= BinaryKind::Ge;
}

template <typename T> __device__ T arith(BinaryKind k, T x, T y) {
  if constexpr (std::is_floating_point<T>::value) {
    switch (k) {
    case BinaryKind::Add: return x + y;
    case BinaryKind::Sub: return x - y;
    case BinaryKind::Mul: return x * y;
    case BinaryKind::Div: return x / y;
    case BinaryKind::Pow: // the CPU runtime's shortcuts for these exponents
      return y == T(2)     ? x * x
             : y == T(3)   ? x * x * x
             : y == T(1)   ? x
             : y == T(0.5) ? sqrt(x)
                           : pow(x, y);
    case BinaryKind::Max: return x < y || isnan(y) ? y : x;
    case BinaryKind::Min: return y < x || isnan(y) ? y : x;
    case BinaryKind::Mod: return fmod(x, y);
    default: return x;
    }
  } else {
    using U = typename std::make_unsigned<T>::type;
    switch (k) {
    case BinaryKind::Add: return T(U(x) + U(y));
    case BinaryKind::Sub: return T(U(x) - U(y));
    case BinaryKind::Mul: return T(U(x) * U(y));
    case BinaryKind::Div: return intDiv(x, y);
    case BinaryKind::Pow: return intPow(x, y);
    case BinaryKind::Max: return x < y ? y : x;
    case BinaryKind::Min: return y < x ? y : x;
    case BinaryKind::Mod: return intMod(x, y);
    default: return x;
    }
  }
}

template <typename T> __device__ uint8_t compare(BinaryKind k, T x, T y) {
  switch (k) {
  case BinaryKind::Eq: return x == y;
  case BinaryKind::Ne: return x != y;
  case BinaryKind::Lt: return x < y;
  case BinaryKind::Le: return x <= y;
  case BinaryKind::Gt: return x > y;
  default: return x >= y;
  }
}

template <typename T, bool Same>
__global__ void arithKernel(BinaryKind k, const T *a, const T *b, T *o,
                            int64_t n, Indexer ix) {
  BBRT_GRID_LOOP(i, n) {
    const int64_t ia = Same ? i : ix.offset(0, i);
    const int64_t ib = Same ? i : ix.offset(1, i);
    o[i] = arith(k, a[ia], b[ib]);
  }
}

template <typename T, bool Same>
__global__ void compareKernel(BinaryKind k, const T *a, const T *b,
                              uint8_t *o, int64_t n, Indexer ix) {
  BBRT_GRID_LOOP(i, n) {
    const int64_t ia = Same ? i : ix.offset(0, i);
    const int64_t ib = Same ? i : ix.offset(1, i);
    o[i] = compare(k, a[ia], b[ib]);
  }
}

template <bool Same>
__global__ void logicKernel(BinaryKind k, const uint8_t *a, const uint8_t *b,
                            uint8_t *o, int64_t n, Indexer ix) {
  BBRT_GRID_LOOP(i, n) {
    const bool x = a[Same ? i : ix.offset(0, i)] != 0;
    const bool y = b[Same ? i : ix.offset(1, i)] != 0;
    o[i] = k == BinaryKind::And ? (x && y) : k == BinaryKind::Or ? (x || y)
                                                                 : (x != y);
  }
}

template <typename T>
void launchBinary(BinaryKind k, const Tensor &a, const Tensor &b,
                  const Tensor &out, const Indexer &ix, bool same) {
  const int64_t n = out.numel();
  const T *pa = static_cast<const T *>(a.data);
  const T *pb = static_cast<const T *>(b.data);
  if (isCompare(k)) {
    uint8_t *o = static_cast<uint8_t *>(out.data);
    if (same)
      compareKernel<T, true><<<blocksFor(n), kThreads, 0, stream()>>>(k, pa, pb, o, n, ix);
    else
      compareKernel<T, false><<<blocksFor(n), kThreads, 0, stream()>>>(k, pa, pb, o, n, ix);
    return;
  }
  T *o = static_cast<T *>(out.data);
  if (same)
    arithKernel<T, true><<<blocksFor(n), kThreads, 0, stream()>>>(k, pa, pb, o, n, ix);
  else
    arithKernel<T, false><<<blocksFor(n), kThreads, 0, stream()>>>(k, pa, pb, o, n, ix);
}

//===--- select, convert, broadcast, trilu --------------------------------===//

template <typename W>
__global__ void selectKernel(const uint8_t *c, const W *t, const W *f, W *o,
                             int64_t n, Indexer ix) {
  BBRT_GRID_LOOP(i, n) {
    o[i] = c[ix.offset(0, i)] ? t[ix.offset(1, i)] : f[ix.offset(2, i)];
  }
}

template <typename W>
__global__ void broadcastKernel(const W *in, W *out, int64_t n, Indexer ix) {
  BBRT_GRID_LOOP(i, n) out[i] = in[ix.offset(0, i)];
}

template <typename W>
__global__ void triluKernel(const W *in, W *out, int64_t n, int64_t rows,
                            int64_t cols, bool upper, int64_t k) {
  BBRT_GRID_LOOP(i, n) {
    const int64_t j = i % cols, r = (i / cols) % rows;
    const bool keep = upper ? j - r >= k : j - r <= k;
    out[i] = keep ? in[i] : W(0);
  }
}

// convert: load any dtype as double (integers as int64 where they do not fit
// a double exactly), store with the CPU runtime's rules.
template <typename T> __device__ double loadAsDouble(const T *p, int64_t i) {
  return double(p[i]);
}
template <> __device__ double loadAsDouble(const __half *p, int64_t i) {
  return double(__half2float(p[i]));
}
template <> __device__ double loadAsDouble(const __nv_bfloat16 *p, int64_t i) {
  return double(__bfloat162float(p[i]));
}

template <typename O> __device__ O storeFromDouble(double v) {
  if constexpr (std::is_same<O, bool>::value) {
    return v != 0;
  } else if constexpr (std::is_floating_point<O>::value) {
    return O(v);
  } else {
    // Truncate toward zero, saturate, NaN -> 0.
    if (isnan(v))
      return O(0);
    const double lo = double(std::numeric_limits<O>::lowest());
    const double hi = double(std::numeric_limits<O>::max());
    if (v <= lo)
      return std::numeric_limits<O>::lowest();
    if (v >= hi)
      return std::numeric_limits<O>::max();
    return O(trunc(v));
  }
}

template <typename I, typename O>
__global__ void convertKernel(const I *in, O *out, int64_t n) {
  BBRT_GRID_LOOP(i, n) {
    if constexpr (std::is_integral<I>::value && std::is_integral<O>::value &&
                  !std::is_same<O, bool>::value) {
      out[i] = O(in[i]); // two's complement wrap, as static_cast
    } else if constexpr (std::is_integral<I>::value &&
                         std::is_same<O, bool>::value) {
      out[i] = in[i] != 0;
    } else if constexpr (std::is_integral<I>::value &&
                         std::is_same<O, float>::value) {
      // One rounding, as the CPU runtime's static_cast: through a double,
      // an int64 above 2^53 would round twice.
      out[i] = float(in[i]);
    } else if constexpr (std::is_integral<I>::value &&
                         (std::is_same<O, __half>::value ||
                          std::is_same<O, __nv_bfloat16>::value)) {
      // As the CPU runtime: to float, then to the 16-bit type.
      if constexpr (std::is_same<O, __half>::value)
        out[i] = __float2half(float(in[i]));
      else
        out[i] = __float2bfloat16(float(in[i]));
    } else if constexpr (std::is_same<O, __half>::value) {
      out[i] = __float2half(float(loadAsDouble(in, i)));
    } else if constexpr (std::is_same<O, __nv_bfloat16>::value) {
      out[i] = __float2bfloat16(float(loadAsDouble(in, i)));
    } else {
      out[i] = storeFromDouble<O>(loadAsDouble(in, i));
    }
  }
}

template <typename F> void byDType(DType t, const char *what, F &&f) {
  switch (t) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  case DType::F16: return f(__half{});
  case DType::BF16: return f(__nv_bfloat16{});
  case DType::I8: return f(int8_t{});
  case DType::I16: return f(int16_t{});
  case DType::I32: return f(int32_t{});
  case DType::I64: return f(int64_t{});
  case DType::U8: return f(uint8_t{});
  case DType::Bool: return f(bool{});
  }
  fail("%s: unknown dtype", what);
}

} // namespace
} // namespace cuda

using namespace cuda;

void unary(UnaryKind kind, Tensor in, Tensor out, float alpha, float beta) {
  const char *what = "unary";
  checkData(what, "input", in);
  checkData(what, "output", out);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    fail("unary %s: input %s %s and output %s %s differ", unaryName(kind),
         dtypeName(in.dtype), formatDims(in.shape).c_str(),
         dtypeName(out.dtype), formatDims(out.shape).c_str());
  if ((kind == UnaryKind::Not) != (in.dtype == DType::Bool))
    fail("unary %s: unsupported dtype %s", unaryName(kind), dtypeName(in.dtype));
  const int64_t n = in.numel();
  if (n == 0)
    return;
  switch (in.dtype) {
  case DType::F32:
    unaryFloatKernel<float><<<blocksFor(n), kThreads, 0, stream()>>>(
        kind, static_cast<const float *>(in.data), static_cast<float *>(out.data),
        n, alpha, beta);
    break;
  case DType::F64:
    unaryFloatKernel<double><<<blocksFor(n), kThreads, 0, stream()>>>(
        kind, static_cast<const double *>(in.data),
        static_cast<double *>(out.data), n, alpha, beta);
    break;
  case DType::I8: launchUnaryInt<int8_t>(kind, in, out, alpha, beta); break;
  case DType::I16: launchUnaryInt<int16_t>(kind, in, out, alpha, beta); break;
  case DType::I32: launchUnaryInt<int32_t>(kind, in, out, alpha, beta); break;
  case DType::I64: launchUnaryInt<int64_t>(kind, in, out, alpha, beta); break;
  case DType::Bool:
    notKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const uint8_t *>(in.data), static_cast<uint8_t *>(out.data), n);
    break;
  default:
    fail("unary %s: unsupported dtype %s", unaryName(kind), dtypeName(in.dtype));
  }
  checkLaunch("unary");
}

void binary(BinaryKind kind, Tensor a, Tensor b, Tensor out) {
  const char *what = "binary";
  if (a.dtype != b.dtype)
    fail("binary: operand dtypes differ (%s and %s)", dtypeName(a.dtype),
         dtypeName(b.dtype));
  checkDType(what, "output", out, isCompare(kind) ? DType::Bool : a.dtype);
  checkData(what, "a", a);
  checkData(what, "b", b);
  checkData(what, "output", out);
  const Dims ops[2] = {a.shape, b.shape};
  const char *const names[2] = {"a", "b"};
  const Indexer ix = broadcastIndexer(what, out.shape, ops, names, 2);
  const bool same = sameShapes(out.shape, ops, 2);
  if (out.numel() == 0)
    return;
  const bool logic = kind == BinaryKind::And || kind == BinaryKind::Or ||
                     kind == BinaryKind::Xor;
  if (logic != (a.dtype == DType::Bool) && !isCompare(kind))
    fail("binary: unsupported dtype %s for this operation", dtypeName(a.dtype));
  switch (a.dtype) {
  case DType::F32: launchBinary<float>(kind, a, b, out, ix, same); break;
  case DType::F64: launchBinary<double>(kind, a, b, out, ix, same); break;
  case DType::I8: launchBinary<int8_t>(kind, a, b, out, ix, same); break;
  case DType::U8: launchBinary<uint8_t>(kind, a, b, out, ix, same); break;
  case DType::I16: launchBinary<int16_t>(kind, a, b, out, ix, same); break;
  case DType::I32: launchBinary<int32_t>(kind, a, b, out, ix, same); break;
  case DType::I64: launchBinary<int64_t>(kind, a, b, out, ix, same); break;
  case DType::Bool: {
    const int64_t n = out.numel();
    const uint8_t *pa = static_cast<const uint8_t *>(a.data);
    const uint8_t *pb = static_cast<const uint8_t *>(b.data);
    uint8_t *o = static_cast<uint8_t *>(out.data);
    if (isCompare(kind))
      launchBinary<uint8_t>(kind, a, b, out, ix, same);
    else if (same)
      logicKernel<true><<<blocksFor(n), kThreads, 0, stream()>>>(kind, pa, pb, o, n, ix);
    else
      logicKernel<false><<<blocksFor(n), kThreads, 0, stream()>>>(kind, pa, pb, o, n, ix);
    break;
  }
  default:
    fail("binary: unsupported dtype %s", dtypeName(a.dtype));
  }
  checkLaunch("binary");
}

void select(Tensor cond, Tensor t, Tensor f, Tensor out) {
  const char *what = "select";
  checkDType(what, "condition", cond, DType::Bool);
  if (t.dtype != f.dtype || t.dtype != out.dtype)
    fail("select: dtypes differ (%s, %s, output %s)", dtypeName(t.dtype),
         dtypeName(f.dtype), dtypeName(out.dtype));
  const Dims ops[3] = {cond.shape, t.shape, f.shape};
  const char *const names[3] = {"condition", "true values", "false values"};
  const Indexer ix = broadcastIndexer(what, out.shape, ops, names, 3);
  const int64_t n = out.numel();
  if (n == 0)
    return;
  byWord(dtypeSize(out.dtype), what, [&](auto w) {
    using W = decltype(w);
    selectKernel<W><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const uint8_t *>(cond.data), static_cast<const W *>(t.data),
        static_cast<const W *>(f.data), static_cast<W *>(out.data), n, ix);
  });
  checkLaunch(what);
}

void convert(Tensor in, Tensor out) {
  if (in.numel() != out.numel())
    fail("convert: input %s and output %s differ in size",
         formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  const int64_t n = in.numel();
  if (n == 0)
    return;
  if (in.dtype == out.dtype) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
    return;
  }
  byDType(in.dtype, "convert", [&](auto i) {
    using I = decltype(i);
    byDType(out.dtype, "convert", [&](auto o) {
      using O = decltype(o);
      convertKernel<I, O><<<blocksFor(n), kThreads, 0, stream()>>>(
          static_cast<const I *>(in.data), static_cast<O *>(out.data), n);
    });
  });
  checkLaunch("convert");
}

void broadcastTo(Tensor in, Tensor out) {
  const char *what = "broadcastTo";
  if (in.dtype != out.dtype)
    fail("broadcastTo: input is %s, output %s", dtypeName(in.dtype),
         dtypeName(out.dtype));
  const char *const names[1] = {"input"};
  const Indexer ix = broadcastIndexer(what, out.shape, &in.shape, names, 1);
  const int64_t n = out.numel();
  if (n == 0)
    return;
  if (in.numel() == n) {
    copyOnDevice(out.data, in.data, static_cast<size_t>(out.nbytes()));
    return;
  }
  byWord(dtypeSize(out.dtype), what, [&](auto w) {
    using W = decltype(w);
    broadcastKernel<W><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const W *>(in.data), static_cast<W *>(out.data), n, ix);
  });
  checkLaunch(what);
}

void trilu(Tensor in, Tensor out, bool upper, int64_t k) {
  if (in.shape.rank < 2 || in.shape != out.shape || in.dtype != out.dtype)
    fail("trilu: input %s and output %s must match, rank >= 2",
         formatDims(in.shape).c_str(), formatDims(out.shape).c_str());
  const int64_t n = out.numel();
  if (n == 0)
    return;
  const int64_t rows = in.shape.d[in.shape.rank - 2];
  const int64_t cols = in.shape.d[in.shape.rank - 1];
  byWord(dtypeSize(out.dtype), "trilu", [&](auto w) {
    using W = decltype(w);
    triluKernel<W><<<blocksFor(n), kThreads, 0, stream()>>>(
        static_cast<const W *>(in.data), static_cast<W *>(out.data), n, rows,
        cols, upper, k);
  });
  checkLaunch("trilu");
}

void copy(Tensor in, Tensor out) {
  if (in.nbytes() != out.nbytes())
    fail("copy: input of %lld bytes, output of %lld", (long long)in.nbytes(),
         (long long)out.nbytes());
  copyOnDevice(out.data, in.data, static_cast<size_t>(in.nbytes()));
}

} // namespace bbrt
