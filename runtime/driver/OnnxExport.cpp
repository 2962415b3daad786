//===- OnnxExport.cpp - trained weights back into the ONNX model ----------===//
#include "runtime/driver/OnnxExport.h"
#include "bbrt/io.h"
#include "runtime/core/Util.h"

namespace bbrt {
namespace driver {
namespace {

// Field numbers and wire type in onnx.proto.
constexpr uint64_t kModelGraph = 7;        // ModelProto.graph
constexpr uint64_t kGraphInitializer = 5;  // GraphProto.initializer
constexpr uint64_t kLengthDelimited = 2;

void putVarint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}

/// Key and length of a length-delimited field.
std::string fieldHeader(uint64_t field, uint64_t length) {
  std::string s;
  putVarint(s, field << 3 | kLengthDelimited);
  putVarint(s, length);
  return s;
}

} // namespace

void writeOnnxWithInitializers(
    const std::string &path, const void *onnxTemplate, size_t templateSize,
    const std::vector<std::pair<std::string, Tensor>> &initializers) {
  // The graph's length precedes it, so every TensorProto is encoded first.
  std::vector<std::string> protos;
  uint64_t graphSize = 0;
  for (const auto &init : initializers) {
    protos.push_back(encodeTensorProto(init.second, init.first));
    graphSize += fieldHeader(kGraphInitializer, protos.back().size()).size() +
                 protos.back().size();
  }
  const std::string graphHeader = fieldHeader(kModelGraph, graphSize);
  const uint64_t total = templateSize + graphHeader.size() + graphSize;
  if (total > (uint64_t(1) << 31) - 1)
    fail("cannot write '%s': the model with its initializers is %llu bytes, "
         "above protobuf's 2 GiB limit",
         path.c_str(), (unsigned long long)total);
  AtomicFile file(path);
  file.write(onnxTemplate, templateSize);
  file.write(graphHeader);
  for (const std::string &p : protos) {
    file.write(fieldHeader(kGraphInitializer, p.size()));
    file.write(p);
  }
  file.commit();
}

} // namespace driver
} // namespace bbrt
