//===- DeviceMesh.h - a logical mesh over a cluster's devices ---*- C++ -*-===//
//
// Sharding speaks of mesh axes ("split over axis 1"); collectives run over the
// devices that differ only along those axes. A mesh lays its shape row-major
// over consecutive cluster devices, which are numbered host-major, so the last
// axes stay within a host and the first ones cross hosts. A pipeline stage
// takes a sub-range of the devices.
//
//===----------------------------------------------------------------------===//
#ifndef BB_COMPILER_COSTMODEL_DEVICEMESH_H
#define BB_COMPILER_COSTMODEL_DEVICEMESH_H

#include "compiler/cluster/Cluster.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace mlir::bb::costmodel {

class DeviceMesh {
public:
  /// A mesh of `shape` over cluster devices [firstDevice, firstDevice + size).
  /// Fails, in one line, on an empty shape, a non-positive size or a range
  /// the cluster does not have.
  static llvm::Expected<DeviceMesh> create(const cluster::Cluster &cluster,
                                           llvm::ArrayRef<int64_t> shape,
                                           int64_t firstDevice = 0);

  llvm::ArrayRef<int64_t> shape() const { return dims; }
  int64_t size() const { return numDevices; }
  int64_t firstDevice() const { return first; }

  /// The cluster device at mesh coordinates `coords`.
  int64_t deviceAt(llvm::ArrayRef<int64_t> coords) const;
  /// The mesh coordinates of cluster device `device`, which must be in it.
  llvm::SmallVector<int64_t> coordsOf(int64_t device) const;

  /// The devices a collective over `axes` groups with `device`: those whose
  /// coordinates differ from its own only along `axes`, ordered row-major
  /// over `axes` in the order given (the first axis varies slowest).
  std::vector<int64_t> groupOf(int64_t device,
                               llvm::ArrayRef<int64_t> axes) const;
  /// Every group of a collective over `axes`, in mesh order of their first
  /// device; together they hold each device of the mesh once.
  std::vector<std::vector<int64_t>> groups(llvm::ArrayRef<int64_t> axes) const;

private:
  DeviceMesh(llvm::ArrayRef<int64_t> shape, int64_t firstDevice);

  llvm::SmallVector<int64_t> dims;
  int64_t first;
  int64_t numDevices;
};

} // namespace mlir::bb::costmodel

#endif // BB_COMPILER_COSTMODEL_DEVICEMESH_H
