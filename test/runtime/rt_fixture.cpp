// Test helper for the driver tests (no Python needed):
//   rt_fixture mlp DIR            writes inputs, weights and reference outputs
//                                 for mlp_model.cpp into DIR
//   rt_fixture compare GOT REF ATOL
//                                 exit 0 when the two .npy files agree
#include "bbrt/io.h"
#include "bbrt/safetensors.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
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

int main(int argc, char **argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "mlp" && argc == 3)
      return mlp(argv[2]);
    if (cmd == "compare" && argc == 5)
      return compare(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: rt_fixture mlp DIR | compare GOT REF ATOL\n");
    return 2;
  } catch (const Error &e) {
    fprintf(stderr, "rt_fixture: %s\n", e.what());
    return 1;
  }
}
