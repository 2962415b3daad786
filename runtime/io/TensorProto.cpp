//===- TensorProto.cpp - ONNX TensorProto (.pb) without libprotobuf -------===//
//
// Wire format: each field is a varint key (field << 3 | wire type) followed by
// a varint (0), 8 bytes (1), a length-delimited payload (2) or 4 bytes (5).
// TensorProto fields used: dims=1, data_type=2, float_data=4, int32_data=5,
// int64_data=7, name=8, raw_data=9, double_data=10, uint64_data=11,
// external_data=13, data_location=14. Repeated numbers come packed or not.
//
//===----------------------------------------------------------------------===//
#include "bbrt/io.h"
#include "runtime/core/Util.h"

#include <cstring>

namespace bbrt {
namespace {

class Reader {
public:
  Reader(const uint8_t *p, size_t n) : p_(p), end_(p + n) {}
  bool done() const { return p_ >= end_; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_)
        fail("not a valid TensorProto: truncated varint");
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80))
        return v;
    }
    fail("not a valid TensorProto: varint too long");
  }
  uint32_t fixed32() {
    need(4);
    uint32_t v;
    memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  uint64_t fixed64() {
    need(8);
    uint64_t v;
    memcpy(&v, p_, 8);
    p_ += 8;
    return v;
  }
  Reader bytes(const uint8_t **start = nullptr, size_t *len = nullptr) {
    uint64_t n = varint();
    need(n);
    Reader r(p_, static_cast<size_t>(n));
    if (start)
      *start = p_;
    if (len)
      *len = static_cast<size_t>(n);
    p_ += n;
    return r;
  }
  void skip(int wire) {
    switch (wire) {
    case 0: varint(); break;
    case 1: need(8); p_ += 8; break;
    case 2: bytes(); break;
    case 5: need(4); p_ += 4; break;
    default: fail("not a valid TensorProto: wire type %d", wire);
    }
  }

private:
  const uint8_t *p_, *end_;
  void need(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n)
      fail("not a valid TensorProto: truncated field");
  }
};

/// Appends the values of a repeated numeric field, packed (wire 2) or not.
template <typename F>
void repeated(Reader &r, int wire, int scalarWire, F read) {
  if (wire == 2) {
    Reader sub = r.bytes();
    while (!sub.done())
      read(sub);
  } else if (wire == scalarWire) {
    read(r);
  } else {
    fail("not a valid TensorProto: unexpected wire type %d", wire);
  }
}

bool onnxToDType(int64_t t, DType &out) {
  switch (t) {
  case 1: out = DType::F32; return true;
  case 2: out = DType::U8; return true;
  case 3: out = DType::I8; return true;
  case 5: out = DType::I16; return true;
  case 6: out = DType::I32; return true;
  case 7: out = DType::I64; return true;
  case 9: out = DType::Bool; return true;
  case 10: out = DType::F16; return true;
  case 11: out = DType::F64; return true;
  case 16: out = DType::BF16; return true;
  default: return false;
  }
}

int onnxFromDType(DType d) {
  switch (d) {
  case DType::F32: return 1;
  case DType::U8: return 2;
  case DType::I8: return 3;
  case DType::I16: return 5;
  case DType::I32: return 6;
  case DType::I64: return 7;
  case DType::Bool: return 9;
  case DType::F16: return 10;
  case DType::F64: return 11;
  case DType::BF16: return 16;
  }
  return 0;
}

const char *onnxTypeName(int64_t t) {
  static const char *names[] = {"UNDEFINED", "FLOAT",   "UINT8",     "INT8",
                                "UINT16",    "INT16",   "INT32",     "INT64",
                                "STRING",    "BOOL",    "FLOAT16",   "DOUBLE",
                                "UINT32",    "UINT64",  "COMPLEX64", "COMPLEX128",
                                "BFLOAT16"};
  return t >= 0 && t <= 16 ? names[t] : "unknown";
}

} // namespace

HostTensor parseTensorProto(const void *data, size_t size) {
  Reader r(static_cast<const uint8_t *>(data), size);
  std::vector<int64_t> dims;
  int64_t dataType = 0;
  std::string name;
  const uint8_t *raw = nullptr;
  size_t rawLen = 0;
  bool haveRaw = false, external = false;
  std::vector<float> floats;
  std::vector<int64_t> ints; // int32_data and int64_data and uint64_data
  std::vector<double> doubles;
  while (!r.done()) {
    uint64_t key = r.varint();
    int field = static_cast<int>(key >> 3);
    int wire = static_cast<int>(key & 7);
    switch (field) {
    case 1:
      repeated(r, wire, 0, [&](Reader &s) {
        dims.push_back(static_cast<int64_t>(s.varint()));
      });
      break;
    case 2:
      if (wire != 0)
        fail("not a valid TensorProto: data_type has wire type %d", wire);
      dataType = static_cast<int64_t>(r.varint());
      break;
    case 4:
      repeated(r, wire, 5, [&](Reader &s) {
        uint32_t v = s.fixed32();
        float f;
        memcpy(&f, &v, 4);
        floats.push_back(f);
      });
      break;
    case 5:
      repeated(r, wire, 0, [&](Reader &s) {
        ints.push_back(static_cast<int32_t>(s.varint()));
      });
      break;
    case 7:  // int64_data
    case 11: // uint64_data: the same varints, kept as their 64 bits
      repeated(r, wire, 0, [&](Reader &s) {
        ints.push_back(static_cast<int64_t>(s.varint()));
      });
      break;
    case 8: {
      if (wire != 2)
        fail("not a valid TensorProto: name has wire type %d", wire);
      const uint8_t *p;
      size_t n;
      r.bytes(&p, &n);
      name.assign(reinterpret_cast<const char *>(p), n);
      break;
    }
    case 9:
      if (wire != 2)
        fail("not a valid TensorProto: raw_data has wire type %d", wire);
      r.bytes(&raw, &rawLen);
      haveRaw = true;
      break;
    case 10:
      repeated(r, wire, 1, [&](Reader &s) {
        uint64_t v = s.fixed64();
        double d;
        memcpy(&d, &v, 8);
        doubles.push_back(d);
      });
      break;
    case 13:
      external = true;
      r.skip(wire);
      break;
    case 14:
      if (wire == 0 && r.varint() == 1)
        external = true;
      else if (wire != 0)
        r.skip(wire);
      break;
    default:
      r.skip(wire);
    }
  }
  if (external)
    fail("TensorProto with external data is not supported");
  DType dtype;
  if (!onnxToDType(dataType, dtype))
    fail("TensorProto data type %s (%lld) is not supported",
         onnxTypeName(dataType), (long long)dataType);
  if (dims.size() > static_cast<size_t>(kMaxRank))
    fail("TensorProto has rank %zu, above the runtime's maximum %d",
         dims.size(), kMaxRank);
  for (int64_t d : dims)
    if (d < 0)
      fail("TensorProto has a negative dim");
  Dims shape(dims.data(), static_cast<int>(dims.size()));
  HostTensor t(dtype, shape);
  t.name = name;
  int64_t n = shape.numel();
  size_t nbytes = static_cast<size_t>(t.nbytes());
  if (haveRaw) {
    if (rawLen != nbytes)
      fail("TensorProto raw_data holds %zu bytes, %s %s needs %zu", rawLen,
           dtypeName(dtype), formatDims(shape).c_str(), nbytes);
    if (nbytes)
      memcpy(t.data(), raw, nbytes);
    return t;
  }
  auto count = [&](size_t have, const char *field) {
    if (static_cast<int64_t>(have) != n)
      fail("TensorProto %s holds %zu values, %s %s needs %lld", field, have,
           dtypeName(dtype), formatDims(shape).c_str(), (long long)n);
  };
  switch (dtype) {
  case DType::F32:
    count(floats.size(), "float_data");
    if (n)
      memcpy(t.data(), floats.data(), nbytes);
    break;
  case DType::F64:
    count(doubles.size(), "double_data");
    if (n)
      memcpy(t.data(), doubles.data(), nbytes);
    break;
  case DType::I64: {
    count(ints.size(), "int64_data");
    int64_t *o = static_cast<int64_t *>(t.data());
    for (int64_t i = 0; i < n; ++i)
      o[i] = ints[i];
    break;
  }
  default: { // int32_data carries I32, I16, I8, U8, Bool, F16/BF16 bits
    count(ints.size(), "int32_data");
    int64_t es = dtypeSize(dtype);
    char *o = static_cast<char *>(t.data());
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = ints[i];
      if (dtype == DType::Bool)
        v = v != 0;
      if (es == 1) {
        int8_t x = static_cast<int8_t>(v);
        memcpy(o + i, &x, 1);
      } else if (es == 2) {
        int16_t x = static_cast<int16_t>(v);
        memcpy(o + 2 * i, &x, 2);
      } else {
        int32_t x = static_cast<int32_t>(v);
        memcpy(o + 4 * i, &x, 4);
      }
    }
  }
  }
  return t;
}

HostTensor readTensorProto(const std::string &path) {
  std::string bytes = readFileBytes(path);
  return parseTensorProto(bytes.data(), bytes.size());
}

static void putVarint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}

std::string encodeTensorProto(const Tensor &t, const std::string &name) {
  std::string s;
  for (int i = 0; i < t.shape.rank; ++i) {
    putVarint(s, (1 << 3) | 0);
    putVarint(s, static_cast<uint64_t>(t.shape.d[i]));
  }
  putVarint(s, (2 << 3) | 0);
  putVarint(s, static_cast<uint64_t>(onnxFromDType(t.dtype)));
  if (!name.empty()) {
    putVarint(s, (8 << 3) | 2);
    putVarint(s, name.size());
    s += name;
  }
  putVarint(s, (9 << 3) | 2);
  putVarint(s, static_cast<uint64_t>(t.nbytes()));
  s.append(static_cast<const char *>(t.data), static_cast<size_t>(t.nbytes()));
  return s;
}

void writeTensorProto(const std::string &path, const Tensor &t,
                      const std::string &name) {
  writeFileAtomic(path, encodeTensorProto(t, name));
}

} // namespace bbrt
