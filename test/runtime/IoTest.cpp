// .npy, TensorProto (.pb), safetensors, ModelInfo/Context.
#include "TestUtil.h"

#include "bbrt/model.h"
#include "bbrt/safetensors.h"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace bbrt;
using namespace bbrt::test;

namespace {

std::string tmpDir() {
  static std::string dir;
  if (dir.empty()) {
    const char *t = getenv("TEST_TMPDIR");
    std::string base = t ? t : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/bbrt_io_XXXXXX", base.c_str());
    REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
  }
  return dir;
}

std::vector<std::string> listDir(const std::string &d) {
  std::vector<std::string> out;
  DIR *dir = opendir(d.c_str());
  while (dirent *e = readdir(dir)) // hidden ones too: temporary files are
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      out.push_back(e->d_name);
  closedir(dir);
  return out;
}

void putVarint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s += char((v & 0x7F) | 0x80);
    v >>= 7;
  }
  s += char(v);
}
void putKey(std::string &s, int field, int wire) { putVarint(s, uint64_t(field) << 3 | wire); }
void putBytes(std::string &s, int field, const std::string &b) {
  putKey(s, field, 2);
  putVarint(s, b.size());
  s += b;
}

const DType kAll[] = {DType::F32, DType::F64, DType::F16, DType::I8,  DType::I16,
                      DType::I32, DType::I64, DType::U8,  DType::Bool};

} // namespace

TEST_CASE("npy round trip for every dtype and shape", "[npy]") {
  for (DType dt : kAll)
    for (Dims s : {Dims(), Dims{5}, Dims{2, 3, 4}, Dims{0, 3}, Dims{1, 1, 1, 1, 1, 1, 1, 2}}) {
      HostTensor t = random(dt, s, -100, 100);
      std::string bytes = encodeNpy(t.view());
      REQUIRE(bytes.size() >= 64);
      CHECK((bytes.size() - t.nbytes()) % 64 == 0); // header padded to 64
      HostTensor r = parseNpy(bytes.data(), bytes.size());
      CHECK(r.dtype == dt);
      CHECK(r.shape == s);
      CHECK(std::memcmp(r.data(), t.data(), t.nbytes()) == 0);
    }
  // through a file, atomically
  std::string path = tmpDir() + "/rt.npy";
  HostTensor t = random(DType::F32, {3, 7});
  writeNpy(path, t.view());
  HostTensor r = readNpy(path);
  CHECK(std::memcmp(r.data(), t.data(), t.nbytes()) == 0);
  for (const std::string &f : listDir(tmpDir()))
    CHECK(f.find(".tmp") == std::string::npos);
}

TEST_CASE("npy headers as NumPy writes them", "[npy]") {
  auto make = [](int major, const std::string &dict, const std::string &data) {
    std::string h = dict;
    size_t pre = major == 1 ? 10 : 12;
    while ((pre + h.size() + 1) % 64)
      h += ' ';
    h += '\n';
    std::string s = "\x93NUMPY";
    s += char(major);
    s += char(0);
    s += char(h.size() & 0xFF);
    s += char(h.size() >> 8);
    if (major != 1) {
      s += char(0);
      s += char(0);
    }
    return s + h + data;
  };
  int64_t v[3] = {-1, 2, 1LL << 40};
  std::string data(reinterpret_cast<char *>(v), 24);
  for (int major : {1, 2, 3}) {
    HostTensor t = parseNpy(make(major, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data)
                                .c_str(),
                            make(major, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data).size());
    CHECK(t.dtype == DType::I64);
    CHECK(t.shape == Dims{3});
    CHECK(ptr<int64_t>(t)[2] == (1LL << 40));
  }
  std::string s = make(1, "{'shape': (1, 3), 'fortran_order': False, 'descr': '|b1'}", std::string("\x01\x00\x01", 3));
  HostTensor b = parseNpy(s.data(), s.size());
  CHECK(b.dtype == DType::Bool);
  CHECK(b.shape == Dims{1, 3});
  auto err = [&](const std::string &bytes) { return parseNpy(bytes.data(), bytes.size()); };
  REQUIRE_THROWS_WITH(err("hello world, not numpy"), Catch::Contains("no \\x93NUMPY magic"));
  REQUIRE_THROWS_WITH(err(make(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd")),
                      Catch::Contains("big-endian"));
  REQUIRE_THROWS_WITH(err(make(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "abcd")),
                      Catch::Contains("Fortran-order"));
  REQUIRE_THROWS_WITH(err(make(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "abcdabcd")),
                      Catch::Contains("'<c8' is not supported"));
  REQUIRE_THROWS_WITH(err(make(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", "abcd")),
                      Catch::Contains("truncated .npy data: 4 bytes for f32 2x3 (24 bytes)"));
  REQUIRE_THROWS_WITH(err(make(1, "{'descr': '<f4', 'fortran_order': False}", "")),
                      Catch::Contains("lacks descr, fortran_order or shape"));
  REQUIRE_THROWS_WITH(readNpy(tmpDir() + "/does-not-exist.npy"),
                      Catch::Contains("cannot open: No such file or directory"));
}

TEST_CASE("TensorProto raw_data round trip", "[pb]") {
  for (DType dt : kAll) {
    HostTensor t = random(dt, {2, 3}, -100, 100);
    std::string bytes = encodeTensorProto(t.view(), "my_input");
    HostTensor r = parseTensorProto(bytes.data(), bytes.size());
    CHECK(r.dtype == dt);
    CHECK(r.shape == Dims{2, 3});
    CHECK(r.name == "my_input");
    CHECK(std::memcmp(r.data(), t.data(), t.nbytes()) == 0);
  }
  std::string path = tmpDir() + "/x.pb";
  HostTensor t = random(DType::F32, {4});
  writeTensorProto(path, t.view(), "x");
  HostTensor r = readTensorFile(path); // sniffed as .pb
  CHECK(std::memcmp(r.data(), t.data(), 16) == 0);
  std::string npath = tmpDir() + "/x_as_npy.pb";
  writeNpy(npath, t.view());
  CHECK(readTensorFile(npath).dtype == DType::F32); // sniffed as .npy
}

TEST_CASE("TensorProto typed fields, packed and not", "[pb]") {
  // float_data packed, dims packed, plus an unknown field to skip
  {
    std::string s, dims, fl;
    putVarint(dims, 2);
    putVarint(dims, 2);
    putBytes(s, 1, dims);
    putKey(s, 2, 0);
    putVarint(s, 1); // FLOAT
    float v[4] = {1.5f, -2.f, 3.25f, 0.f};
    fl.assign(reinterpret_cast<char *>(v), 16);
    putBytes(s, 4, fl);
    putBytes(s, 12, "doc string"); // doc_string: skipped
    putKey(s, 99, 5);
    s += std::string(4, '\0'); // unknown fixed32
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(t.shape == Dims{2, 2});
    CHECK(ptr<float>(t)[2] == 3.25f);
  }
  // float_data unpacked (wire type 5), dims unpacked
  {
    std::string s;
    putKey(s, 1, 0);
    putVarint(s, 2);
    putKey(s, 2, 0);
    putVarint(s, 1);
    for (float f : {7.f, 8.f}) {
      putKey(s, 4, 5);
      s.append(reinterpret_cast<char *>(&f), 4);
    }
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(ptr<float>(t)[1] == 8.f);
  }
  // int64_data packed and unpacked with negatives
  for (bool packed : {true, false}) {
    std::string s, body;
    putKey(s, 1, 0);
    putVarint(s, 3);
    putKey(s, 2, 0);
    putVarint(s, 7); // INT64
    int64_t v[3] = {-1, 5, -(1LL << 50)};
    if (packed) {
      for (int64_t x : v)
        putVarint(body, uint64_t(x));
      putBytes(s, 7, body);
    } else {
      for (int64_t x : v) {
        putKey(s, 7, 0);
        putVarint(s, uint64_t(x));
      }
    }
    putBytes(s, 8, "idx");
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(t.dtype == DType::I64);
    CHECK(t.name == "idx");
    CHECK(ptr<int64_t>(t)[0] == -1);
    CHECK(ptr<int64_t>(t)[2] == -(1LL << 50));
  }
  // int32_data for INT32, BOOL and FLOAT16; double_data
  {
    std::string s, body;
    putKey(s, 1, 0);
    putVarint(s, 2);
    putKey(s, 2, 0);
    putVarint(s, 6); // INT32
    putVarint(body, uint64_t(int64_t(-7)));
    putVarint(body, 9);
    putBytes(s, 5, body);
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(ptr<int32_t>(t)[0] == -7);
    CHECK(ptr<int32_t>(t)[1] == 9);
  }
  {
    std::string s, body;
    putKey(s, 1, 0);
    putVarint(s, 3);
    putKey(s, 2, 0);
    putVarint(s, 9); // BOOL
    for (int v : {1, 0, 1})
      putVarint(body, v);
    putBytes(s, 5, body);
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(t.dtype == DType::Bool);
    CHECK(ptr<uint8_t>(t)[2] == 1);
  }
  {
    std::string s, body;
    putKey(s, 1, 0);
    putVarint(s, 1);
    putKey(s, 2, 0);
    putVarint(s, 10); // FLOAT16
    putVarint(body, 0xC100);
    putBytes(s, 5, body);
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(halfToFloat(ptr<uint16_t>(t)[0]) == -2.5f);
  }
  {
    std::string s, body;
    putKey(s, 2, 0);
    putVarint(s, 11); // DOUBLE, scalar
    double d = 3.5;
    putKey(s, 10, 1);
    s.append(reinterpret_cast<char *>(&d), 8);
    HostTensor t = parseTensorProto(s.data(), s.size());
    CHECK(t.shape.rank == 0);
    CHECK(ptr<double>(t)[0] == 3.5);
  }
}

TEST_CASE("TensorProto errors", "[pb]") {
  auto parse = [](const std::string &s) { return parseTensorProto(s.data(), s.size()); };
  std::string s;
  putKey(s, 1, 0);
  putVarint(s, 4);
  putKey(s, 2, 0);
  putVarint(s, 1);
  float f = 1.f;
  std::string two;
  two.append(reinterpret_cast<char *>(&f), 4).append(reinterpret_cast<char *>(&f), 4);
  std::string few = s;
  putBytes(few, 4, two);
  REQUIRE_THROWS_WITH(parse(few), Catch::Contains("float_data holds 2 values, f32 4 needs 4"));
  std::string raw = s;
  putBytes(raw, 9, two);
  REQUIRE_THROWS_WITH(parse(raw), Catch::Contains("raw_data holds 8 bytes, f32 4 needs 16"));
  std::string str;
  putKey(str, 2, 0);
  putVarint(str, 8);
  REQUIRE_THROWS_WITH(parse(str), Catch::Contains("STRING (8) is not supported"));
  std::string trunc = raw.substr(0, raw.size() - 3);
  REQUIRE_THROWS_WITH(parse(trunc), Catch::Contains("truncated"));
  std::string ext = s;
  putKey(ext, 14, 0);
  putVarint(ext, 1);
  REQUIRE_THROWS_WITH(parse(ext), Catch::Contains("external data"));
  REQUIRE_THROWS_WITH(parse(std::string("\xff\xff\xff", 3)), Catch::Contains("truncated varint"));
}

TEST_CASE("half and bfloat16 conversions", "[half]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = halfToFloat(uint16_t(h));
    if (std::isnan(f))
      CHECK(std::isnan(halfToFloat(floatToHalf(f))));
    else if (floatToHalf(f) != h)
      FAIL("half " << h << " -> " << f << " -> " << floatToHalf(f));
  }
  CHECK(floatToHalf(1e6f) == 0x7C00);
  CHECK(floatToHalf(65519.f) == 0x7BFF);
  CHECK(floatToHalf(65520.f) == 0x7C00);
  CHECK(floatToHalf(1.0f + 1.0f / 2048) == 0x3C00); // tie to even
  CHECK(floatToHalf(1e-8f) == 0);
  CHECK(halfToFloat(0x0001) == std::ldexp(1.f, -24));
  CHECK(bf16ToFloat(floatToBf16(3.140625f)) == 3.140625f);
  CHECK(floatToBf16(1.f) == 0x3F80);
}

TEST_CASE("AtomicFile: all or nothing, durable or not", "[file]") {
  std::string dir = tmpDir() + "/atomic";
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  std::string path = dir + "/a.bin";
  writeFileAtomic(path, "old");
  {
    AtomicFile f(path);
    f.write("new, but never committed");
    CHECK(listDir(dir).size() == 2); // a.bin and the hidden temporary
  }
  CHECK(readFileBytes(path) == "old");
  CHECK(listDir(dir) == std::vector<std::string>{"a.bin"});
  {
    AtomicFile f(path);
    f.write("ne", 2);
    f.write(std::string("w"));
    f.commit(/*durable=*/true);
  }
  CHECK(readFileBytes(path) == "new");
  writeFileAtomic(path, "newer", /*durable=*/true);
  CHECK(readFileBytes(path) == "newer");
  CHECK(listDir(dir) == std::vector<std::string>{"a.bin"});
  REQUIRE_THROWS_WITH(AtomicFile(dir + "/no/such/dir/x"),
                      Catch::Contains("cannot write '" + dir + "/no/such/dir/x': No such file or directory"));
  // a temporary is renamed, so a directory in the way fails at commit
  REQUIRE(mkdir((dir + "/d").c_str(), 0755) == 0);
  REQUIRE(mkdir((dir + "/d/sub").c_str(), 0755) == 0);
  AtomicFile f(dir + "/d/sub");
  f.write("x");
  REQUIRE_THROWS_WITH(f.commit(), Catch::Contains("cannot write '" + dir + "/d/sub'"));
}

TEST_CASE("safetensors write and mmap-read", "[safetensors]") {
  std::string path = tmpDir() + "/w.safetensors";
  HostTensor a = random(DType::F32, {3, 4}), b = random(DType::I64, {5}, -9, 9),
             c = random(DType::Bool, {2, 2}), d = random(DType::F16, {3});
  writeSafetensors(path, {{"layer.0/weight", a.view()}, {"b", b.view()}, {"mask", c.view()}, {"h", d.view()}},
                   {{"format", "pt"}});
  SafetensorsFile f(path);
  CHECK(f.tensors().size() == 4);
  CHECK(f.metadata().at("format") == "pt");
  const SafetensorsEntry *e = f.find("layer.0/weight");
  REQUIRE(e);
  CHECK(e->dtype == "F32");
  CHECK(e->shape == Dims{3, 4});
  CHECK(std::memcmp(e->data, a.data(), 48) == 0);
  CHECK(f.find("b")->type == DType::I64);
  CHECK(std::memcmp(f.find("b")->data, b.data(), 40) == 0);
  CHECK(f.find("mask")->dtype == "BOOL");
  CHECK(f.find("nope") == nullptr);
  writeSafetensors(path, {{"a", a.view()}}, {}, /*durable=*/true);
  CHECK(SafetensorsFile(path).tensors().size() == 1);
  // `what` names the file in errors
  REQUIRE_THROWS_WITH(SafetensorsFile(tmpDir() + "/none.safetensors", "checkpoint"),
                      Catch::Contains("cannot open checkpoint '" + tmpDir() + "/none.safetensors'"));
}

TEST_CASE("SafetensorsWriter: one tensor at a time, all or nothing", "[safetensors]") {
  std::string path = tmpDir() + "/stream.safetensors";
  unlink(path.c_str());
  HostTensor a = random(DType::F32, {3, 4}), b = random(DType::I64, {5}, -9, 9);
  {
    SafetensorsWriter w(path, {{"a", DType::F32, {3, 4}}, {"b", DType::I64, {5}}},
                        {{"bb.step", "7"}});
    w.append(a.view());
    // not there before commit
    CHECK(access(path.c_str(), F_OK) != 0);
    REQUIRE_THROWS_WITH(w.append(a.view()),
                        Catch::Contains("tensor 'b' appended as f32 3x4, declared as i64 5"));
    REQUIRE_THROWS_WITH(w.commit(), Catch::Contains("1 of 2 tensors written"));
    w.append(b.view());
    REQUIRE_THROWS_WITH(w.append(b.view()),
                        Catch::Contains("more tensors appended than the header declares"));
    w.commit(/*durable=*/true);
  }
  SafetensorsFile f(path);
  CHECK(f.metadata().at("bb.step") == "7");
  CHECK(f.find("a")->shape == Dims{3, 4});
  CHECK(std::memcmp(f.find("a")->data, a.data(), 48) == 0);
  CHECK(std::memcmp(f.find("b")->data, b.data(), 40) == 0);
  // A writer given up before commit leaves the previous file as it was.
  {
    SafetensorsWriter w(path, {{"c", DType::F32, {1}}});
  }
  CHECK(SafetensorsFile(path).tensors().size() == 2);
}

TEST_CASE("CRC-32C: RFC 3720's vectors, in pieces too", "[crc]") {
  const std::string digits = "123456789";
  CHECK(crc32c(0, digits.data(), digits.size()) == 0xE3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0');
  for (int i = 0; i < 32; ++i)
    up[i] = static_cast<char>(i);
  CHECK(crc32c(0, zeros.data(), 32) == 0x8A9136AAu);
  CHECK(crc32c(0, ones.data(), 32) == 0x62A8AB43u);
  CHECK(crc32c(0, up.data(), 32) == 0x46DD794Eu);
  CHECK(crc32c(0, nullptr, 0) == 0u);
  // Continued over any split: the 8-byte steps and the tail agree.
  for (size_t cut = 0; cut <= up.size(); ++cut)
    CHECK(crc32c(crc32c(0, up.data(), cut), up.data() + cut, 32 - cut) == 0x46DD794Eu);
}

TEST_CASE("CRC-32C: long inputs (three streams, combined) equal short pieces",
          "[crc]") {
  // Pieces under the three-stream loop's 24 KiB run as one stream; the
  // whole, 100 KiB and change, as four rounds of three and a tail.
  std::vector<unsigned char> data(100 * 1024 + 13);
  uint32_t x = 12345;
  for (unsigned char &c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<unsigned char>(x >> 24);
  }
  uint32_t pieces = 0;
  for (size_t at = 0; at < data.size(); at += 1000)
    pieces = crc32c(pieces, data.data() + at, std::min<size_t>(1000, data.size() - at));
  CHECK(crc32c(0, data.data(), data.size()) == pieces);
  // Started from a CRC, and from an odd offset.
  CHECK(crc32c(crc32c(0, data.data(), 7), data.data() + 7, data.size() - 7) ==
        pieces);
}

TEST_CASE("SafetensorsWriter: the data's checksum in the metadata", "[safetensors]") {
  std::string path = tmpDir() + "/checksum.safetensors";
  HostTensor a = random(DType::F32, {3, 4}), b = random(DType::I64, {5}, -9, 9);
  {
    SafetensorsWriter w(path, {{"a", DType::F32, {3, 4}}, {"b", DType::I64, {5}}},
                        {{"bb.step", "7"}}, /*checksum=*/true);
    w.append(a.view());
    w.append(b.view());
    w.commit();
  }
  SafetensorsFile f(path);
  uint32_t recorded = 0;
  REQUIRE(f.recordedChecksum(recorded));
  const uint32_t want = crc32c(crc32c(0, a.data(), 48), b.data(), 40);
  CHECK(recorded == want);
  CHECK(f.dataChecksum() == want);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", want);
  CHECK(f.metadata().at(kDataChecksum) == hex);
  CHECK(f.metadata().at("bb.step") == "7");
  // Without it, none is recorded.
  writeSafetensors(path, {{"a", a.view()}});
  CHECK_FALSE(SafetensorsFile(path).recordedChecksum(recorded));
}

namespace {

/// A .safetensors file from a literal JSON header and data (header length
/// exactly as given: no padding, so data can be misaligned).
std::string writeRaw(const std::string &name, const std::string &json, const std::string &data) {
  std::string path = tmpDir() + "/" + name;
  std::string s;
  uint64_t n = json.size();
  for (int k = 0; k < 8; ++k)
    s += char((n >> (8 * k)) & 0xFF);
  s += json + data;
  writeFileAtomic(path, s);
  return path;
}

} // namespace

TEST_CASE("safetensors errors name the file and the tensor", "[safetensors]") {
  std::string data(16, '\0');
  auto p = writeRaw("trunc.safetensors", R"({"w": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]}})", data);
  REQUIRE_THROWS_WITH(SafetensorsFile(p), Catch::Contains("trunc.safetensors': tensor 'w': data_offsets [0, 32]") &&
                                              Catch::Contains("truncated"));
  p = writeRaw("size.safetensors", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", data);
  REQUIRE_THROWS_WITH(SafetensorsFile(p), Catch::Contains("tensor 'w': 16 data bytes do not hold F32 3"));
  p = writeRaw("json.safetensors", R"({"w": {"dtype": "F32", "shape": [4], )", data);
  REQUIRE_THROWS_WITH(SafetensorsFile(p), Catch::Contains("json.safetensors': malformed JSON header"));
  p = writeRaw("short.safetensors", "", "");
  REQUIRE_THROWS_WITH(SafetensorsFile(p), Catch::Contains("malformed JSON header"));
  {
    std::string path = tmpDir() + "/hdr.safetensors";
    writeFileAtomic(path, std::string("\xff\xff\x00\x00\x00\x00\x00\x00{}", 10));
    REQUIRE_THROWS_WITH(SafetensorsFile(path), Catch::Contains("header length 65535 runs past the end"));
  }
  REQUIRE_THROWS_WITH(SafetensorsFile(tmpDir() + "/missing.safetensors"),
                      Catch::Contains("cannot open weights file") && Catch::Contains("No such file"));
  // Unicode escapes and foreign dtypes are fine when not used.
  p = writeRaw("ok.safetensors",
               R"({"__metadata__": {"k": "v\u00e9"}, "u": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]},)"
               R"( "w\"q": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]}})",
               std::string(8, '\0'));
  SafetensorsFile f(p);
  CHECK(f.metadata().at("k") == "v\xc3\xa9");
  CHECK(!f.find("u")->known);
  CHECK(f.find("w\"q")->shape.rank == 0);
}

namespace {
void noop(Context *) {}
} // namespace

TEST_CASE("ModelInfo and Context: arena, weights, checks", "[context]") {
  ModelInfo info;
  setModelName(&info, "tiny");
  addWeight(&info, "w", DType::F32, {3, 4});
  addWeight(&info, "ids", DType::I64, {2});
  addFunction(&info, "forward", noop);
  addInput(&info, "x", DType::F32, {2, 3}, 0);
  addOutput(&info, "y", DType::F32, {2, 4}, 64);
  setArenaSize(&info, 100);
  HostTensor w = random(DType::F32, {3, 4});
  int64_t ids[2] = {7, -7};
  std::string path = tmpDir() + "/tiny.safetensors";
  writeSafetensors(path, {{"ids", Tensor(ids, DType::I64, {2})}, {"w", w.view()}, {"extra", w.view()}});
  auto ctx = createContext(info, path);
  CHECK(reinterpret_cast<uintptr_t>(arena(ctx.get(), 0)) % 64 == 0);
  CHECK(static_cast<char *>(arena(ctx.get(), 64)) - static_cast<char *>(arena(ctx.get(), 0)) == 64);
  CHECK(std::memcmp(weight(ctx.get(), 0), w.data(), 48) == 0);
  CHECK(static_cast<const int64_t *>(weight(ctx.get(), 1))[1] == -7);
  REQUIRE_THROWS_WITH(weight(ctx.get(), 2), Catch::Contains("weight index 2 outside the model's 2 weights"));
  REQUIRE_THROWS_WITH(arena(ctx.get(), 101), Catch::Contains("outside the arena of 100 bytes"));
  REQUIRE_THROWS_WITH(state(ctx.get(), 0), Catch::Contains("state index 0 outside the model's 0 states"));
  const FunctionInfo *fwd = info.function("forward");
  REQUIRE(fwd);
  CHECK(fwd->fn == noop);
  CHECK(info.function("train_step") == nullptr);
  Tensor y = arenaTensor(ctx.get(), fwd->outputs[0]);
  CHECK(y.shape == Dims{2, 4});

  // misaligned tensor data gets copied to aligned memory
  std::string hdr = R"({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [1, 49]},)"
                    R"( "ids": {"dtype": "I64", "shape": [2], "data_offsets": [49, 65]}})";
  std::string data(1, 'x');
  data.append(static_cast<const char *>(w.data()), 48);
  data.append(reinterpret_cast<const char *>(ids), 16);
  auto mis = writeRaw("mis.safetensors", hdr, data);
  auto ctx2 = createContext(info, mis);
  CHECK(reinterpret_cast<uintptr_t>(weight(ctx2.get(), 0)) % 4 == 0);
  CHECK(reinterpret_cast<uintptr_t>(weight(ctx2.get(), 1)) % 8 == 0);
  CHECK(std::memcmp(weight(ctx2.get(), 0), w.data(), 48) == 0);
  CHECK(static_cast<const int64_t *>(weight(ctx2.get(), 1))[0] == 7);

  // errors
  std::string p2 = tmpDir() + "/bad.safetensors";
  writeSafetensors(p2, {{"w", w.view()}});
  REQUIRE_THROWS_WITH(createContext(info, p2),
                      Catch::Contains("weights file '" + p2 + "': tensor 'ids' is missing"));
  writeSafetensors(p2, {{"w", w.view()}, {"ids", Tensor(ids, DType::I32, {4})}});
  REQUIRE_THROWS_WITH(createContext(info, p2),
                      Catch::Contains("tensor 'ids' has dtype I32, the model expects I64"));
  writeSafetensors(p2, {{"w", Tensor(w.data(), DType::F32, {4, 3})}, {"ids", Tensor(ids, DType::I64, {2})}});
  REQUIRE_THROWS_WITH(createContext(info, p2),
                      Catch::Contains("tensor 'w' has shape 4x3, the model expects 3x4"));
  REQUIRE_THROWS_WITH(createContext(info, tmpDir() + "/none.safetensors"),
                      Catch::Contains("cannot open weights file"));

  // a model without weights needs no file
  ModelInfo noW;
  addFunction(&noW, "forward", noop);
  addInput(&noW, "x", DType::F32, {2}, 0);
  setArenaSize(&noW, 8);
  CHECK(createContext(noW, "/nonexistent")->weights.empty());
}

namespace {
// A stage backward as generated code writes it: its stash input and its
// gradient output through inputBuffer/outputBuffer.
void doubleStash(Context *ctx) {
  const float *s = static_cast<const float *>(inputBuffer(ctx, 0, -1));
  float *g = static_cast<float *>(outputBuffer(ctx, 0, 0));
  for (int i = 0; i < 4; ++i)
    g[i] = 2 * s[i];
}
} // namespace

TEST_CASE("Bound inputs and outputs: the driver's memory instead of the arena", "[context]") {
  ModelInfo info;
  addFunction(&info, "stage0_backward", doubleStash);
  addInput(&info, "stash0", DType::F32, {4}, -1, "stash");
  addOutput(&info, "grad:w", DType::F32, {4}, 0, "grad");
  setArenaSize(&info, 64);
  auto ctx = createContext(info, "/nonexistent");
  const FunctionInfo &fn = *info.function("stage0_backward");

  float slot[4] = {1, 2, 3, 4}, acc[4] = {0, 0, 0, 0};
  // Unbound, the output is the arena's; the stash has no arena place.
  bindInput(ctx.get(), 0, slot);
  runFunction(ctx.get(), fn);
  CHECK(outputTensor(ctx.get(), fn, 0).data == arena(ctx.get(), 0));
  CHECK(static_cast<float *>(arena(ctx.get(), 0))[3] == 8);
  CHECK(inputTensor(ctx.get(), fn, 0).data == slot);
  // Bound, the function writes the accumulator and leaves the arena alone.
  static_cast<float *>(arena(ctx.get(), 0))[3] = -1;
  bindOutput(ctx.get(), 0, acc);
  runFunction(ctx.get(), fn);
  CHECK(acc[0] == 2);
  CHECK(acc[3] == 8);
  CHECK(static_cast<float *>(arena(ctx.get(), 0))[3] == -1);
  CHECK(outputTensor(ctx.get(), fn, 0).data == acc);
  // Cleared, a stash without a binding is an error naming it and the
  // function, and the arena view of it refuses too.
  clearBindings(ctx.get());
  REQUIRE_THROWS_WITH(runFunction(ctx.get(), fn),
                      Catch::Contains("input 0 ('stash0') of function "
                                      "'stage0_backward' has no place in the "
                                      "arena and was not bound"));
  REQUIRE_THROWS_WITH(arenaTensor(ctx.get(), fn.inputs[0]),
                      Catch::Contains("'stash0' (role stash) has no place in the arena"));

  // Only a stash or a gradient input may go without an arena place.
  ModelInfo bad;
  addFunction(&bad, "forward", noop);
  addInput(&bad, "x", DType::F32, {4}, -1);
  setArenaSize(&bad, 64);
  REQUIRE_THROWS_WITH(createContext(bad, "/nonexistent"),
                      Catch::Contains("lies outside the arena"));
}

TEST_CASE("ModelInfo and Context: functions, states, attributes", "[context]") {
  ModelInfo info;
  setModelName(&info, "trainer");
  addState(&info, "w", DType::F32, {3, 4}, true);
  addState(&info, "w#exp_avg", DType::F32, {3, 4}, false);
  addState(&info, "step_count", DType::I64, {}, false);
  addFunction(&info, "train_step", noop);
  addInput(&info, "x", DType::F32, {2, 3}, 0);
  addInput(&info, "labels", DType::I64, {2}, 64, "labels");
  addInput(&info, "lr", DType::F32, {}, 80, "lr");
  addOutput(&info, "loss", DType::F32, {}, 84, "loss");
  setArenaSize(&info, 88);
  addFunction(&info, "eval_step", noop);
  addInput(&info, "x", DType::F32, {2, 3}, 0);
  setArenaSize(&info, 400);
  setAttribute(&info, "train.lr", "0.1");
  setAttribute(&info, "train.lr", "0.01");
  CHECK(info.attributes.at("train.lr") == "0.01");
  REQUIRE(info.functions.size() == 2);
  CHECK(info.functions[0].inputs.size() == 3);
  CHECK(info.functions[1].arenaSize == 400);
  CHECK(info.functions[0].inputWithRole("lr")->offset == 80);
  CHECK(info.functions[0].inputWithRole("step") == nullptr);
  CHECK(info.functions[0].outputWithRole("loss")->name == "loss");

  HostTensor w = random(DType::F32, {3, 4});
  std::string path = tmpDir() + "/trainer.safetensors";
  writeSafetensors(path, {{"w", w.view()}});
  auto ctx = createContext(info, path);
  CHECK(ctx->arena.size() == 400); // the largest function's
  REQUIRE_THROWS_WITH(arena(ctx.get(), 401), Catch::Contains("outside the arena of 400 bytes"));
  for (int64_t k = 0; k < 3; ++k)
    CHECK(reinterpret_cast<uintptr_t>(state(ctx.get(), k)) % 64 == 0);
  CHECK(std::memcmp(state(ctx.get(), 0), w.data(), 48) == 0);
  Tensor m = stateTensor(ctx.get(), 1);
  CHECK(m.shape == Dims{3, 4});
  for (int64_t i = 0; i < 12; ++i)
    CHECK(static_cast<float *>(m.data)[i] == 0.f);
  CHECK(*static_cast<int64_t *>(state(ctx.get(), 2)) == 0);
  static_cast<float *>(state(ctx.get(), 0))[0] = 42.f; // states are writable
  CHECK(stateTensor(ctx.get(), 0).dtype == DType::F32);
  REQUIRE_THROWS_WITH(state(ctx.get(), 3), Catch::Contains("state index 3 outside the model's 3 states"));

  // a fromWeights state is checked like a weight
  writeSafetensors(path, {{"w", Tensor(w.data(), DType::F32, {4, 3})}});
  REQUIRE_THROWS_WITH(createContext(info, path),
                      Catch::Contains("weights file '" + path + "': tensor 'w' has shape 4x3, the model expects 3x4"));
  writeSafetensors(path, {{"v", w.view()}});
  REQUIRE_THROWS_WITH(createContext(info, path), Catch::Contains("tensor 'w' is missing"));

  // A pipeline stage's process: some states, some functions.
  ContextOptions some;
  some.heldStates = {false, true, true};
  some.runsFunction = {true, false};
  auto part = createContext(info, "/nonexistent", some); // w is not read
  CHECK(part->arena.size() == 88); // train_step's only
  CHECK(!holdsState(part.get(), 0));
  CHECK(holdsState(part.get(), 1));
  CHECK(part->states[0].size() == 0);
  CHECK(stateTensor(part.get(), 1).shape == Dims{3, 4});
  REQUIRE_THROWS_WITH(state(part.get(), 0),
                      Catch::Contains("state 'w' is not held by this process"));
  ContextOptions wrong;
  wrong.heldStates = {true};
  REQUIRE_THROWS_WITH(createContext(info, path, wrong),
                      Catch::Contains("1 held-state flags for 3 states"));
}

TEST_CASE("validateModel checks what bb_describe declared", "[context]") {
  auto oneFunction = [](ModelInfo &m, const char *name = "forward") {
    addFunction(&m, name, noop);
  };
  ModelInfo bad;
  oneFunction(bad);
  addInput(&bad, "x", DType::F32, {2, 3}, 0);
  addOutput(&bad, "y", DType::F32, {2, 3}, 8);
  setArenaSize(&bad, 24);
  REQUIRE_THROWS_WITH(validateModel(bad),
                      Catch::Contains("output 'y' (24 bytes at offset 8) lies outside the arena of 24 bytes of "
                                      "function 'forward'"));
  ModelInfo dup;
  oneFunction(dup);
  addInput(&dup, "x", DType::F32, {1}, 0);
  addInput(&dup, "x", DType::F32, {1}, 0);
  setArenaSize(&dup, 4);
  REQUIRE_THROWS_WITH(validateModel(dup), Catch::Contains("declares input 'x' twice"));
  // the same names in two functions are fine; two functions of one name not
  ModelInfo two;
  oneFunction(two, "train_step");
  addInput(&two, "x", DType::F32, {1}, 0);
  setArenaSize(&two, 4);
  oneFunction(two, "eval_step");
  addInput(&two, "x", DType::F32, {1}, 0);
  setArenaSize(&two, 4);
  validateModel(two);
  oneFunction(two, "eval_step");
  REQUIRE_THROWS_WITH(validateModel(two), Catch::Contains("declares function 'eval_step' twice"));

  ModelInfo none;
  REQUIRE_THROWS_WITH(validateModel(none), Catch::Contains("model declares no function"));
  REQUIRE_THROWS_WITH(addInput(&none, "x", DType::F32, {1}, 0),
                      Catch::Contains("model declares input 'x' before any function"));
  ModelInfo noFn;
  addFunction(&noFn, "forward", nullptr);
  REQUIRE_THROWS_WITH(validateModel(noFn), Catch::Contains("function 'forward' has no entry point"));

  ModelInfo states;
  oneFunction(states);
  addState(&states, "w", DType::F32, {2}, false);
  addState(&states, "w", DType::F32, {2}, false);
  REQUIRE_THROWS_WITH(validateModel(states), Catch::Contains("declares state 'w' twice"));

  ModelInfo roles;
  oneFunction(roles, "train_step");
  addInput(&roles, "lr", DType::F32, {1}, 0, "lr");
  setArenaSize(&roles, 8);
  REQUIRE_THROWS_WITH(validateModel(roles),
                      Catch::Contains("function 'train_step' input 'lr' (role lr) is f32 1, not an f32 scalar"));
  ModelInfo unknown;
  oneFunction(unknown);
  addOutput(&unknown, "z", DType::F32, {}, 0, "labels");
  setArenaSize(&unknown, 8);
  REQUIRE_THROWS_WITH(validateModel(unknown), Catch::Contains("output 'z' has unknown role 'labels'"));
  ModelInfo twice;
  oneFunction(twice);
  addOutput(&twice, "a", DType::F32, {}, 0, "loss");
  addOutput(&twice, "b", DType::F32, {}, 4, "loss");
  setArenaSize(&twice, 8);
  REQUIRE_THROWS_WITH(validateModel(twice), Catch::Contains("declares two outputs with role 'loss'"));
}
