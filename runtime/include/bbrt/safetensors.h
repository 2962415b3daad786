//===- safetensors.h - memory-mapped .safetensors files ---------*- C++ -*-===//
#ifndef BBRT_SAFETENSORS_H
#define BBRT_SAFETENSORS_H

#include "bbrt/bbrt.h"

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

private:
  std::string path_;
  void *map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, SafetensorsEntry> tensors_;
  std::map<std::string, std::string> meta_;
};

/// "F32", "I64", "BOOL", ... for `dtype`.
const char *safetensorsDType(DType dtype);

/// Writes tensors (in the given order) to a .safetensors file atomically;
/// durable: fsynced (see AtomicFile::commit in bbrt/io.h).
void writeSafetensors(const std::string &path,
                      const std::vector<std::pair<std::string, Tensor>> &tensors,
                      const std::map<std::string, std::string> &metadata = {},
                      bool durable = false);

} // namespace bbrt

#endif // BBRT_SAFETENSORS_H
