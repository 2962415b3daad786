//===- Cli.cpp - helpers shared by the programs' command lines ------------===//
#include "runtime/driver/Cli.h"
#include "runtime/core/Util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace bbrt {
namespace driver {

std::string optionValue(int argc, char **argv, int &i,
                        const std::string &opt) {
  std::string arg = argv[i];
  size_t eq = arg.find('=');
  if (arg.compare(0, 2, "--") == 0 && eq != std::string::npos)
    return arg.substr(eq + 1);
  if (i + 1 >= argc)
    fail("option %s needs a value (see --help)", opt.c_str());
  return argv[++i];
}

bool parseInt(const std::string &s, long long lo, long long hi,
              long long &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = strtoll(s.c_str(), &end, 10);
  if (errno || *end || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parseUint64(const std::string &s, unsigned long long &out) {
  // strtoull accepts a sign ("-1" wraps around): digits only.
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), nullptr, 10);
  if (errno)
    return false;
  out = v;
  return true;
}

bool parseDouble(const std::string &s, double &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  double v = strtod(s.c_str(), &end);
  if (errno || *end || !std::isfinite(v))
    return false;
  out = v;
  return true;
}

std::string baseName(const std::string &path) {
  size_t s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

void makeDirs(const std::string &dir, const std::string &what) {
  size_t i = 0;
  while (i <= dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos)
      j = dir.size();
    std::string cur = dir.substr(0, j);
    if (!cur.empty()) {
      struct stat st;
      if (stat(cur.c_str(), &st) != 0) {
        if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
          fail("cannot create %s '%s': %s", what.c_str(), dir.c_str(),
               strerror(errno));
      } else if (!S_ISDIR(st.st_mode)) {
        fail("%s '%s': '%s' is not a directory", what.c_str(), dir.c_str(),
             cur.c_str());
      }
    }
    i = j + 1;
  }
}

std::string describe(const TensorDecl &d) {
  return std::string(dtypeName(d.dtype)) + " " + formatDims(d.shape);
}

} // namespace driver
} // namespace bbrt
