// writeOnnxWithInitializers: template bytes, then one ModelProto.graph field
// holding the initializers as TensorProtos.
#include "TestUtil.h"

#include "runtime/driver/OnnxExport.h"

using namespace bbrt;
using namespace bbrt::test;

namespace {

uint64_t readVarint(const std::string &s, size_t &pos) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    REQUIRE(pos < s.size());
    uint8_t b = static_cast<uint8_t>(s[pos++]);
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80))
      return v;
  }
}

} // namespace

TEST_CASE("ONNX export appends the initializers as a graph field", "[export]") {
  std::string path = newTempDir("export") + "/model.onnx";
  // Any bytes: the function does not parse the template.
  const std::string tmpl = std::string("\x08\x08\x3a\x04\x0a\x02hi", 8);
  HostTensor w = random(DType::F32, {300, 2}); // a TensorProto over 127 bytes: 2-byte lengths
  HostTensor b = random(DType::F32, {2});
  driver::writeOnnxWithInitializers(path, tmpl.data(), tmpl.size(), {{"fc.weight", w.view()}, {"fc.bias", b.view()}});
  std::string bytes = readFileBytes(path);
  REQUIRE(bytes.compare(0, tmpl.size(), tmpl) == 0);
  size_t pos = tmpl.size();
  CHECK(readVarint(bytes, pos) == (7 << 3 | 2)); // ModelProto.graph
  const uint64_t graphLen = readVarint(bytes, pos);
  CHECK(pos + graphLen == bytes.size());
  std::vector<HostTensor> inits;
  while (pos < bytes.size()) {
    CHECK(readVarint(bytes, pos) == (5 << 3 | 2)); // GraphProto.initializer
    uint64_t len = readVarint(bytes, pos);
    REQUIRE(pos + len <= bytes.size());
    inits.push_back(parseTensorProto(bytes.data() + pos, len));
    pos += len;
  }
  REQUIRE(inits.size() == 2);
  CHECK(inits[0].name == "fc.weight");
  CHECK(inits[0].shape == w.shape);
  CHECK(std::memcmp(inits[0].data(), w.data(), w.nbytes()) == 0);
  CHECK(inits[1].name == "fc.bias");
  CHECK(std::memcmp(inits[1].data(), b.data(), b.nbytes()) == 0);
}
