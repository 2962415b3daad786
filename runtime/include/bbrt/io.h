//===- io.h - .npy and ONNX TensorProto (.pb) files -------------*- C++ -*-===//
#ifndef BBRT_IO_H
#define BBRT_IO_H

#include "bbrt/model.h"

#include <string>

namespace bbrt {

/// A tensor that owns its (64-byte aligned) storage.
struct HostTensor {
  DType dtype = DType::F32;
  Dims shape;
  AlignedBuffer storage;
  std::string name; // TensorProto name (empty for .npy)
  HostTensor() = default;
  HostTensor(DType dtype, const Dims &shape);
  Tensor view() const { return Tensor(storage.data(), dtype, shape); }
  void *data() const { return storage.data(); }
  int64_t nbytes() const { return shape.numel() * dtypeSize(dtype); }
};

/// NumPy's descr for `dtype`: "<f4", "|b1", ... (no bfloat16: throws).
const char *npyDescr(DType dtype);

/// .npy, format 1.0/2.0/3.0, little-endian, C order. Errors throw bbrt::Error
/// with a message that does not repeat the path.
HostTensor parseNpy(const void *bytes, size_t size);
HostTensor readNpy(const std::string &path);
/// The bytes of a .npy (format 1.0, or 2.0 when the header needs it).
std::string encodeNpy(const Tensor &t);
/// Writes atomically (temporary file in the same folder, then rename).
void writeNpy(const std::string &path, const Tensor &t);

/// ONNX TensorProto (dims, data_type, name, raw_data or the typed fields).
HostTensor parseTensorProto(const void *bytes, size_t size);
HostTensor readTensorProto(const std::string &path);
/// Encodes with raw_data.
std::string encodeTensorProto(const Tensor &t, const std::string &name);
void writeTensorProto(const std::string &path, const Tensor &t,
                      const std::string &name);

/// .npy or .pb, chosen by the file's content (NumPy magic) .
HostTensor readTensorFile(const std::string &path);

/// Whole file into memory; throws "cannot open: <strerror>".
std::string readFileBytes(const std::string &path);
/// A file written atomically: the bytes go to a hidden temporary file beside
/// `path` (".NAME.tmp-PID"), and commit() renames it over `path`. Destroyed
/// without commit() (after an error), it removes the temporary file and
/// `path` keeps its previous content. Errors throw "cannot write '<path>':
/// ...".
class AtomicFile {
public:
  explicit AtomicFile(const std::string &path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  void write(const void *data, size_t n);
  void write(const std::string &s) { write(s.data(), s.size()); }
  /// Overwrites `n` bytes already written, at byte `offset` of the file.
  void writeAt(size_t offset, const void *data, size_t n);
  /// durable: fsync the file before the rename and the directory after it,
  /// so that after a crash `path` holds the old or the new bytes, whole.
  void commit(bool durable = false);

private:
  /// Every byte of `data`, at the end (offset < 0) or at `offset`.
  void writeAll(const void *data, size_t n, int64_t offset);
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

/// fsync of directory `dir`, so that the names made, renamed and removed in
/// it survive a crash: 0, or the errno of the open or fsync that failed.
int syncDirectory(const std::string &dir);

/// Writes `bytes` atomically to `path` (see AtomicFile).
void writeFileAtomic(const std::string &path, const std::string &bytes,
                     bool durable = false);

/// CRC-32C (Castagnoli) of `n` bytes, continuing from `crc` (0 to start):
/// crc32c(crc32c(0, a, n), b, m) is the CRC of a then b.
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

/// Float16 / bfloat16 <-> float (round to nearest even).
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t h);
uint16_t floatToBf16(float f);

} // namespace bbrt

#endif // BBRT_IO_H
