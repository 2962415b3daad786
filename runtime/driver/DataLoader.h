//===- DataLoader.h - batches for the training driver -----------*- C++ -*-===//
//
// Fills the data inputs of a step function (its inputs with role "" and the
// "labels" input) from one of two kinds of files:
//
// - a token file (`--data FILE`): raw little-endian uint16 tokens (nanoGPT's
//   .bin) or llm.c's format (256 int32 header: magic 20240520, version 1,
//   token count; uint16 tokens follow). The model has one input and labels,
//   both integer [B, T]. A batch at position p reads tokens [p, p + B*T]:
//   input row b is tokens [p + b*T, p + b*T + T), label row b the same
//   window one token later.
// - .npy arrays (`--data NAME=FILE`, one per data input): [N, ...] with the
//   input's shape past its batch dim; a batch at position p is rows
//   [p, p + B).
//
// After a batch the position advances by the batch (B*T tokens or B rows) and
// wraps to 0 when the next batch would not fit. With shuffle, every batch
// instead starts at a position drawn uniformly from all that fit, by a
// splitmix64 generator whose one-word state is the loader's rng().
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_DRIVER_DATALOADER_H
#define BBRT_DRIVER_DATALOADER_H

#include "bbrt/model.h"

#include <memory>
#include <string>
#include <vector>

namespace bbrt {
namespace driver {

/// Advances `state` and returns the next splitmix64 output.
uint64_t splitmix64(uint64_t &state);

class DataLoader {
public:
  virtual ~DataLoader() = default;

  /// Writes the next batch into `dest` (one tensor per data input, in the
  /// order the loader was opened with) and advances.
  void next(const std::vector<Tensor> &dest);

  /// Where the next unshuffled batch starts (tokens or rows).
  int64_t position() const { return position_; }
  /// Throws when no batch fits at `position`.
  void setPosition(int64_t position);
  uint64_t rng() const { return rng_; }
  void setRng(uint64_t state) { rng_ = state; }

  /// Items of one batch and their unit, for the throughput figure:
  /// B*T "tok" or B "samples".
  int64_t itemsPerBatch() const { return stride_; }
  virtual const char *itemUnit() const = 0;

protected:
  /// `count` items (tokens or rows); a batch advances by `stride` and reads
  /// `window` items from its start.
  DataLoader(std::string what, int64_t count, int64_t stride, int64_t window,
             bool shuffle, uint64_t seed);
  virtual void read(int64_t start, const std::vector<Tensor> &dest) = 0;

  std::string what_; // the file(s), for errors

private:
  int64_t count_, stride_, window_;
  bool shuffle_;
  uint64_t rng_;
  int64_t position_ = 0;
};

/// Opens the --data (or --eval-data) values `specs` for the data inputs
/// `fields` of a step function (each with dim 0 = the batch). `flag` names
/// the option in errors. Every error throws one line naming the flag and the
/// file.
std::unique_ptr<DataLoader> openDataLoader(
    const std::string &flag, const std::vector<std::string> &specs,
    const std::vector<TensorDecl> &fields, bool shuffle, uint64_t seed);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_DATALOADER_H
