//===- safetensors.h - memory-mapped .safetensors files ---------*- C++ -*-===//
#ifndef BBRT_SAFETENSORS_H
#define BBRT_SAFETENSORS_H

#include "bbrt/bbrt.h"
#include "bbrt/io.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bbrt {

struct SafetensorsEntry {
  std::string dtype; // as written in the file: "F32", "I64", "BOOL", ...
  bool known = false; // dtype maps to a bbrt::DType
  DType type = DType::F32;
  Dims shape;
  const void *data = nullptr;
  int64_t nbytes = 0;
};

/// A .safetensors file mapped read-only. Errors throw bbrt::Error naming the
/// file as `what` (e.g. "cannot open weights file '<path>': ...") and the
/// tensor.
class SafetensorsFile {
public:
  explicit SafetensorsFile(const std::string &path,
                           const std::string &what = "weights file");
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  const std::map<std::string, SafetensorsEntry> &tensors() const {
    return tensors_;
  }
  const std::map<std::string, std::string> &metadata() const { return meta_; }
  /// nullptr when absent.
  const SafetensorsEntry *find(const std::string &name) const;
  /// The CRC-32C of the data section (every byte after the header), and
  /// the one metadata kDataChecksum records (false when it records none).
  bool recordedChecksum(uint32_t &recorded) const;
  uint32_t dataChecksum() const;

private:
  std::string path_;
  void *map_ = nullptr;
  size_t size_ = 0;
  const unsigned char *data_ = nullptr;
  size_t dataSize_ = 0;
  std::map<std::string, SafetensorsEntry> tensors_;
  std::map<std::string, std::string> meta_;
};

/// "F32", "I64", "BOOL", ... for `dtype`.
const char *safetensorsDType(DType dtype);

/// Metadata key of the data section's CRC-32C, 8 lowercase hex digits
/// (SafetensorsWriter with `checksum`; checkpoints have it).
inline constexpr const char *kDataChecksum = "bb.data_crc32c";

/// Writes a .safetensors file one tensor at a time, so that a writer holds
/// at most one tensor in memory: the header (every tensor's name, dtype and
/// shape, in order) first, then each tensor's bytes as append() gets them.
/// The file appears at `path`, whole, on commit() only (AtomicFile in
/// bbrt/io.h; durable: fsynced); a writer destroyed before that leaves
/// nothing.
class SafetensorsWriter {
public:
  struct Entry {
    std::string name;
    DType dtype = DType::F32;
    Dims shape;
  };
  /// With `checksum`, the metadata also records the CRC-32C of the data
  /// section (kDataChecksum), computed as the tensors are appended.
  SafetensorsWriter(const std::string &path, std::vector<Entry> entries,
                    const std::map<std::string, std::string> &metadata = {},
                    bool checksum = false);
  ~SafetensorsWriter();
  /// The next entry's data (host memory, its dtype and shape).
  void append(const Tensor &t);
  /// After every entry was appended.
  void commit(bool durable = false);

private:
  std::string path_;
  std::vector<Entry> entries_;
  size_t next_ = 0;
  std::unique_ptr<AtomicFile> file_;
  /// Where kDataChecksum's placeholder value lies in the file (0: none),
  /// and the CRC so far.
  size_t checksumAt_ = 0;
  uint32_t crc_ = 0;
};

/// Writes tensors (in the given order) to a .safetensors file atomically;
/// durable: fsynced (see AtomicFile::commit in bbrt/io.h).
void writeSafetensors(const std::string &path,
                      const std::vector<std::pair<std::string, Tensor>> &tensors,
                      const std::map<std::string, std::string> &metadata = {},
                      bool durable = false);

} // namespace bbrt

#endif // BBRT_SAFETENSORS_H
