//===- Types.cpp - dtypes, dims, errors -----------------------------------===//
#include "bbrt/bbrt.h"
#include "runtime/core/Util.h"

#include <cstdio>
#include <vector>

namespace bbrt {

namespace {
std::string vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(nullptr, 0, fmt, ap);
  std::string s(n > 0 ? n : 0, '\0');
  if (n > 0)
    vsnprintf(&s[0], n + 1, fmt, ap2);
  va_end(ap2);
  return s;
}
} // namespace

std::string strformat(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string s = vformat(fmt, ap);
  va_end(ap);
  throw Error(s);
}

int64_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  fail("invalid dtype %d", static_cast<int>(dtype));
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I8: return "i8";
  case DType::I16: return "i16";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::U8: return "u8";
  case DType::Bool: return "bool";
  }
  return "invalid";
}

Dims::Dims(std::initializer_list<int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxRank))
    fail("rank %zu exceeds the runtime's maximum rank %d", dims.size(),
         kMaxRank);
  for (int64_t v : dims)
    d[rank++] = v;
}

Dims::Dims(const int64_t *dims, int r) {
  if (r < 0 || r > kMaxRank)
    fail("rank %d exceeds the runtime's maximum rank %d", r, kMaxRank);
  for (int i = 0; i < r; ++i)
    d[i] = dims[i];
  rank = r;
}

int64_t Dims::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= d[i];
  return n;
}

bool Dims::operator==(const Dims &o) const {
  if (rank != o.rank)
    return false;
  for (int i = 0; i < rank; ++i)
    if (d[i] != o.d[i])
      return false;
  return true;
}

std::string formatDims(const Dims &dims) {
  if (dims.rank == 0)
    return "scalar";
  std::string s;
  for (int i = 0; i < dims.rank; ++i) {
    if (i)
      s += 'x';
    s += std::to_string(dims.d[i]);
  }
  return s;
}

} // namespace bbrt
