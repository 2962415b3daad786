//===- OnnxExport.h - trained weights back into the ONNX model --*- C++ -*-===//
#ifndef BBRT_DRIVER_ONNXEXPORT_H
#define BBRT_DRIVER_ONNXEXPORT_H

#include "bbrt/bbrt.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace bbrt {
namespace driver {

/// Writes `path` atomically: the serialized ONNX ModelProto `onnxTemplate`
/// (the compiled model without its trained initializers), then one more
/// ModelProto.graph field whose GraphProto holds only `initializers`.
/// Protobuf merges repeated occurrences of a message field (and appends
/// repeated fields), so the file parses as the original model with these
/// initializers.
void writeOnnxWithInitializers(
    const std::string &path, const void *onnxTemplate, size_t templateSize,
    const std::vector<std::pair<std::string, Tensor>> &initializers);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_ONNXEXPORT_H
