// Training checkpoints: write/read round trip with metadata, and the checks
// on reading.
#include "TestUtil.h"

#include "bbrt/safetensors.h"
#include "runtime/driver/Checkpoint.h"

#include <dirent.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace bbrt;
using namespace bbrt::test;
using namespace bbrt::driver;

namespace {

void noop(Context *) {}

ModelInfo model() {
  ModelInfo info;
  setModelName(&info, "ckpt-model");
  addState(&info, "w", DType::F32, {3, 4}, false);
  addState(&info, "w#exp_avg", DType::F32, {3, 4}, false);
  addState(&info, "count", DType::I64, {2}, false);
  addFunction(&info, "train_step", noop);
  setArenaSize(&info, 0);
  return info;
}

void fillStates(Context *ctx) {
  for (size_t k = 0; k < ctx->states.size(); ++k) {
    Tensor t = stateTensor(ctx, k);
    HostTensor r = random(t.dtype, t.shape, -50, 50);
    std::memcpy(t.data, r.data(), static_cast<size_t>(t.nbytes()));
  }
}

int countEntries(const std::string &dir) {
  int n = 0;
  DIR *d = opendir(dir.c_str());
  while (dirent *e = readdir(d))
    n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
  closedir(d);
  return n;
}

/// What every case starts from: the model, its context, a fresh directory
/// and the checkpoint path in it.
struct CheckpointFixture {
  ModelInfo info = model();
  std::unique_ptr<Context> ctx = createContext(info, "");
  std::string dir = newTempDir("ckpt");
  std::string path = checkpointPath(dir);
};

} // namespace

TEST_CASE_METHOD(CheckpointFixture, "checkpoint round trip with metadata", "[checkpoint]") {
  fillStates(ctx.get());
  CHECK(path == dir + "/checkpoint.safetensors");
  CheckpointMeta meta;
  meta.step = 120;
  meta.dataPosition = 123456789012LL;
  meta.rng = 0xfedcba9876543210ull;
  meta.seed = 1337;
  meta.shuffle = true;
  meta.data = "x=a b.npy labels=\"y\".npy";
  meta.model = info.name;
  writeCheckpoint(path, ctx.get(), meta);
  CHECK(countEntries(dir) == 1); // no temporary left

  SafetensorsFile file(path);
  CHECK(file.metadata().at("bb.format") == "1");
  CHECK(file.metadata().at("bb.step") == "120");
  CHECK(file.metadata().at("bb.shuffle") == "1");
  CHECK(file.tensors().size() == 3);

  auto ctx2 = createContext(info, "");
  CheckpointMeta got = readCheckpoint(path, ctx2.get());
  CHECK(got.step == 120);
  CHECK(got.dataPosition == 123456789012LL);
  CHECK(got.rng == 0xfedcba9876543210ull);
  CHECK(got.seed == 1337);
  CHECK(got.shuffle);
  CHECK(got.data == meta.data);
  CHECK(got.model == "ckpt-model");
  for (size_t k = 0; k < info.states.size(); ++k)
    CHECK(std::memcmp(ctx2->states[k].data(), ctx->states[k].data(), ctx->states[k].size()) == 0);

  // a second write replaces the first
  fillStates(ctx.get());
  meta.step = 130;
  meta.shuffle = false;
  writeCheckpoint(path, ctx.get(), meta);
  got = readCheckpoint(path, ctx2.get());
  CHECK(got.step == 130);
  CHECK(!got.shuffle);
  CHECK(std::memcmp(ctx2->states[0].data(), ctx->states[0].data(), 48) == 0);
  CHECK(countEntries(dir) == 1);
}

TEST_CASE_METHOD(CheckpointFixture, "a damaged checkpoint is refused by its checksum", "[checkpoint]") {
  fillStates(ctx.get());
  CheckpointMeta meta;
  meta.step = 3;
  meta.model = "ckpt-model";
  writeCheckpoint(path, ctx.get(), meta);
  uint32_t recorded = 0;
  REQUIRE(SafetensorsFile(path, "checkpoint").recordedChecksum(recorded));
  CHECK(readCheckpoint(path, ctx.get()).step == 3);
  // One bit of the last tensor's bytes flipped: the shapes and metadata
  // still read, the checksum does not match, and no state is touched.
  std::string bytes = readFileBytes(path);
  bytes[bytes.size() - 3] ^= 0x10;
  writeFileAtomic(path, bytes);
  HostTensor before(DType::F32, {3, 4});
  std::memcpy(before.data(), ctx->states[0].data(), 48);
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::StartsWith("checkpoint '" + path + "': its tensor data does not match the checksum "
                                        "it was written with (bb.data_crc32c ") &&
                          Catch::EndsWith("): the file is damaged; resume from another copy"));
  CHECK(std::memcmp(before.data(), ctx->states[0].data(), 48) == 0);
}

TEST_CASE_METHOD(CheckpointFixture, "reading a checkpoint checks tensors and metadata", "[checkpoint]") {
  HostTensor w = random(DType::F32, {3, 4}), c(DType::I64, {2});
  const std::map<std::string, std::string> md = {{"bb.format", "1"},   {"bb.step", "5"},
                                                 {"bb.data_position", "0"}, {"bb.rng", "1"},
                                                 {"bb.seed", "1"},     {"bb.shuffle", "0"},
                                                 {"bb.data", "d"},     {"bb.model", "m"}};
  writeSafetensors(path, {{"w", w.view()}, {"count", c.view()}}, md);
  fillStates(ctx.get());
  HostTensor before(DType::F32, {3, 4});
  std::memcpy(before.data(), ctx->states[0].data(), 48);
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': tensor 'w#exp_avg' is missing"));
  // nothing restored from a checkpoint that does not fit
  CHECK(std::memcmp(before.data(), ctx->states[0].data(), 48) == 0);

  writeSafetensors(path, {{"w", Tensor(w.data(), DType::F32, {4, 3})}, {"w#exp_avg", w.view()}, {"count", c.view()}},
                   md);
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': tensor 'w' has shape 4x3, the model expects 3x4"));
  writeSafetensors(path, {{"w", w.view()}, {"w#exp_avg", w.view()}, {"count", Tensor(c.data(), DType::I32, {4})}},
                   md);
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': tensor 'count' has dtype I32, the model expects I64"));

  auto withMeta = [&](const std::string &key, const char *value) {
    std::map<std::string, std::string> m = md;
    if (value)
      m[key] = value;
    else
      m.erase(key);
    writeSafetensors(path, {{"w", w.view()}, {"w#exp_avg", w.view()}, {"count", c.view()}}, m);
  };
  withMeta("bb.rng", nullptr);
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': metadata bb.rng is missing"));
  withMeta("bb.step", "-3");
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': metadata bb.step is '-3', not a number"));
  withMeta("bb.format", "2");
  REQUIRE_THROWS_WITH(readCheckpoint(path, ctx.get()),
                      Catch::Equals("checkpoint '" + path + "': format '2' is not supported (1 is)"));
  REQUIRE_THROWS_WITH(readCheckpoint(dir + "/none.safetensors", ctx.get()),
                      Catch::Contains("cannot open checkpoint '" + dir + "/none.safetensors'"));
  // a failed write leaves the previous checkpoint intact (a directory where
  // the temporary file goes makes the write fail, even for root)
  withMeta("bb.step", "5");
  std::string tmp = dir + "/.checkpoint.safetensors.tmp-" + std::to_string(getpid());
  REQUIRE(mkdir(tmp.c_str(), 0755) == 0);
  REQUIRE_THROWS_WITH(writeCheckpoint(path, ctx.get(), CheckpointMeta()),
                      Catch::Contains("cannot write '" + path + "'"));
  REQUIRE(rmdir(tmp.c_str()) == 0);
  CHECK(readCheckpoint(path, ctx.get()).step == 5);
}
