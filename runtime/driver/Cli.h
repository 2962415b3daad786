//===- Cli.h - helpers shared by the programs' command lines ----*- C++ -*-===//
#ifndef BBRT_DRIVER_CLI_H
#define BBRT_DRIVER_CLI_H

#include "bbrt/model.h"

#include <string>

namespace bbrt {
namespace driver {

/// The value of option `opt` (the text of argv[i] before any '='), written
/// as --opt=VALUE or as --opt VALUE (then i advances past the value). Throws
/// "option OPT needs a value (see --help)".
std::string optionValue(int argc, char **argv, int &i, const std::string &opt);

/// Decimal integer in [lo, hi], the whole string.
bool parseInt(const std::string &s, long long lo, long long hi,
              long long &out);
/// Decimal unsigned 64-bit integer, the whole string.
bool parseUint64(const std::string &s, unsigned long long &out);
/// A finite number (strtod syntax), the whole string.
bool parseDouble(const std::string &s, double &out);

/// The last component of `path`.
std::string baseName(const std::string &path);

/// Creates `dir` and its missing parents; `what` names it in errors
/// ("cannot create <what> 'DIR': ...", "<what> 'DIR': 'P' is not a
/// directory").
void makeDirs(const std::string &dir, const std::string &what);

/// "f32 4x8".
std::string describe(const TensorDecl &d);

} // namespace driver
} // namespace bbrt

#endif // BBRT_DRIVER_CLI_H
