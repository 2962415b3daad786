//===- DeviceMesh.cpp - a logical mesh over a cluster's devices -----------===//
#include "compiler/costmodel/DeviceMesh.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cassert>

using namespace mlir::bb::costmodel;

DeviceMesh::DeviceMesh(llvm::ArrayRef<int64_t> shape, int64_t firstDevice)
    : dims(shape.begin(), shape.end()), first(firstDevice), numDevices(1) {
  for (int64_t dim : dims)
    numDevices *= dim;
}

llvm::Expected<DeviceMesh> DeviceMesh::create(const cluster::Cluster &cluster,
                                              llvm::ArrayRef<int64_t> shape,
                                              int64_t firstDevice) {
  std::string name =
      "mesh [" +
      llvm::join(
          llvm::map_range(shape, [](int64_t d) { return std::to_string(d); }),
          ", ") +
      "]";
  auto fail = [&](const llvm::Twine &problem) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name + ": " + problem);
  };
  if (shape.empty())
    return fail("a mesh needs at least one axis");
  int64_t size = 1;
  for (int64_t dim : shape) {
    if (dim <= 0)
      return fail("every axis must have a positive size");
    if (size > cluster.deviceCount() / dim)
      return fail("needs more devices than the cluster's " +
                  llvm::Twine(cluster.deviceCount()));
    size *= dim;
  }
  if (firstDevice < 0)
    return fail("the first device must be >= 0, got " +
                llvm::Twine(firstDevice));
  if (firstDevice + size > cluster.deviceCount())
    return fail("from device " + llvm::Twine(firstDevice) + " needs devices " +
                llvm::Twine(firstDevice) + ".." +
                llvm::Twine(firstDevice + size - 1) + "; the cluster has " +
                llvm::Twine(cluster.deviceCount()));
  return DeviceMesh(shape, firstDevice);
}

int64_t DeviceMesh::deviceAt(llvm::ArrayRef<int64_t> coords) const {
  assert(coords.size() == dims.size() && "one coordinate per axis");
  int64_t index = 0;
  for (auto [coord, dim] : llvm::zip_equal(coords, dims)) {
    assert(coord >= 0 && coord < dim && "coordinate out of range");
    index = index * dim + coord;
  }
  return first + index;
}

llvm::SmallVector<int64_t> DeviceMesh::coordsOf(int64_t device) const {
  assert(device >= first && device < first + numDevices && "not in the mesh");
  llvm::SmallVector<int64_t> coords(dims.size());
  int64_t index = device - first;
  for (size_t axis = dims.size(); axis-- > 0;) {
    coords[axis] = index % dims[axis];
    index /= dims[axis];
  }
  return coords;
}

std::vector<int64_t> DeviceMesh::groupOf(int64_t device,
                                         llvm::ArrayRef<int64_t> axes) const {
  llvm::SmallVector<int64_t> coords = coordsOf(device);
  int64_t groupSize = 1;
  for (int64_t axis : axes) {
    assert(axis >= 0 && axis < static_cast<int64_t>(dims.size()) &&
           "axis out of range");
    assert(llvm::count(axes, axis) == 1 && "an axis appears twice");
    groupSize *= dims[axis];
  }
  std::vector<int64_t> group;
  group.reserve(groupSize);
  for (int64_t member = 0; member < groupSize; ++member) {
    // `member` in row-major order over `axes`: the last axis varies fastest.
    int64_t rest = member;
    for (size_t i = axes.size(); i-- > 0;) {
      coords[axes[i]] = rest % dims[axes[i]];
      rest /= dims[axes[i]];
    }
    group.push_back(deviceAt(coords));
  }
  return group;
}

std::vector<std::vector<int64_t>>
DeviceMesh::groups(llvm::ArrayRef<int64_t> axes) const {
  std::vector<std::vector<int64_t>> result;
  for (int64_t device = first; device < first + numDevices; ++device) {
    llvm::SmallVector<int64_t> coords = coordsOf(device);
    // Each group is listed once: from its member at 0 along every axis.
    if (llvm::all_of(axes, [&](int64_t axis) { return coords[axis] == 0; }))
      result.push_back(groupOf(device, axes));
  }
  return result;
}
