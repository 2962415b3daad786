// gather, transpose, concat, slice, broadcastTo, trilu, copy.
#include "TestUtil.h"

using namespace bbrt;
using namespace bbrt::test;

TEST_CASE("gather with negative indices on any axis", "[gather]") {
  for (DType dt : {DType::F32, DType::I64, DType::Bool, DType::F16}) {
    HostTensor data = random(dt, {4, 5, 3}, -9, 9);
    // axis 0, I64 indices incl. negative
    int64_t idx0[3] = {3, -1, 0};
    HostTensor o0 = zeros(dt, {3, 5, 3});
    gather(data.view(), Tensor(idx0, DType::I64, {3}), o0.view(), 0);
    std::vector<double> w0;
    for (int64_t j : {3, 3, 0})
      for (int64_t i = 0; i < 15; ++i)
        w0.push_back(at(data, j * 15 + i));
    requireClose(o0, w0, 0, 0);
    // axis 1, 2-d I32 indices
    int32_t idx1[4] = {-5, 4, 2, -2};
    HostTensor o1 = zeros(dt, {4, 2, 2, 3});
    gather(data.view(), Tensor(idx1, DType::I32, {2, 2}), o1.view(), 1);
    std::vector<double> w1;
    for (int64_t a = 0; a < 4; ++a)
      for (int32_t j : {0, 4, 2, 3})
        for (int64_t c = 0; c < 3; ++c)
          w1.push_back(at(data, a * 15 + j * 3 + c));
    requireClose(o1, w1, 0, 0);
    // last axis (negative axis), scalar index: dim dropped
    int64_t s = -1;
    HostTensor o2 = zeros(dt, {4, 5});
    gather(data.view(), Tensor(&s, DType::I64, {}), o2.view(), -1);
    std::vector<double> w2;
    for (int64_t i = 0; i < 20; ++i)
      w2.push_back(at(data, i * 3 + 2));
    requireClose(o2, w2, 0, 0);
  }
  // embedding-sized table (threads)
  HostTensor table = random(DType::F32, {1000, 64});
  HostTensor ids = random(DType::I64, {8, 128}, 0, 999);
  HostTensor emb = zeros(DType::F32, {8, 128, 64});
  gather(table.view(), ids.view(), emb.view(), 0);
  std::vector<double> we;
  for (int64_t t = 0; t < 8 * 128; ++t)
    for (int64_t c = 0; c < 64; ++c)
      we.push_back(at(table, int64_t(at(ids, t)) * 64 + c));
  requireClose(emb, we, 0, 0);
}

TEST_CASE("gather errors", "[gather]") {
  float d[6] = {}, o[2] = {};
  int64_t bad[2] = {0, 3};
  REQUIRE_THROWS_WITH(gather(Tensor(d, DType::F32, {3, 2}), Tensor(bad, DType::I64, {2}),
                             Tensor(o, DType::F32, {2, 2}), 0),
                      Catch::Contains("index 3 out of range for axis 0 of size 3"));
  int64_t neg[1] = {-4};
  REQUIRE_THROWS_WITH(gather(Tensor(d, DType::F32, {3, 2}), Tensor(neg, DType::I64, {1}),
                             Tensor(o, DType::F32, {1, 2}), 0),
                      Catch::Contains("index -4 out of range"));
  REQUIRE_THROWS_WITH(gather(Tensor(d, DType::F32, {3, 2}), Tensor(d, DType::F32, {1}),
                             Tensor(o, DType::F32, {1, 2}), 0),
                      Catch::Contains("indices have dtype f32"));
}

namespace {

void checkTranspose(DType dt, const Dims &is, const std::vector<int64_t> &perm) {
  HostTensor x = random(dt, is, -100, 100);
  int64_t od[kMaxRank];
  for (int i = 0; i < is.rank; ++i)
    od[i] = is.d[perm[i]];
  Dims os(od, is.rank);
  HostTensor y = zeros(dt, os);
  transpose(x.view(), y.view(), Dims(perm.data(), is.rank));
  int64_t idx[kMaxRank], ist[kMaxRank];
  strides(is, ist);
  std::vector<double> want;
  for (int64_t i = 0; i < os.numel(); ++i) {
    unravel(os, i, idx);
    int64_t off = 0;
    for (int d = 0; d < is.rank; ++d)
      off += idx[d] * ist[perm[d]];
    want.push_back(at(x, off));
  }
  INFO("in " << formatDims(is) << " dtype " << dtypeName(dt));
  requireClose(y, want, 0, 0);
}

} // namespace

TEST_CASE("transpose", "[transpose]") {
  for (DType dt : {DType::F32, DType::I64, DType::U8, DType::F16}) {
    checkTranspose(dt, {2, 3, 4, 5}, {0, 2, 1, 3});
    checkTranspose(dt, {2, 3, 4, 5}, {3, 1, 0, 2});
    checkTranspose(dt, {2, 3, 4, 5}, {0, 1, 3, 2});
    checkTranspose(dt, {2, 3, 4, 5}, {0, 1, 2, 3});
    checkTranspose(dt, {70, 130}, {1, 0});
    checkTranspose(dt, {1, 6, 1, 7}, {3, 2, 1, 0});
    checkTranspose(dt, {5}, {0});
  }
  checkTranspose(DType::F32, {4, 128, 12, 64}, {0, 2, 1, 3}); // threads
  checkTranspose(DType::F32, {8, 300, 70}, {0, 2, 1});
  checkTranspose(DType::F32, {3, 4, 5, 6, 2}, {4, 0, 3, 1, 2});
  float x[6] = {}, y[6] = {};
  REQUIRE_THROWS_WITH(transpose(Tensor(x, DType::F32, {2, 3}), Tensor(y, DType::F32, {2, 3}), {1, 0}),
                      Catch::Contains("is not input 2x3 permuted by 1x0"));
  REQUIRE_THROWS(transpose(Tensor(x, DType::F32, {2, 3}), Tensor(y, DType::F32, {2, 3}), {0, 0}));
}

TEST_CASE("concat along any axis", "[concat]") {
  for (DType dt : {DType::F32, DType::I64, DType::Bool}) {
    HostTensor a = random(dt, {2, 3, 4}, -9, 9), b = random(dt, {2, 1, 4}, -9, 9),
               c = random(dt, {2, 5, 4}, -9, 9);
    HostTensor o = zeros(dt, {2, 9, 4});
    concat(o.view(), 1, a.view(), b.view(), c.view());
    std::vector<double> want;
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < 12; ++j) want.push_back(at(a, i * 12 + j));
      for (int64_t j = 0; j < 4; ++j) want.push_back(at(b, i * 4 + j));
      for (int64_t j = 0; j < 20; ++j) want.push_back(at(c, i * 20 + j));
    }
    requireClose(o, want, 0, 0);
    // axis 0 and negative axis
    HostTensor o0 = zeros(dt, {4, 3, 4});
    concat(o0.view(), 0, a.view(), a.view());
    std::vector<double> w0 = values(a);
    w0.insert(w0.end(), w0.begin(), w0.end());
    requireClose(o0, w0, 0, 0);
    HostTensor o2 = zeros(dt, {2, 3, 8});
    Tensor parts[2] = {a.view(), a.view()};
    concatN(o2.view(), -1, parts, 2);
    std::vector<double> w2;
    for (int64_t r = 0; r < 6; ++r)
      for (int k = 0; k < 2; ++k)
        for (int64_t j = 0; j < 4; ++j)
          w2.push_back(at(a, r * 4 + j));
    requireClose(o2, w2, 0, 0);
  }
  // a single input and a big outer loop (threads)
  HostTensor x = random(DType::F32, {4096, 40}), y = random(DType::F32, {4096, 24});
  HostTensor o = zeros(DType::F32, {4096, 64});
  concat(o.view(), 1, x.view(), y.view());
  CHECK(ptr<float>(o)[64 * 100 + 41] == ptr<float>(y)[24 * 100 + 1]);
  float f[6] = {}, g[6] = {};
  REQUIRE_THROWS_WITH(concat(Tensor(g, DType::F32, {2, 3}), 0, Tensor(f, DType::F32, {1, 2})),
                      Catch::Contains("does not fit output"));
  REQUIRE_THROWS_WITH(concat(Tensor(g, DType::F32, {3, 2}), 0, Tensor(f, DType::F32, {1, 2})),
                      Catch::Contains("inputs sum to 1 along axis 0"));
}

namespace {

void checkSlice(DType dt, const Dims &is, const std::vector<int64_t> &starts,
                const std::vector<int64_t> &steps, const Dims &os) {
  HostTensor x = random(dt, is, -100, 100);
  HostTensor y = zeros(dt, os);
  slice(x.view(), y.view(), Dims(starts.data(), is.rank), Dims(steps.data(), is.rank));
  int64_t idx[kMaxRank], ist[kMaxRank];
  strides(is, ist);
  std::vector<double> want;
  for (int64_t i = 0; i < os.numel(); ++i) {
    unravel(os, i, idx);
    int64_t off = 0;
    for (int d = 0; d < is.rank; ++d) {
      int64_t s = starts[d] < 0 ? starts[d] + is.d[d] : starts[d];
      off += (s + idx[d] * steps[d]) * ist[d];
    }
    want.push_back(at(x, off));
  }
  requireClose(y, want, 0, 0);
}

} // namespace

TEST_CASE("slice with positive and negative strides", "[slice]") {
  for (DType dt : {DType::F32, DType::I32, DType::I64, DType::U8}) {
    checkSlice(dt, {5, 6}, {1, 0}, {1, 1}, {3, 6});
    checkSlice(dt, {5, 6}, {0, 1}, {2, 2}, {3, 3});
    checkSlice(dt, {5, 6}, {4, 5}, {-1, -1}, {5, 6});  // reverse both
    checkSlice(dt, {5, 6}, {-1, 4}, {-2, -3}, {3, 2});  // negative start
    checkSlice(dt, {2, 3, 4}, {1, 0, 3}, {1, 1, -1}, {1, 3, 4});
  }
  checkSlice(DType::F32, {64, 64, 32}, {0, 63, 0}, {1, -1, 2}, {64, 64, 16}); // threads
  float x[6] = {}, y[6] = {};
  REQUIRE_THROWS_WITH(slice(Tensor(x, DType::F32, {6}), Tensor(y, DType::F32, {4}), {3}, {1}),
                      Catch::Contains("reads [3, 6] step 1 outside size 6"));
  REQUIRE_THROWS_WITH(slice(Tensor(x, DType::F32, {6}), Tensor(y, DType::F32, {2}), {0}, {0}),
                      Catch::Contains("stride 0"));
}

TEST_CASE("broadcastTo", "[broadcast]") {
  for (DType dt : {DType::F32, DType::I64, DType::Bool}) {
    for (auto shapes : std::vector<std::pair<Dims, Dims>>{
             {{3, 1}, {2, 3, 4}}, {Dims(), {5}}, {{4}, {3, 4}}, {{2, 1, 3}, {2, 4, 3}}, {{3, 4}, {3, 4}}}) {
      HostTensor x = random(dt, shapes.first, -9, 9);
      HostTensor y = zeros(dt, shapes.second);
      broadcastTo(x.view(), y.view());
      int64_t idx[kMaxRank];
      std::vector<double> want;
      for (int64_t i = 0; i < y.shape.numel(); ++i) {
        unravel(y.shape, i, idx);
        want.push_back(at(x, bcastOffset(x.shape, idx, y.shape.rank)));
      }
      requireClose(y, want, 0, 0);
    }
  }
  float x[3] = {}, y[6] = {};
  REQUIRE_THROWS_WITH(broadcastTo(Tensor(x, DType::F32, {3}), Tensor(y, DType::F32, {3, 2})),
                      Catch::Contains("cannot broadcast input of shape 3 to 3x2"));
}

TEST_CASE("trilu upper and lower, any diagonal, in place", "[trilu]") {
  for (DType dt : {DType::F32, DType::I64, DType::Bool})
    for (bool upper : {true, false})
      for (int64_t k : {-2, -1, 0, 1, 3, 9}) {
        HostTensor x = random(dt, {2, 4, 5}, 1, 9);
        HostTensor y = zeros(dt, x.shape);
        trilu(x.view(), y.view(), upper, k);
        std::vector<double> want;
        for (int64_t i = 0; i < 40; ++i) {
          int64_t r = (i / 5) % 4, c = i % 5;
          bool keep = upper ? c - r >= k : c - r <= k;
          want.push_back(keep ? at(x, i) : 0);
        }
        requireClose(y, want, 0, 0);
        trilu(x.view(), x.view(), upper, k); // in place
        requireClose(x, want, 0, 0);
      }
}

TEST_CASE("copy is a byte copy", "[copy]") {
  HostTensor x = random(DType::F32, {6, 7});
  HostTensor y = zeros(DType::F32, {42});
  copy(x.view(), y.view());
  requireClose(y, values(x), 0, 0);
  HostTensor big = random(DType::I64, {1 << 20});
  HostTensor big2 = zeros(DType::I64, {1024, 1024});
  copy(big.view(), big2.view());
  CHECK(std::memcmp(big.data(), big2.data(), big.nbytes()) == 0);
  REQUIRE_THROWS_WITH(copy(x.view(), Tensor(y.data(), DType::F32, {41})), Catch::Contains("differ in size"));
}

TEST_CASE("dims and dtypes", "[types]") {
  CHECK(Dims{2, 3, 4}.numel() == 24);
  CHECK(Dims().numel() == 1);
  CHECK(formatDims(Dims{2, 3}) == "2x3");
  CHECK(formatDims(Dims()) == "scalar");
  CHECK(dtypeSize(DType::Bool) == 1);
  CHECK(dtypeSize(DType::BF16) == 2);
  CHECK(std::string(dtypeName(DType::I64)) == "i64");
  REQUIRE_THROWS_WITH((Dims{1, 2, 3, 4, 5, 6, 7, 8, 9}), Catch::Contains("exceeds the runtime's maximum rank 8"));
}
