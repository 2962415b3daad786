// Test helper for the driver tests (no Python needed):
//   rt_fixture mlp DIR            writes inputs, weights and reference outputs
//                                 for mlp_model.cpp into DIR
//   rt_fixture linreg DIR         writes data, weights and the ONNX template
//                                 for linreg_train_model.cpp into DIR
//   rt_fixture bigram DIR         writes token files and weights for
//                                 bigram_train_model.cpp into DIR
//   rt_fixture compare GOT REF ATOL
//                                 exit 0 when the two .npy files agree
//   rt_fixture compare-st GOT REF ATOL
//                                 exit 0 when the two .safetensors files hold
//                                 the same tensors (f32 within ATOL, others
//                                 equal bytes)
#include "bbrt/io.h"
#include "bbrt/safetensors.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace bbrt;

static HostTensor randomF32(std::mt19937 &g, const Dims &s) {
  HostTensor t(DType::F32, s);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < s.numel(); ++i)
    static_cast<float *>(t.data())[i] = u(g);
  return t;
}

static int mlp(const std::string &dir) {
  std::mt19937 g(42);
  HostTensor x = randomF32(g, {4, 8});
  HostTensor w1 = randomF32(g, {8, 16}), b1 = randomF32(g, {16});
  HostTensor w2 = randomF32(g, {3, 16}), b2 = randomF32(g, {3});
  const float *X = (const float *)x.data(), *W1 = (const float *)w1.data(),
              *B1 = (const float *)b1.data(), *W2 = (const float *)w2.data(),
              *B2 = (const float *)b2.data();
  HostTensor h(DType::F32, {4, 16}), y(DType::F32, {4, 3});
  float *H = (float *)h.data(), *Y = (float *)y.data();
  for (int m = 0; m < 4; ++m)
    for (int n = 0; n < 16; ++n) {
      double s = B1[n];
      for (int k = 0; k < 8; ++k)
        s += double(X[m * 8 + k]) * W1[k * 16 + n];
      H[m * 16 + n] = s > 0 ? float(s) : 0.f;
    }
  for (int m = 0; m < 4; ++m)
    for (int n = 0; n < 3; ++n) {
      double s = B2[n];
      for (int k = 0; k < 16; ++k)
        s += double(H[m * 16 + k]) * W2[n * 16 + k];
      Y[m * 3 + n] = float(s);
    }
  writeNpy(dir + "/x.npy", x.view());
  writeTensorProto(dir + "/x.pb", x.view(), "x");
  writeNpy(dir + "/y_ref.npy", y.view());
  writeNpy(dir + "/hidden_ref.npy", h.view());
  writeNpy(dir + "/x_2x8.npy", randomF32(g, {2, 8}).view());
  HostTensor xi(DType::I64, {4, 8});
  writeNpy(dir + "/x_i64.npy", xi.view());
  writeSafetensors(dir + "/mlp.safetensors", {{"fc1.weight", w1.view()},
                                              {"fc1.bias", b1.view()},
                                              {"fc2.weight", w2.view()},
                                              {"fc2.bias", b2.view()}},
                   {{"format", "pt"}});
  writeSafetensors(dir + "/badshape.safetensors",
                   {{"fc1.weight", Tensor(w1.data(), DType::F32, {16, 8})},
                    {"fc1.bias", b1.view()},
                    {"fc2.weight", w2.view()},
                    {"fc2.bias", b2.view()}});
  writeSafetensors(dir + "/missing.safetensors",
                   {{"fc1.weight", w1.view()}, {"fc1.bias", b1.view()}});
  return 0;
}

//===--- training fixtures ---------------------------------------------------===//

static void putVarint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}
static std::string field(int number, const std::string &bytes) {
  std::string s;
  putVarint(s, uint64_t(number) << 3 | 2);
  putVarint(s, bytes.size());
  return s + bytes;
}
static std::string intField(int number, uint64_t v) {
  std::string s;
  putVarint(s, uint64_t(number) << 3);
  putVarint(s, v);
  return s;
}

/// ValueInfoProto of a float tensor.
static std::string valueInfo(const std::string &name,
                             std::initializer_list<int64_t> dims) {
  std::string shape;
  for (int64_t d : dims)
    shape += field(1, intField(1, static_cast<uint64_t>(d))); // dim_value
  std::string tensorType = intField(1, 1) + field(2, shape);  // FLOAT
  return field(1, name) + field(2, field(1, tensorType));
}

static std::string node(const std::string &op, const std::string &a,
                        const std::string &b, const std::string &out) {
  return field(1, a) + field(1, b) + field(2, out) + field(3, op + "_0") +
         field(4, op);
}

/// linreg's ONNX model (y = x @ W + b) without its initializers W and b, as
/// the compiler stores it for --export.
static std::string linregTemplate() {
  std::string graph = field(1, node("MatMul", "x", "W", "xw")) +
                      field(1, node("Add", "xw", "b", "y")) +
                      field(2, "linreg") + field(11, valueInfo("x", {8, 4})) +
                      field(12, valueInfo("y", {8, 2}));
  return intField(1, 8) +                       // ir_version
         field(2, "rt_fixture") +               // producer_name
         field(7, graph) +                      // graph
         field(8, field(1, "") + intField(2, 17)); // opset_import
}

static int linreg(const std::string &dir) {
  std::mt19937 g(7);
  HostTensor wTrue = randomF32(g, {4, 2}), bTrue = randomF32(g, {2});
  auto data = [&](int64_t n, const std::string &xName,
                  const std::string &yName) {
    HostTensor x = randomF32(g, {n, 4}), y(DType::F32, {n, 2});
    const float *X = (const float *)x.data(), *W = (const float *)wTrue.data();
    float *Y = (float *)y.data();
    std::uniform_real_distribution<float> noise(-0.01f, 0.01f);
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < 2; ++j) {
        float s = ((const float *)bTrue.data())[j] + noise(g);
        for (int k = 0; k < 4; ++k)
          s += X[i * 4 + k] * W[k * 2 + j];
        Y[i * 2 + j] = s;
      }
    writeNpy(dir + "/" + xName, x.view());
    writeNpy(dir + "/" + yName, y.view());
  };
  data(64, "x.npy", "y.npy");
  data(16, "vx.npy", "vy.npy");
  HostTensor w = randomF32(g, {4, 2}), b(DType::F32, {2});
  std::string onnx = linregTemplate();
  writeFileAtomic(dir + "/template.onnx", onnx);
  Tensor tmpl(onnx.data(), DType::U8, {static_cast<int64_t>(onnx.size())});
  writeSafetensors(dir + "/linreg_train.safetensors",
                   {{"W", w.view()}, {"b", b.view()}, {"__onnx_model__", tmpl}});
  return 0;
}

/// Tokens that mostly follow t -> (5 t + 3) mod 16: a bigram model learns it.
static std::string bigramTokens(std::mt19937 &g, int64_t n) {
  std::string s;
  uint16_t t = 0;
  std::uniform_int_distribution<int> any(0, 15), coin(0, 9);
  for (int64_t i = 0; i < n; ++i) {
    s.append(reinterpret_cast<const char *>(&t), 2);
    t = coin(g) == 0 ? static_cast<uint16_t>(any(g))
                     : static_cast<uint16_t>((5 * t + 3) % 16);
  }
  return s;
}

static int bigram(const std::string &dir) {
  std::mt19937 g(11);
  writeFileAtomic(dir + "/train.bin", bigramTokens(g, 3000)); // raw (nanoGPT)
  std::vector<int32_t> header(256, 0);                        // llm.c
  header[0] = 20240520;
  header[1] = 1;
  header[2] = 500;
  writeFileAtomic(dir + "/val.bin",
                  std::string(reinterpret_cast<const char *>(header.data()),
                              1024) +
                      bigramTokens(g, 500));
  HostTensor e = randomF32(g, {16, 16});
  writeSafetensors(dir + "/bigram_train.safetensors", {{"E", e.view()}});
  return 0;
}

static int compare(const std::string &got, const std::string &ref,
                   double atol) {
  HostTensor a = readNpy(got), b = readNpy(ref);
  if (a.dtype != b.dtype || a.shape != b.shape) {
    fprintf(stderr, "compare: %s is %s %s, %s is %s %s\n", got.c_str(),
            dtypeName(a.dtype), formatDims(a.shape).c_str(), ref.c_str(),
            dtypeName(b.dtype), formatDims(b.shape).c_str());
    return 1;
  }
  if (a.dtype != DType::F32) {
    fprintf(stderr, "compare: only f32 supported\n");
    return 1;
  }
  for (int64_t i = 0; i < a.shape.numel(); ++i) {
    float u = ((const float *)a.data())[i], v = ((const float *)b.data())[i];
    if (!(std::fabs(u - v) <= atol)) {
      fprintf(stderr, "compare: element %lld: got %g, want %g\n",
              (long long)i, u, v);
      return 1;
    }
  }
  return 0;
}

static int compareSafetensors(const std::string &got, const std::string &ref,
                              double atol) {
  SafetensorsFile a(got), b(ref);
  if (a.tensors().size() != b.tensors().size()) {
    fprintf(stderr, "compare-st: %zu tensors in %s, %zu in %s\n",
            a.tensors().size(), got.c_str(), b.tensors().size(), ref.c_str());
    return 1;
  }
  for (const auto &kv : b.tensors()) {
    const SafetensorsEntry *e = a.find(kv.first);
    const SafetensorsEntry &r = kv.second;
    if (!e || e->dtype != r.dtype || e->shape != r.shape) {
      fprintf(stderr, "compare-st: tensor '%s' differs in presence, dtype or "
                      "shape\n",
              kv.first.c_str());
      return 1;
    }
    if (r.dtype != "F32") {
      if (e->nbytes != r.nbytes || memcmp(e->data, r.data, r.nbytes) != 0) {
        fprintf(stderr, "compare-st: tensor '%s' differs\n", kv.first.c_str());
        return 1;
      }
      continue;
    }
    const float *u = static_cast<const float *>(e->data),
                *v = static_cast<const float *>(r.data);
    for (int64_t i = 0; i < r.shape.numel(); ++i)
      if (!(std::fabs(u[i] - v[i]) <= atol)) {
        fprintf(stderr, "compare-st: '%s' element %lld: got %g, want %g\n",
                kv.first.c_str(), (long long)i, u[i], v[i]);
        return 1;
      }
  }
  return 0;
}

int main(int argc, char **argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "mlp" && argc == 3)
      return mlp(argv[2]);
    if (cmd == "linreg" && argc == 3)
      return linreg(argv[2]);
    if (cmd == "bigram" && argc == 3)
      return bigram(argv[2]);
    if (cmd == "compare" && argc == 5)
      return compare(argv[2], argv[3], atof(argv[4]));
    if (cmd == "compare-st" && argc == 5)
      return compareSafetensors(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: rt_fixture mlp|linreg|bigram DIR | compare|compare-st "
                    "GOT REF ATOL\n");
    return 2;
  } catch (const Error &e) {
    fprintf(stderr, "rt_fixture: %s\n", e.what());
    return 1;
  }
}
