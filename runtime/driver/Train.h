//===- Train.h - the command line of training programs ----------*- C++ -*-===//
#ifndef BBRT_DRIVER_TRAIN_H
#define BBRT_DRIVER_TRAIN_H

#include "bbrt/model.h"

#include <string>

namespace bbrt {
namespace driver {

/// Runs the training command line (docs/training.md, "The training binary")
/// of a model with a "train_step" function; `progName` is the program's name
/// for the usage text. Returns the exit code; errors throw bbrt::Error, which
/// main() prints as one line.
int runTraining(const ModelInfo &info, const std::string &progName, int argc,
                char **argv);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_TRAIN_H
