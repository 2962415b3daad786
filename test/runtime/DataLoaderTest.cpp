// The training driver's data loader: token files (raw and llm.c), windows,
// wrap-around, shuffling; .npy arrays.
#include "TestUtil.h"

#include "runtime/driver/DataLoader.h"

#include <set>

using namespace bbrt;
using namespace bbrt::test;
using bbrt::driver::DataLoader;
using bbrt::driver::openDataLoader;

namespace {

TensorDecl field(const char *name, DType dtype, Dims shape, const char *role = "") {
  TensorDecl d;
  d.name = name;
  d.dtype = dtype;
  d.shape = shape;
  d.role = role;
  return d;
}

std::string tokenBytes(int64_t n) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t t = static_cast<uint16_t>(i);
    s.append(reinterpret_cast<const char *>(&t), 2);
  }
  return s;
}

std::string llmcFile(int32_t magic, int32_t version, int32_t count, const std::string &tokens) {
  std::vector<int32_t> header(256, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = count;
  return std::string(reinterpret_cast<const char *>(header.data()), 1024) + tokens;
}

/// Storage for one batch of `fields`.
struct Batch {
  std::vector<HostTensor> t;
  explicit Batch(const std::vector<TensorDecl> &fields) {
    for (const TensorDecl &f : fields)
      t.emplace_back(f.dtype, f.shape);
  }
  std::vector<Tensor> views() const {
    std::vector<Tensor> v;
    for (const HostTensor &h : t)
      v.push_back(h.view());
    return v;
  }
};

const std::vector<TensorDecl> kTokenFields = {field("idx", DType::I64, {2, 3}),
                                              field("labels", DType::I32, {2, 3}, "labels")};

/// The batch of kTokenFields at token position p: rows p + 3b ..
void checkTokenBatch(const Batch &b, int64_t p) {
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(ptr<int64_t>(b.t[0])[i] == p + i);
    CHECK(ptr<int32_t>(b.t[1])[i] == p + i + 1);
  }
}

} // namespace

TEST_CASE("token files: batches, windows and wrap-around", "[data]") {
  std::string dir = newTempDir("data");
  std::string raw = dir + "/train.bin", llmc = dir + "/llmc.bin";
  writeFileAtomic(raw, tokenBytes(100));
  writeFileAtomic(llmc, llmcFile(20240520, 1, 100, tokenBytes(100)));
  for (const std::string &path : {raw, llmc}) {
    INFO(path);
    auto loader = openDataLoader("--data", {path}, kTokenFields, false, 1337);
    CHECK(loader->itemsPerBatch() == 6);
    CHECK(std::string(loader->itemUnit()) == "tok");
    Batch b(kTokenFields);
    // B*T = 6 tokens a batch, 7 read: the last start is 93, so 0, 6, ..., 90
    // and then back to 0.
    for (int64_t p = 0; p <= 90; p += 6) {
      CHECK(loader->position() == p);
      loader->next(b.views());
      checkTokenBatch(b, p);
    }
    CHECK(loader->position() == 0);
    loader->next(b.views());
    checkTokenBatch(b, 0);
    loader->setPosition(93);
    loader->next(b.views());
    checkTokenBatch(b, 93);
    CHECK(loader->position() == 0);
    REQUIRE_THROWS_WITH(loader->setPosition(94),
                        Catch::Contains("--data '" + path + "': position 94 is outside the data (batches start "
                                        "at 0..93)"));
  }
}

TEST_CASE("token files: shuffled batches are reproducible from the rng state", "[data]") {
  std::string path = newTempDir("data") + "/train.bin";
  writeFileAtomic(path, tokenBytes(50));
  auto a = openDataLoader("--data", {path}, kTokenFields, true, 7);
  Batch b(kTokenFields);
  std::vector<int64_t> starts;
  uint64_t rngAfter2 = 0;
  for (int k = 0; k < 20; ++k) {
    a->next(b.views());
    int64_t p = ptr<int64_t>(b.t[0])[0];
    CHECK(p >= 0);
    CHECK(p <= 50 - 7);
    checkTokenBatch(b, p);
    starts.push_back(p);
    if (k == 1)
      rngAfter2 = a->rng();
  }
  CHECK(a->position() == 0); // shuffling does not move the position
  std::set<int64_t> distinct(starts.begin(), starts.end());
  CHECK(distinct.size() > 5);
  // the same seed gives the same starts; a restored rng state continues them
  auto c = openDataLoader("--data", {path}, kTokenFields, true, 7);
  c->setRng(rngAfter2);
  for (int k = 2; k < 20; ++k) {
    c->next(b.views());
    CHECK(ptr<int64_t>(b.t[0])[0] == starts[k]);
  }
  auto other = openDataLoader("--data", {path}, kTokenFields, true, 8);
  std::vector<int64_t> otherStarts;
  for (int k = 0; k < 20; ++k) {
    other->next(b.views());
    otherStarts.push_back(ptr<int64_t>(b.t[0])[0]);
  }
  CHECK(otherStarts != starts);
}

TEST_CASE("splitmix64", "[data]") {
  uint64_t state = 0;
  CHECK(driver::splitmix64(state) == 0xe220a8397b1dcdafull);
  CHECK(driver::splitmix64(state) == 0x6e789e6aa1b965f4ull);
  CHECK(state == 2 * 0x9e3779b97f4a7c15ull);
}

TEST_CASE("token file errors", "[data]") {
  std::string dir = newTempDir("data");
  auto err = [&](const std::string &name, const std::string &bytes, const std::string &want,
                 const std::vector<TensorDecl> &fields = kTokenFields) {
    std::string path = dir + "/" + name;
    writeFileAtomic(path, bytes);
    REQUIRE_THROWS_WITH(openDataLoader("--data", {path}, fields, false, 0),
                        Catch::Contains("--data '" + path + "': " + want));
  };
  err("odd.bin", std::string(13, '\0'), "13 bytes are not a whole number of uint16 tokens");
  err("short.bin", tokenBytes(6), "6 tokens, fewer than the 7 that one batch of 2x3 reads");
  err("v2.bin", llmcFile(20240520, 2, 10, tokenBytes(10)),
      "llm.c data version 2 is not supported (version 1: uint16 tokens)");
  err("count.bin", llmcFile(20240520, 1, 11, tokenBytes(10)),
      "the llm.c header announces 11 tokens, but the file has 1044 bytes");
  err("f32.bin", tokenBytes(100),
      "a token file needs a model with one input and labels, both integer [B, T]; this model's data "
      "inputs are x (f32 2x3), labels (i64 2x3)",
      {field("x", DType::F32, {2, 3}), field("labels", DType::I64, {2, 3}, "labels")});
  REQUIRE_THROWS_WITH(openDataLoader("--eval-data", {dir + "/none.bin"}, kTokenFields, false, 0),
                      Catch::Contains("--eval-data '" + dir + "/none.bin': cannot open: No such file"));
}

TEST_CASE(".npy arrays: rows, wrap-around, label conversion", "[data]") {
  std::string dir = newTempDir("data");
  HostTensor x = random(DType::F32, {10, 3});
  HostTensor y(DType::I32, {10});
  for (int i = 0; i < 10; ++i)
    ptr<int32_t>(y)[i] = 100 + i;
  writeNpy(dir + "/x.npy", x.view());
  writeNpy(dir + "/y.npy", y.view());
  const std::vector<TensorDecl> fields = {field("x", DType::F32, {4, 3}),
                                          field("labels", DType::I64, {4}, "labels")};
  auto loader = openDataLoader("--data", {"labels=" + dir + "/y.npy", "x=" + dir + "/x.npy"}, fields, false, 0);
  CHECK(std::string(loader->itemUnit()) == "samples");
  CHECK(loader->itemsPerBatch() == 4);
  Batch b(fields);
  // 10 rows, 4 a batch: rows 0-3, 4-7, then 8 + 4 > 10 wraps to 0
  for (int64_t start : {0, 4, 0, 4}) {
    CHECK(loader->position() == start);
    loader->next(b.views());
    CHECK(std::memcmp(b.t[0].data(), ptr<float>(x) + start * 3, 48) == 0);
    for (int64_t i = 0; i < 4; ++i)
      CHECK(ptr<int64_t>(b.t[1])[i] == 100 + start + i);
  }
  loader->setPosition(6);
  loader->next(b.views());
  CHECK(ptr<int64_t>(b.t[1])[0] == 106);
  CHECK(loader->position() == 0);

  auto shuffled = openDataLoader("--data", {"x=" + dir + "/x.npy", "labels=" + dir + "/y.npy"}, fields, true, 3);
  for (int k = 0; k < 10; ++k) {
    shuffled->next(b.views());
    int64_t start = ptr<int64_t>(b.t[1])[0] - 100;
    CHECK(start >= 0);
    CHECK(start <= 6);
    CHECK(std::memcmp(b.t[0].data(), ptr<float>(x) + start * 3, 48) == 0);
  }
}

TEST_CASE(".npy array errors", "[data]") {
  std::string dir = newTempDir("data");
  writeNpy(dir + "/x.npy", random(DType::F32, {10, 3}).view());
  writeNpy(dir + "/x64.npy", random(DType::F64, {10, 3}).view());
  writeNpy(dir + "/x4.npy", random(DType::F32, {10, 4}).view());
  writeNpy(dir + "/x9.npy", random(DType::F32, {9, 3}).view());
  writeNpy(dir + "/x2.npy", random(DType::F32, {2, 3}).view());
  writeNpy(dir + "/y.npy", random(DType::I64, {10}, 0, 5).view());
  writeNpy(dir + "/yf.npy", random(DType::F32, {10}).view());
  const std::vector<TensorDecl> fields = {field("x", DType::F32, {4, 3}),
                                          field("labels", DType::I64, {4}, "labels")};
  auto err = [&](std::vector<std::string> specs, const std::string &want) {
    for (std::string &s : specs)
      s = s.substr(0, s.find('=') + 1) + dir + "/" + s.substr(s.find('=') + 1);
    REQUIRE_THROWS_WITH(openDataLoader("--data", specs, fields, false, 0), Catch::Contains(want));
  };
  err({"x=x.npy"}, "--data: missing labels=FILE.npy for input 'labels' (i64 4 per batch)");
  err({"x=x.npy", "labels=y.npy", "z=y.npy"},
      "the model has no data input 'z' (its data inputs: x (f32 4x3), labels (i64 4))");
  err({"x=x.npy", "x=x.npy"}, "--data: input 'x' given more than once");
  err({"x=x64.npy", "labels=y.npy"}, "--data x='" + dir + "/x64.npy': dtype f64, the model's input 'x' is f32");
  err({"x=x.npy", "labels=yf.npy"}, "dtype f32, the model's input 'labels' is i64");
  err({"x=x4.npy", "labels=y.npy"}, "shape 10x4 does not fit input 'x' (f32 4x3): want Nx3");
  err({"x=x9.npy", "labels=y.npy"}, "--data labels='" + dir + "/y.npy': 10 rows, but " + dir +
                                        "/x9.npy has 9; every array needs the same count");
  err({"x=x2.npy", "labels=y.npy"}, "2 rows, fewer than one batch of 4");
  err({"x=none.npy", "labels=y.npy"}, "--data x='" + dir + "/none.npy': cannot open");
  REQUIRE_THROWS_WITH(openDataLoader("--data", {dir + "/a.bin", "x=" + dir + "/x.npy"}, fields, false, 0),
                      Catch::Contains("give one token FILE, or NAME=FILE.npy for each data input"));
}
