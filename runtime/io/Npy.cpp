//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
#include "bbrt/io.h"
#include "runtime/core/Util.h"

#include <cstring>

namespace bbrt {

const char *npyDescr(DType dtype) {
  switch (dtype) {
  case DType::F32: return "<f4";
  case DType::F64: return "<f8";
  case DType::F16: return "<f2";
  case DType::I8: return "|i1";
  case DType::I16: return "<i2";
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::U8: return "|u1";
  case DType::Bool: return "|b1";
  case DType::BF16: break;
  }
  fail("dtype %s has no NumPy equivalent", dtypeName(dtype));
}

namespace {

bool descrToDType(std::string d, DType &out) {
  if (d.size() == 3 && (d[0] == '<' || d[0] == '|' || d[0] == '=')) {
    d = d.substr(1);
  } else if (d.size() == 2) {
    // bare "f4"
  } else {
    return false;
  }
  static const std::pair<const char *, DType> table[] = {
      {"f4", DType::F32}, {"f8", DType::F64}, {"f2", DType::F16},
      {"i1", DType::I8},  {"i2", DType::I16}, {"i4", DType::I32},
      {"i8", DType::I64}, {"u1", DType::U8},  {"b1", DType::Bool}};
  for (const auto &e : table)
    if (d == e.first) {
      out = e.second;
      return true;
    }
  return false;
}

/// Parses the header dict: {'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  std::vector<int64_t> shape;
};

class DictParser {
public:
  DictParser(const std::string &s) : s_(s) {}
  NpyHeader parse() {
    NpyHeader h;
    ws();
    expect('{');
    while (true) {
      ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      std::string key = str();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        h.descr = str();
        h.haveDescr = true;
      } else if (key == "fortran_order") {
        if (lit("True"))
          h.fortran = true;
        else if (lit("False"))
          h.fortran = false;
        else
          bad("fortran_order is neither True nor False");
        h.haveOrder = true;
      } else if (key == "shape") {
        expect('(');
        while (true) {
          ws();
          if (peek() == ')') {
            ++i_;
            break;
          }
          h.shape.push_back(integer());
          ws();
          if (peek() == ',')
            ++i_;
          else if (peek() != ')')
            bad("malformed shape");
        }
        h.haveShape = true;
      } else {
        bad(("unexpected key '" + key + "'").c_str());
      }
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      bad("expected ',' or '}'");
    }
    if (!h.haveDescr || !h.haveOrder || !h.haveShape)
      bad("header lacks descr, fortran_order or shape");
    return h;
  }

private:
  const std::string &s_;
  size_t i_ = 0;
  [[noreturn]] void bad(const char *why) {
    fail("not a valid .npy file: %s", why);
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t'))
      ++i_;
  }
  void expect(char c) {
    if (peek() != c)
      bad("malformed header dict");
    ++i_;
  }
  bool lit(const char *l) {
    size_t n = strlen(l);
    if (s_.compare(i_, n, l) == 0) {
      i_ += n;
      return true;
    }
    return false;
  }
  std::string str() {
    char q = peek();
    if (q != '\'' && q != '"')
      bad("expected a quoted string");
    ++i_;
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != q)
      ++i_;
    if (i_ >= s_.size())
      bad("unterminated string");
    std::string r = s_.substr(b, i_ - b);
    ++i_;
    return r;
  }
  int64_t integer() {
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
      ++i_;
    if (b == i_ || i_ - b > 18)
      bad("malformed shape");
    if (peek() == 'L') // Python 2 longs
      ++i_;
    return std::stoll(s_.substr(b, i_ - b));
  }
};

} // namespace

HostTensor parseNpy(const void *bytesv, size_t size) {
  const unsigned char *b = static_cast<const unsigned char *>(bytesv);
  if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    fail("not a .npy file (no \\x93NUMPY magic)");
  int major = b[6];
  size_t hlen, start;
  if (major == 1) {
    hlen = b[8] | (static_cast<size_t>(b[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      fail("not a valid .npy file: truncated header");
    hlen = b[8] | (static_cast<size_t>(b[9]) << 8) |
           (static_cast<size_t>(b[10]) << 16) |
           (static_cast<size_t>(b[11]) << 24);
    start = 12;
  } else {
    fail("unsupported .npy format version %d.%d", major, b[7]);
  }
  if (start + hlen > size)
    fail("not a valid .npy file: truncated header");
  std::string header(reinterpret_cast<const char *>(b + start), hlen);
  while (!header.empty() &&
         (header.back() == '\n' || header.back() == ' ' ||
          header.back() == '\0'))
    header.pop_back();
  NpyHeader h = DictParser(header).parse();
  DType dtype;
  if (!descrToDType(h.descr, dtype)) {
    if (!h.descr.empty() && h.descr[0] == '>')
      fail("big-endian .npy data ('%s') is not supported", h.descr.c_str());
    fail(".npy dtype '%s' is not supported (use <f4 <f8 <f2 <i8 <i4 <i2 "
         "|i1 |u1 |b1)",
         h.descr.c_str());
  }
  if (h.fortran)
    fail("Fortran-order .npy arrays are not supported");
  if (h.shape.size() > static_cast<size_t>(kMaxRank))
    fail(".npy array has rank %zu, above the runtime's maximum %d",
         h.shape.size(), kMaxRank);
  Dims dims(h.shape.data(), static_cast<int>(h.shape.size()));
  HostTensor t(dtype, dims);
  size_t need = static_cast<size_t>(t.nbytes());
  size_t have = size - start - hlen;
  if (have < need)
    fail("truncated .npy data: %zu bytes for %s %s (%zu bytes)", have,
         dtypeName(dtype), formatDims(dims).c_str(), need);
  if (need)
    memcpy(t.data(), b + start + hlen, need);
  return t;
}

HostTensor readNpy(const std::string &path) {
  std::string bytes = readFileBytes(path);
  return parseNpy(bytes.data(), bytes.size());
}

std::string encodeNpy(const Tensor &t) {
  std::string dict = std::string("{'descr': '") + npyDescr(t.dtype) +
                     "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < t.shape.rank; ++i) {
    dict += std::to_string(t.shape.d[i]);
    if (t.shape.rank == 1 || i + 1 < t.shape.rank)
      dict += ",";
    if (i + 1 < t.shape.rank)
      dict += " ";
  }
  dict += "), }";
  bool v2 = false;
  size_t pre = 10;
  size_t total = pre + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  if (padded - pre > 65535) {
    v2 = true;
    pre = 12;
    total = pre + dict.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  dict.append(padded - total, ' ');
  dict += '\n';
  size_t hlen = dict.size();
  std::string out = "\x93NUMPY";
  out += static_cast<char>(v2 ? 2 : 1);
  out += static_cast<char>(0);
  out += static_cast<char>(hlen & 0xFF);
  out += static_cast<char>((hlen >> 8) & 0xFF);
  if (v2) {
    out += static_cast<char>((hlen >> 16) & 0xFF);
    out += static_cast<char>((hlen >> 24) & 0xFF);
  }
  out += dict;
  out.append(static_cast<const char *>(t.data),
             static_cast<size_t>(t.nbytes()));
  return out;
}

void writeNpy(const std::string &path, const Tensor &t) {
  writeFileAtomic(path, encodeNpy(t));
}

} // namespace bbrt
