//===- Elementwise.cpp - unary, binary, select, convert -------------------===//
#include "bbrt/io.h"
#include "runtime/core/IntMath.h"
#include "runtime/cpu/Common.h"
#include "runtime/cpu/Simd.h"

#include <cmath>
#include <limits>

namespace bbrt {
namespace cpu {
namespace {

template <typename T, typename F>
void mapLoop(const T *in, T *out, int64_t n, int64_t minParallel, F f) {
  parallelFor(n, n >= minParallel, [&](int64_t i) { out[i] = f(in[i]); });
}

const char *unaryName(UnaryKind k) {
  static const char *names[] = {
      "Neg",        "Abs",       "Sqrt",       "Exp",      "Log",
      "Erf",        "Tanh",      "Sigmoid",    "Relu",     "HardSigmoid",
      "HardSwish",  "Gelu",      "GeluTanh",   "Reciprocal", "Floor",
      "Ceil",       "Round",     "Sign",       "Sin",      "Cos",
      "Not",        "LeakyRelu", "Clip",       "Softplus"};
  int i = static_cast<int>(k);
  return i >= 0 && i < static_cast<int>(sizeof names / sizeof *names)
             ? names[i]
             : "?";
}

/// f32 kinds with a vectorized loop (transcendentals through Simd.h);
/// false for the others.
BBRT_CLONES bool unaryF32Chunk(UnaryKind kind, const float *x, float *y,
                               int64_t n, float alpha, float beta) {
  switch (kind) {
  case UnaryKind::Neg:
    for (int64_t i = 0; i < n; ++i)
      y[i] = -x[i];
    return true;
  case UnaryKind::Abs:
    for (int64_t i = 0; i < n; ++i)
      y[i] = std::fabs(x[i]);
    return true;
  case UnaryKind::Exp:
    for (int64_t i = 0; i < n; ++i)
      y[i] = simd::expf(x[i]);
    return true;
  case UnaryKind::Erf:
    for (int64_t i = 0; i < n; ++i)
      y[i] = simd::erff(x[i]);
    return true;
  case UnaryKind::Tanh:
    for (int64_t i = 0; i < n; ++i)
      y[i] = simd::tanhf(x[i]);
    return true;
  case UnaryKind::Sigmoid:
    for (int64_t i = 0; i < n; ++i)
      y[i] = simd::sigmoidf(x[i]);
    return true;
  case UnaryKind::Relu:
    for (int64_t i = 0; i < n; ++i)
      y[i] = x[i] > 0.f ? x[i] : 0.f;
    return true;
  case UnaryKind::HardSigmoid:
    for (int64_t i = 0; i < n; ++i) {
      float v = alpha * x[i] + beta;
      v = v > 0.f ? v : 0.f;
      y[i] = v < 1.f ? v : 1.f;
    }
    return true;
  case UnaryKind::HardSwish:
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      float t = v / 6.f + 0.5f;
      t = t > 0.f ? t : 0.f;
      y[i] = v * (t < 1.f ? t : 1.f);
    }
    return true;
  case UnaryKind::Gelu:
    for (int64_t i = 0; i < n; ++i)
      y[i] = simd::geluf(x[i]);
    return true;
  case UnaryKind::GeluTanh:
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      const float c = 0.79788456080286535588f; // sqrt(2/pi)
      y[i] = 0.5f * v * (1.f + simd::tanhf(c * (v + 0.044715f * v * v * v)));
    }
    return true;
  case UnaryKind::LeakyRelu:
    for (int64_t i = 0; i < n; ++i)
      y[i] = x[i] < 0.f ? alpha * x[i] : x[i];
    return true;
  case UnaryKind::Clip:
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      y[i] = v < alpha ? alpha : (v > beta ? beta : v);
    }
    return true;
  default:
    return false;
  }
}

bool isHeavy(UnaryKind k) {
  switch (k) {
  case UnaryKind::Exp:
  case UnaryKind::Log:
  case UnaryKind::Erf:
  case UnaryKind::Tanh:
  case UnaryKind::Sigmoid:
  case UnaryKind::Gelu:
  case UnaryKind::GeluTanh:
  case UnaryKind::Sin:
  case UnaryKind::Cos:
  case UnaryKind::Softplus:
    return true;
  default:
    return false;
  }
}

template <typename T>
void unaryFloat(UnaryKind kind, const T *x, T *y, int64_t n, T alpha, T beta) {
  if constexpr (std::is_same<T, float>::value) {
    // Vectorized f32 kinds (n = 0 asks whether the kind is one): one chunk
    // per thread, on 16-element boundaries, above the threshold.
    if (unaryF32Chunk(kind, x, y, 0, alpha, beta)) {
      const int64_t minPar = isHeavy(kind) ? kParallelMinHeavy : kParallelMin;
      parallelRange((n + 15) / 16, n >= minPar, [&](int64_t b0, int64_t b1) {
        const int64_t i0 = b0 * 16, i1 = std::min(n, b1 * 16);
        unaryF32Chunk(kind, x + i0, y + i0, i1 - i0, alpha, beta);
      });
      return;
    }
  }
  const int64_t L = kParallelMin, H = kParallelMinHeavy;
  switch (kind) {
  case UnaryKind::Neg: return mapLoop(x, y, n, L, [](T v) { return -v; });
  case UnaryKind::Abs: return mapLoop(x, y, n, L, [](T v) { return std::fabs(v); });
  case UnaryKind::Sqrt: return mapLoop(x, y, n, L, [](T v) { return std::sqrt(v); });
  case UnaryKind::Exp: return mapLoop(x, y, n, H, [](T v) { return std::exp(v); });
  case UnaryKind::Log: return mapLoop(x, y, n, H, [](T v) { return std::log(v); });
  case UnaryKind::Erf: return mapLoop(x, y, n, H, [](T v) { return std::erf(v); });
  case UnaryKind::Tanh: return mapLoop(x, y, n, H, [](T v) { return std::tanh(v); });
  case UnaryKind::Sigmoid:
    return mapLoop(x, y, n, H, [](T v) {
      if (v >= 0)
        return T(1) / (T(1) + std::exp(-v));
      T e = std::exp(v);
      return e / (T(1) + e);
    });
  case UnaryKind::Relu:
    return mapLoop(x, y, n, L, [](T v) { return v > T(0) ? v : T(0); });
  case UnaryKind::HardSigmoid:
    return mapLoop(x, y, n, L, [=](T v) {
      return std::min(T(1), std::max(T(0), alpha * v + beta));
    });
  case UnaryKind::HardSwish:
    return mapLoop(x, y, n, L, [](T v) {
      return v * std::min(T(1), std::max(T(0), v / T(6) + T(0.5)));
    });
  case UnaryKind::Gelu:
    return mapLoop(x, y, n, H, [](T v) {
      return T(0.5) * v * (T(1) + std::erf(v * T(0.70710678118654752440)));
    });
  case UnaryKind::GeluTanh:
    return mapLoop(x, y, n, H, [](T v) {
      const T c = T(0.79788456080286535588); // sqrt(2/pi)
      return T(0.5) * v * (T(1) + std::tanh(c * (v + T(0.044715) * v * v * v)));
    });
  case UnaryKind::Reciprocal:
    return mapLoop(x, y, n, L, [](T v) { return T(1) / v; });
  case UnaryKind::Floor: return mapLoop(x, y, n, L, [](T v) { return std::floor(v); });
  case UnaryKind::Ceil: return mapLoop(x, y, n, L, [](T v) { return std::ceil(v); });
  case UnaryKind::Round:
    return mapLoop(x, y, n, L, [](T v) { return std::nearbyint(v); });
  case UnaryKind::Sign:
    return mapLoop(x, y, n, L, [](T v) {
      return v > T(0) ? T(1) : (v < T(0) ? T(-1) : v);
    });
  case UnaryKind::Sin: return mapLoop(x, y, n, H, [](T v) { return std::sin(v); });
  case UnaryKind::Cos: return mapLoop(x, y, n, H, [](T v) { return std::cos(v); });
  case UnaryKind::LeakyRelu:
    return mapLoop(x, y, n, L, [=](T v) { return v < T(0) ? alpha * v : v; });
  case UnaryKind::Clip:
    return mapLoop(x, y, n, L, [=](T v) {
      return v < alpha ? alpha : (v > beta ? beta : v);
    });
  case UnaryKind::Softplus:
    return mapLoop(x, y, n, H, [](T v) {
      return v > T(20) ? v : std::log1p(std::exp(v));
    });
  case UnaryKind::Not:
    break;
  }
  fail("unary %s: unsupported dtype %s", unaryName(kind),
       std::is_same<T, float>::value ? "f32" : "f64");
}

template <typename T>
void unaryInt(UnaryKind kind, const T *x, T *y, int64_t n, float alpha,
              float beta, DType dt) {
  const int64_t L = kParallelMin;
  using U = typename std::make_unsigned<T>::type;
  switch (kind) {
  case UnaryKind::Neg:
    return mapLoop(x, y, n, L, [](T v) { return T(U(0) - U(v)); });
  case UnaryKind::Abs:
    return mapLoop(x, y, n, L, [](T v) { return v < 0 ? T(U(0) - U(v)) : v; });
  case UnaryKind::Sign:
    return mapLoop(x, y, n, L, [](T v) { return T((v > 0) - (v < 0)); });
  case UnaryKind::Relu:
    return mapLoop(x, y, n, L, [](T v) { return v > 0 ? v : T(0); });
  case UnaryKind::Clip: {
    T l = 0, h = 0;
    intClipBounds(alpha, beta, l, h);
    return mapLoop(x, y, n, L, [=](T v) { return v < l ? l : (v > h ? h : v); });
  }
  default:
    fail("unary %s: unsupported dtype %s", unaryName(kind), dtypeName(dt));
  }
}

} // namespace
} // namespace cpu

using namespace cpu;

void unary(UnaryKind kind, Tensor in, Tensor out, float alpha, float beta) {
  const char *k = "unary";
  if (in.shape != out.shape)
    fail("unary %s: output shape %s differs from input shape %s",
         unaryName(kind), formatDims(out.shape).c_str(),
         formatDims(in.shape).c_str());
  if (in.dtype != out.dtype)
    fail("unary %s: output dtype %s differs from input dtype %s",
         unaryName(kind), dtypeName(out.dtype), dtypeName(in.dtype));
  checkData(k, "input", in);
  checkData(k, "output", out);
  int64_t n = in.numel();
  switch (in.dtype) {
  case DType::F32:
    return unaryFloat(kind, static_cast<const float *>(in.data),
                      static_cast<float *>(out.data), n, alpha, beta);
  case DType::F64:
    return unaryFloat(kind, static_cast<const double *>(in.data),
                      static_cast<double *>(out.data), n, double(alpha),
                      double(beta));
  case DType::I8:
    return unaryInt(kind, static_cast<const int8_t *>(in.data),
                    static_cast<int8_t *>(out.data), n, alpha, beta, in.dtype);
  case DType::I16:
    return unaryInt(kind, static_cast<const int16_t *>(in.data),
                    static_cast<int16_t *>(out.data), n, alpha, beta, in.dtype);
  case DType::I32:
    return unaryInt(kind, static_cast<const int32_t *>(in.data),
                    static_cast<int32_t *>(out.data), n, alpha, beta, in.dtype);
  case DType::I64:
    return unaryInt(kind, static_cast<const int64_t *>(in.data),
                    static_cast<int64_t *>(out.data), n, alpha, beta, in.dtype);
  case DType::Bool:
    if (kind == UnaryKind::Not)
      return mapLoop(static_cast<const uint8_t *>(in.data),
                     static_cast<uint8_t *>(out.data), n, kParallelMin,
                     [](uint8_t v) { return uint8_t(v == 0); });
    break;
  default:
    break;
  }
  fail("unary %s: unsupported dtype %s", unaryName(kind), dtypeName(in.dtype));
}

//===--- binary ------------------------------------------------------------===//

namespace cpu {
namespace {

const char *binaryName(BinaryKind k) {
  static const char *names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Eq",
                                "Ne",  "Lt",  "Le",  "Gt",  "Ge",  "Max",
                                "Min", "Mod", "And", "Or",  "Xor"};
  int i = static_cast<int>(k);
  return i >= 0 && i < static_cast<int>(sizeof names / sizeof *names)
             ? names[i]
             : "?";
}

bool isCompare(BinaryKind k) {
  return k == BinaryKind::Eq || k == BinaryKind::Ne || k == BinaryKind::Lt ||
         k == BinaryKind::Le || k == BinaryKind::Gt || k == BinaryKind::Ge;
}

template <typename T, typename O, typename F>
inline void runBinary(const T *a, int64_t sa, const T *b, int64_t sb, O *o,
                      int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i], b[i]);
  } else if (sa == 0 && sb == 1) {
    const T x = a[0];
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(x, b[i]);
  } else if (sa == 1 && sb == 0) {
    const T y = b[0];
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <typename T, typename O, typename F>
void binaryLoop(const Plan &p, const T *a, const T *b, O *o, int64_t minPar,
                F f) {
  forEachRun(p, minPar,
             [&](const int64_t *offs, int64_t outOff, int64_t len,
                 const int64_t *ist) {
               runBinary(a + offs[0], ist[0], b + offs[1], ist[1], o + outOff,
                         len, f);
             });
}

template <typename T>
void compareLoop(BinaryKind kind, const Plan &p, const T *a, const T *b,
                 uint8_t *o) {
  const int64_t L = kParallelMin;
  switch (kind) {
  case BinaryKind::Eq: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x == y); });
  case BinaryKind::Ne: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x != y); });
  case BinaryKind::Lt: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x < y); });
  case BinaryKind::Le: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x <= y); });
  case BinaryKind::Gt: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x > y); });
  case BinaryKind::Ge: return binaryLoop(p, a, b, o, L, [](T x, T y) { return uint8_t(x >= y); });
  default: break;
  }
}

template <typename T>
void arithFloat(BinaryKind kind, const Plan &p, const T *a, const T *b, T *o,
                const Tensor &bt) {
  const int64_t L = kParallelMin, H = kParallelMinHeavy;
  switch (kind) {
  case BinaryKind::Add: return binaryLoop(p, a, b, o, L, [](T x, T y) { return x + y; });
  case BinaryKind::Sub: return binaryLoop(p, a, b, o, L, [](T x, T y) { return x - y; });
  case BinaryKind::Mul: return binaryLoop(p, a, b, o, L, [](T x, T y) { return x * y; });
  case BinaryKind::Div: return binaryLoop(p, a, b, o, L, [](T x, T y) { return x / y; });
  case BinaryKind::Pow: {
    if (bt.numel() == 1) { // common exponents without pow()
      T e = b[0];
      if (e == T(2))
        return binaryLoop(p, a, b, o, L, [](T x, T) { return x * x; });
      if (e == T(3))
        return binaryLoop(p, a, b, o, L, [](T x, T) { return x * x * x; });
      if (e == T(1))
        return binaryLoop(p, a, b, o, L, [](T x, T) { return x; });
      if (e == T(0.5))
        return binaryLoop(p, a, b, o, L, [](T x, T) { return std::sqrt(x); });
    }
    return binaryLoop(p, a, b, o, H, [](T x, T y) { return std::pow(x, y); });
  }
  case BinaryKind::Max:
    return binaryLoop(p, a, b, o, L, [](T x, T y) { return x < y || std::isnan(y) ? y : x; });
  case BinaryKind::Min:
    return binaryLoop(p, a, b, o, L, [](T x, T y) { return y < x || std::isnan(y) ? y : x; });
  case BinaryKind::Mod:
    return binaryLoop(p, a, b, o, H, [](T x, T y) { return std::fmod(x, y); });
  default: break;
  }
  fail("binary %s: unsupported dtype %s", binaryName(kind),
       std::is_same<T, float>::value ? "f32" : "f64");
}

template <typename T>
void arithInt(BinaryKind kind, const Plan &p, const T *a, const T *b, T *o,
              DType dt) {
  const int64_t L = kParallelMin;
  using U = typename std::make_unsigned<T>::type;
  switch (kind) {
  case BinaryKind::Add: return binaryLoop(p, a, b, o, L, [](T x, T y) { return T(U(x) + U(y)); });
  case BinaryKind::Sub: return binaryLoop(p, a, b, o, L, [](T x, T y) { return T(U(x) - U(y)); });
  case BinaryKind::Mul: return binaryLoop(p, a, b, o, L, [](T x, T y) { return T(U(x) * U(y)); });
  case BinaryKind::Div: return binaryLoop(p, a, b, o, L, [](T x, T y) { return intDiv(x, y); });
  case BinaryKind::Pow: return binaryLoop(p, a, b, o, L, [](T x, T y) { return intPow(x, y); });
  case BinaryKind::Max: return binaryLoop(p, a, b, o, L, [](T x, T y) { return x < y ? y : x; });
  case BinaryKind::Min: return binaryLoop(p, a, b, o, L, [](T x, T y) { return y < x ? y : x; });
  case BinaryKind::Mod: return binaryLoop(p, a, b, o, L, [](T x, T y) { return intMod(x, y); });
  default: break;
  }
  fail("binary %s: unsupported dtype %s", binaryName(kind), dtypeName(dt));
}

} // namespace
} // namespace cpu

void binary(BinaryKind kind, Tensor a, Tensor b, Tensor out) {
  // "binary <Kind>" without building a string on every call.
  static const char *const knames[] = {
      "binary Add", "binary Sub", "binary Mul", "binary Div", "binary Pow",
      "binary Eq",  "binary Ne",  "binary Lt",  "binary Le",  "binary Gt",
      "binary Ge",  "binary Max", "binary Min", "binary Mod", "binary And",
      "binary Or",  "binary Xor"};
  const int ki = static_cast<int>(kind);
  const char *k = ki >= 0 && ki < int(sizeof knames / sizeof *knames)
                      ? knames[ki]
                      : "binary ?";
  if (a.dtype != b.dtype)
    fail("%s: operand dtypes differ (%s and %s)", k, dtypeName(a.dtype),
         dtypeName(b.dtype));
  bool cmp = isCompare(kind);
  DType want = cmp ? DType::Bool : a.dtype;
  checkDType(k, "output", out, want);
  checkData(k, "a", a);
  checkData(k, "b", b);
  checkData(k, "output", out);
  Dims ops[2] = {a.shape, b.shape};
  const char *names[2] = {"a", "b"};
  Plan p = broadcastPlan(k, out.shape, ops, names, 2);
  // Reject an output bigger than the broadcast of the operands.
  if (cmp) {
    uint8_t *o = static_cast<uint8_t *>(out.data);
    switch (a.dtype) {
    case DType::F32: return compareLoop(kind, p, (const float *)a.data, (const float *)b.data, o);
    case DType::F64: return compareLoop(kind, p, (const double *)a.data, (const double *)b.data, o);
    case DType::I8: return compareLoop(kind, p, (const int8_t *)a.data, (const int8_t *)b.data, o);
    case DType::I16: return compareLoop(kind, p, (const int16_t *)a.data, (const int16_t *)b.data, o);
    case DType::I32: return compareLoop(kind, p, (const int32_t *)a.data, (const int32_t *)b.data, o);
    case DType::I64: return compareLoop(kind, p, (const int64_t *)a.data, (const int64_t *)b.data, o);
    case DType::U8:
    case DType::Bool: return compareLoop(kind, p, (const uint8_t *)a.data, (const uint8_t *)b.data, o);
    default: unsupported(k, a.dtype);
    }
  }
  if (kind == BinaryKind::And || kind == BinaryKind::Or ||
      kind == BinaryKind::Xor) {
    if (a.dtype != DType::Bool)
      unsupported(k, a.dtype);
    const uint8_t *x = static_cast<const uint8_t *>(a.data);
    const uint8_t *y = static_cast<const uint8_t *>(b.data);
    uint8_t *o = static_cast<uint8_t *>(out.data);
    const int64_t L = kParallelMin;
    if (kind == BinaryKind::And)
      return binaryLoop(p, x, y, o, L, [](uint8_t u, uint8_t v) { return uint8_t((u != 0) & (v != 0)); });
    if (kind == BinaryKind::Or)
      return binaryLoop(p, x, y, o, L, [](uint8_t u, uint8_t v) { return uint8_t((u != 0) | (v != 0)); });
    return binaryLoop(p, x, y, o, L, [](uint8_t u, uint8_t v) { return uint8_t((u != 0) ^ (v != 0)); });
  }
  switch (a.dtype) {
  case DType::F32: return arithFloat(kind, p, (const float *)a.data, (const float *)b.data, (float *)out.data, b);
  case DType::F64: return arithFloat(kind, p, (const double *)a.data, (const double *)b.data, (double *)out.data, b);
  case DType::I8: return arithInt(kind, p, (const int8_t *)a.data, (const int8_t *)b.data, (int8_t *)out.data, a.dtype);
  case DType::I16: return arithInt(kind, p, (const int16_t *)a.data, (const int16_t *)b.data, (int16_t *)out.data, a.dtype);
  case DType::I32: return arithInt(kind, p, (const int32_t *)a.data, (const int32_t *)b.data, (int32_t *)out.data, a.dtype);
  case DType::I64: return arithInt(kind, p, (const int64_t *)a.data, (const int64_t *)b.data, (int64_t *)out.data, a.dtype);
  case DType::U8: return arithInt(kind, p, (const uint8_t *)a.data, (const uint8_t *)b.data, (uint8_t *)out.data, a.dtype);
  default: unsupported(k, a.dtype);
  }
}

//===--- select ------------------------------------------------------------===//

namespace cpu {
namespace {

/// o[i] = c[i] ? x : y over n elements, x and y each contiguous (stride 1)
/// or one value (stride 0). Both are loaded first, so the choice is a blend,
/// not a branch (autodiff's masks, e.g. ReLU's, are unpredictable).
template <typename T>
BBRT_INLINE void selectRunT(const uint8_t *c, const T *x, int64_t sx,
                            const T *y, int64_t sy, T *o, int64_t n) {
  if (sx == 1 && sy == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T a = x[i], b = y[i];
      o[i] = c[i] ? a : b;
    }
  } else if (sx == 0 && sy == 1) {
    const T a = x[0];
    for (int64_t i = 0; i < n; ++i) {
      const T b = y[i];
      o[i] = c[i] ? a : b;
    }
  } else {
    const T b = y[0];
    for (int64_t i = 0; i < n; ++i) {
      const T a = x[sx ? i : 0];
      o[i] = c[i] ? a : b;
    }
  }
}
BBRT_CLONES void selectRun(const uint8_t *c, const uint32_t *x, int64_t sx,
                           const uint32_t *y, int64_t sy, uint32_t *o,
                           int64_t n) {
  selectRunT(c, x, sx, y, sy, o, n);
}
BBRT_CLONES void selectRun(const uint8_t *c, const uint64_t *x, int64_t sx,
                           const uint64_t *y, int64_t sy, uint64_t *o,
                           int64_t n) {
  selectRunT(c, x, sx, y, sy, o, n);
}
template <typename T>
void selectRun(const uint8_t *c, const T *x, int64_t sx, const T *y,
               int64_t sy, T *o, int64_t n) {
  selectRunT(c, x, sx, y, sy, o, n);
}

} // namespace
} // namespace cpu

void select(Tensor cond, Tensor t, Tensor f, Tensor out) {
  const char *k = "select";
  checkDType(k, "condition", cond, DType::Bool);
  if (t.dtype != f.dtype || t.dtype != out.dtype)
    fail("%s: dtypes differ (true %s, false %s, output %s)", k,
         dtypeName(t.dtype), dtypeName(f.dtype), dtypeName(out.dtype));
  checkData(k, "condition", cond);
  checkData(k, "true value", t);
  checkData(k, "false value", f);
  checkData(k, "output", out);
  Dims ops[3] = {cond.shape, t.shape, f.shape};
  const char *names[3] = {"condition", "true value", "false value"};
  Plan p = broadcastPlan(k, out.shape, ops, names, 3);
  dispatchBytes(out.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const uint8_t *c = static_cast<const uint8_t *>(cond.data);
    const T *x = static_cast<const T *>(t.data);
    const T *y = static_cast<const T *>(f.data);
    T *o = static_cast<T *>(out.data);
    forEachRun(p, kParallelMin,
               [&](const int64_t *offs, int64_t outOff, int64_t n,
                   const int64_t *s) {
                 const uint8_t *cc = c + offs[0];
                 const T *xx = x + offs[1];
                 const T *yy = y + offs[2];
                 T *oo = o + outOff;
                 if (s[0] == 1 && s[1] <= 1 && s[2] <= 1) {
                   selectRun(cc, xx, s[1], yy, s[2], oo, n);
                 } else {
                   for (int64_t i = 0; i < n; ++i)
                     oo[i] = cc[i * s[0]] ? xx[i * s[1]] : yy[i * s[2]];
                 }
               });
  });
}

//===--- convert -----------------------------------------------------------===//

namespace cpu {
namespace {

template <typename T> struct IsStorage : std::false_type {};
template <> struct IsStorage<Half> : std::true_type {};
template <> struct IsStorage<BFloat> : std::true_type {};

/// Loads any element type as an arithmetic value (storage types as float).
template <typename S> inline auto load(S v) { return v; }
inline float load(Half v) { return halfToFloat(v.bits); }
inline float load(BFloat v) { return bf16ToFloat(v.bits); }

template <typename D> struct Store {
  template <typename V> static D apply(V v) {
    if (std::is_same<D, bool>::value)
      return static_cast<D>(v != V(0));
    if (std::is_floating_point<V>::value && std::is_integral<D>::value) {
      if (std::isnan(static_cast<double>(v)))
        return D(0);
      double dv = static_cast<double>(v);
      if (dv <= double(std::numeric_limits<D>::lowest()))
        return std::numeric_limits<D>::lowest();
      if (dv >= double(std::numeric_limits<D>::max()))
        return std::numeric_limits<D>::max();
      return static_cast<D>(v);
    }
    return static_cast<D>(v);
  }
};
template <> struct Store<Half> {
  template <typename V> static Half apply(V v) {
    return Half{floatToHalf(static_cast<float>(v))};
  }
};
template <> struct Store<BFloat> {
  template <typename V> static BFloat apply(V v) {
    return BFloat{floatToBf16(static_cast<float>(v))};
  }
};

} // namespace
} // namespace cpu

void convert(Tensor in, Tensor out) {
  const char *k = "convert";
  if (in.numel() != out.numel() ||
      (in.shape != out.shape && in.shape.rank == out.shape.rank))
    fail("%s: output shape %s differs from input shape %s", k,
         formatDims(out.shape).c_str(), formatDims(in.shape).c_str());
  checkData(k, "input", in);
  checkData(k, "output", out);
  int64_t n = in.numel();
  if (in.dtype == out.dtype) {
    parallelCopy(out.data, in.data, in.nbytes());
    return;
  }
  dispatchAll(in.dtype, [&](auto st) {
    using S = typename decltype(st)::type;
    dispatchAll(out.dtype, [&](auto dt) {
      using D = typename decltype(dt)::type;
      const S *x = static_cast<const S *>(in.data);
      D *y = static_cast<D *>(out.data);
      if (std::is_same<S, bool>::value) {
        // Bool bytes other than 0/1 still read as true.
        const uint8_t *xb = static_cast<const uint8_t *>(in.data);
        parallelFor(n, n >= kParallelMin, [&](int64_t i) {
          y[i] = Store<D>::apply(int(xb[i] != 0));
        });
        return;
      }
      parallelFor(n, n >= kParallelMin,
                  [&](int64_t i) { y[i] = Store<D>::apply(load(x[i])); });
    });
  });
}

} // namespace bbrt
