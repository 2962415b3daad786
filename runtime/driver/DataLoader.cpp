//===- DataLoader.cpp - token files and .npy arrays as batches ------------===//
#include "runtime/driver/DataLoader.h"
#include "bbrt/io.h"
#include "runtime/core/Util.h"
#include "runtime/driver/Cli.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bbrt {
namespace driver {

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Uniform in [0, n), n > 0: outputs below 2^64 mod n are rejected so that
/// every remainder is equally likely.
static uint64_t uniformBelow(uint64_t &state, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  while (true) {
    uint64_t x = splitmix64(state);
    if (x >= threshold)
      return x % n;
  }
}

//===--- DataLoader --------------------------------------------------------===//

DataLoader::DataLoader(std::string what, int64_t count, int64_t stride,
                       int64_t window, bool shuffle, uint64_t seed)
    : what_(std::move(what)), count_(count), stride_(stride), window_(window),
      shuffle_(shuffle), rng_(seed) {}

void DataLoader::next(const std::vector<Tensor> &dest) {
  const int64_t lastStart = count_ - window_;
  int64_t start = position_;
  if (shuffle_)
    start = static_cast<int64_t>(
        uniformBelow(rng_, static_cast<uint64_t>(lastStart) + 1));
  read(start, dest);
  if (!shuffle_) {
    position_ += stride_;
    if (position_ > lastStart)
      position_ = 0;
  }
}

void DataLoader::setPosition(int64_t position) {
  if (position < 0 || position > count_ - window_)
    fail("%s: position %lld is outside the data (batches start at 0..%lld)",
         what_.c_str(), (long long)position, (long long)(count_ - window_));
  position_ = position;
}

namespace {

//===--- token files -------------------------------------------------------===//

constexpr int32_t kLlmcMagic = 20240520;
constexpr int64_t kLlmcHeaderBytes = 256 * 4;

/// A whole file mapped read-only (token files can be many gigabytes).
class MappedFile {
public:
  MappedFile(const std::string &path, const std::string &what) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fail("%s: cannot open: %s", what.c_str(), strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      fail("%s: not a regular file", what.c_str());
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      map_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map_ == MAP_FAILED) {
        int e = errno;
        close(fd);
        map_ = nullptr;
        fail("%s: cannot map: %s", what.c_str(), strerror(e));
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (map_)
      munmap(map_, size_);
  }
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  const unsigned char *data() const {
    return static_cast<const unsigned char *>(map_);
  }
  size_t size() const { return size_; }

private:
  void *map_ = nullptr;
  size_t size_ = 0;
};

class TokenLoader : public DataLoader {
public:
  TokenLoader(const std::string &what, std::unique_ptr<MappedFile> file,
              const uint16_t *tokens, int64_t count, int64_t B, int64_t T,
              size_t inputIndex, size_t labelsIndex, bool shuffle,
              uint64_t seed)
      : DataLoader(what, count, B * T, B * T + 1, shuffle, seed),
        file_(std::move(file)), tokens_(tokens), inputIndex_(inputIndex),
        labelsIndex_(labelsIndex) {}
  const char *itemUnit() const override { return "tok"; }

private:
  std::unique_ptr<MappedFile> file_;
  const uint16_t *tokens_;
  size_t inputIndex_, labelsIndex_;

  /// Label row b is input row b one token later, so one window of B*T + 1
  /// tokens holds both.
  void read(int64_t start, const std::vector<Tensor> &dest) override {
    store(dest[inputIndex_], tokens_ + start);
    store(dest[labelsIndex_], tokens_ + start + 1);
  }
  static void store(const Tensor &t, const uint16_t *src) {
    const int64_t n = t.numel();
    if (t.dtype == DType::I64) {
      int64_t *o = static_cast<int64_t *>(t.data);
      for (int64_t i = 0; i < n; ++i)
        o[i] = src[i];
    } else {
      int32_t *o = static_cast<int32_t *>(t.data);
      for (int64_t i = 0; i < n; ++i)
        o[i] = src[i];
    }
  }
};

std::string fieldList(const std::vector<TensorDecl> &fields) {
  std::string s;
  for (const TensorDecl &f : fields)
    s += (s.empty() ? "" : ", ") + f.name + " (" + describe(f) + ")";
  return s;
}

bool isIndexType(DType t) { return t == DType::I64 || t == DType::I32; }

std::unique_ptr<DataLoader>
openTokenFile(const std::string &flag, const std::string &path,
              const std::vector<TensorDecl> &fields, bool shuffle,
              uint64_t seed) {
  const std::string what = flag + " '" + path + "'";
  size_t in = fields.size(), lab = fields.size();
  for (size_t k = 0; k < fields.size(); ++k) {
    if (fields[k].role.empty() && in == fields.size())
      in = k;
    else if (fields[k].role == "labels")
      lab = k;
  }
  if (fields.size() != 2 || in == fields.size() || lab == fields.size() ||
      fields[in].shape.rank != 2 || fields[lab].shape != fields[in].shape ||
      !isIndexType(fields[in].dtype) || !isIndexType(fields[lab].dtype))
    fail("%s: a token file needs a model with one input and labels, both "
         "integer [B, T]; this model's data inputs are %s (pass NAME=FILE.npy "
         "for each)",
         what.c_str(), fieldList(fields).c_str());
  const int64_t B = fields[in].shape[0], T = fields[in].shape[1];

  auto file = std::make_unique<MappedFile>(path, what);
  const unsigned char *bytes = file->data();
  const size_t size = file->size();
  int32_t header[3] = {0, 0, 0};
  if (size >= static_cast<size_t>(kLlmcHeaderBytes))
    std::memcpy(header, bytes, sizeof header);
  const uint16_t *tokens;
  int64_t count;
  if (header[0] == kLlmcMagic) {
    if (header[1] != 1)
      fail("%s: llm.c data version %d is not supported (version 1: uint16 "
           "tokens)",
           what.c_str(), header[1]);
    count = header[2];
    if (count < 0 ||
        static_cast<uint64_t>(size) !=
            static_cast<uint64_t>(kLlmcHeaderBytes + 2 * count))
      fail("%s: the llm.c header announces %lld tokens, but the file has "
           "%zu bytes",
           what.c_str(), (long long)count, size);
    tokens = reinterpret_cast<const uint16_t *>(bytes + kLlmcHeaderBytes);
  } else {
    if (size % 2 != 0)
      fail("%s: %zu bytes are not a whole number of uint16 tokens",
           what.c_str(), size);
    count = static_cast<int64_t>(size / 2);
    tokens = reinterpret_cast<const uint16_t *>(bytes);
  }
  if (count < B * T + 1)
    fail("%s: %lld tokens, fewer than the %lld that one batch of %lldx%lld "
         "reads",
         what.c_str(), (long long)count, (long long)(B * T + 1), (long long)B,
         (long long)T);
  return std::make_unique<TokenLoader>(what, std::move(file), tokens, count,
                                       B, T, in, lab, shuffle, seed);
}

//===--- .npy arrays -------------------------------------------------------===//

class ArrayLoader : public DataLoader {
public:
  ArrayLoader(const std::string &what, std::vector<HostTensor> arrays,
              int64_t rows, int64_t B, bool shuffle, uint64_t seed)
      : DataLoader(what, rows, B, B, shuffle, seed),
        arrays_(std::move(arrays)) {}
  const char *itemUnit() const override { return "samples"; }

private:
  std::vector<HostTensor> arrays_; // parallel to the fields

  void read(int64_t start, const std::vector<Tensor> &dest) override {
    for (size_t k = 0; k < arrays_.size(); ++k) {
      const HostTensor &a = arrays_[k];
      const int64_t rowBytes = a.nbytes() / a.shape[0];
      const char *src = static_cast<const char *>(a.data()) + start * rowBytes;
      if (a.dtype == dest[k].dtype)
        std::memcpy(dest[k].data, src, static_cast<size_t>(dest[k].nbytes()));
      else // i32 <-> i64 labels
        convert(Tensor(src, a.dtype, dest[k].shape), dest[k]);
    }
  }
};

std::unique_ptr<DataLoader>
openArrays(const std::string &flag, const std::vector<std::string> &specs,
           const std::vector<TensorDecl> &fields, bool shuffle,
           uint64_t seed) {
  std::vector<std::string> files(fields.size());
  for (const std::string &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos)
      fail("%s '%s': give one token FILE, or NAME=FILE.npy for each data "
           "input (%s)",
           flag.c_str(), spec.c_str(), fieldList(fields).c_str());
    std::string name = spec.substr(0, eq);
    size_t k = 0;
    while (k < fields.size() && fields[k].name != name)
      ++k;
    if (k == fields.size())
      fail("%s '%s': the model has no data input '%s' (its data inputs: %s)",
           flag.c_str(), spec.c_str(), name.c_str(), fieldList(fields).c_str());
    if (!files[k].empty())
      fail("%s: input '%s' given more than once", flag.c_str(), name.c_str());
    files[k] = spec.substr(eq + 1);
  }
  for (size_t k = 0; k < fields.size(); ++k)
    if (files[k].empty())
      fail("%s: missing %s=FILE.npy for input '%s' (%s per batch)",
           flag.c_str(), fields[k].name.c_str(), fields[k].name.c_str(),
           describe(fields[k]).c_str());

  const int64_t B = fields[0].shape[0];
  std::vector<HostTensor> arrays;
  int64_t rows = -1;
  std::string what;
  for (size_t k = 0; k < fields.size(); ++k) {
    const TensorDecl &f = fields[k];
    const std::string where = flag + " " + f.name + "='" + files[k] + "'";
    try {
      arrays.push_back(readNpy(files[k]));
    } catch (const Error &e) {
      fail("%s: %s", where.c_str(), e.what());
    }
    const HostTensor &a = arrays.back();
    const bool labelsConvert = f.role == "labels" && isIndexType(f.dtype) &&
                               isIndexType(a.dtype);
    if (a.dtype != f.dtype && !labelsConvert)
      fail("%s: dtype %s, the model's input '%s' is %s", where.c_str(),
           dtypeName(a.dtype), f.name.c_str(), dtypeName(f.dtype));
    bool fits = a.shape.rank == f.shape.rank;
    for (int i = 1; fits && i < f.shape.rank; ++i)
      fits = a.shape[i] == f.shape[i];
    if (!fits) {
      std::string want = "N";
      for (int i = 1; i < f.shape.rank; ++i)
        want += "x" + std::to_string(f.shape[i]);
      fail("%s: shape %s does not fit input '%s' (%s): want %s",
           where.c_str(), formatDims(a.shape).c_str(), f.name.c_str(),
           describe(f).c_str(), want.c_str());
    }
    if (a.shape[0] < B)
      fail("%s: %lld rows, fewer than one batch of %lld", where.c_str(),
           (long long)a.shape[0], (long long)B);
    if (rows >= 0 && a.shape[0] != rows)
      fail("%s: %lld rows, but %s has %lld; every array needs the same "
           "count",
           where.c_str(), (long long)a.shape[0], files[0].c_str(),
           (long long)rows);
    rows = a.shape[0];
    what += (what.empty() ? flag + " " : ", ") + f.name + "='" + files[k] + "'";
  }
  return std::make_unique<ArrayLoader>(what, std::move(arrays), rows, B,
                                       shuffle, seed);
}

} // namespace

std::unique_ptr<DataLoader> openDataLoader(
    const std::string &flag, const std::vector<std::string> &specs,
    const std::vector<TensorDecl> &fields, bool shuffle, uint64_t seed) {
  BBRT_CHECK(!fields.empty(), "%s: the model has no data inputs", flag.c_str());
  for (const TensorDecl &f : fields)
    BBRT_CHECK(f.shape.rank >= 1 && f.shape[0] == fields[0].shape[0],
               "%s: the model's data input '%s' (%s) has no batch dimension "
               "of %lld",
               flag.c_str(), f.name.c_str(), describe(f).c_str(),
               (long long)(fields[0].shape.rank ? fields[0].shape[0] : 0));
  if (specs.size() == 1 && specs[0].find('=') == std::string::npos)
    return openTokenFile(flag, specs[0], fields, shuffle, seed);
  return openArrays(flag, specs, fields, shuffle, seed);
}

} // namespace driver
} // namespace bbrt
