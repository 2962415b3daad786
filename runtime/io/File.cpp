//===- File.cpp - whole-file reads, atomic writes, half floats ------------===//
#include "bbrt/io.h"
#include "runtime/core/Float16.h"
#include "runtime/core/Util.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bbrt {

HostTensor::HostTensor(DType dt, const Dims &s)
    : dtype(dt), shape(s),
      storage(static_cast<size_t>(s.numel() * dtypeSize(dt))) {}

std::string readFileBytes(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail("cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    close(fd);
    fail("cannot read: is a directory");
  }
  std::string out;
  if (st.st_size > 0)
    out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      close(fd);
      fail("cannot read: %s", strerror(e));
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

//===--- AtomicFile --------------------------------------------------------===//

static std::string dirName(const std::string &path) {
  size_t s = path.find_last_of('/');
  if (s == std::string::npos)
    return ".";
  return s == 0 ? "/" : path.substr(0, s);
}

AtomicFile::AtomicFile(const std::string &path) : path_(path) {
  // Hidden and beside the target: rename() is atomic only within one file
  // system, and a leftover from a killed process is not mistaken for output.
  size_t s = path.find_last_of('/');
  std::string dir = s == std::string::npos ? "" : path.substr(0, s + 1);
  std::string base = s == std::string::npos ? path : path.substr(s + 1);
  tmp_ = dir + "." + base + ".tmp-" + std::to_string(getpid());
  fd_ = open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    fail("cannot write '%s': %s", path_.c_str(), strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0)
    close(fd_);
  if (!committed_)
    unlink(tmp_.c_str());
}

void AtomicFile::writeAll(const void *data, size_t n, int64_t offset) {
  const char *p = static_cast<const char *>(data);
  while (n > 0) {
    ssize_t k = offset < 0 ? ::write(fd_, p, n)
                           : ::pwrite(fd_, p, n, static_cast<off_t>(offset));
    if (k < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot write '%s': %s", path_.c_str(), strerror(errno));
    }
    p += k;
    n -= static_cast<size_t>(k);
    if (offset >= 0)
      offset += k;
  }
}

void AtomicFile::write(const void *data, size_t n) { writeAll(data, n, -1); }

void AtomicFile::writeAt(size_t offset, const void *data, size_t n) {
  writeAll(data, n, static_cast<int64_t>(offset));
}

void AtomicFile::commit(bool durable) {
  if (durable && fsync(fd_) != 0)
    fail("cannot write '%s': fsync: %s", path_.c_str(), strerror(errno));
  int rc = close(fd_);
  fd_ = -1;
  if (rc != 0)
    fail("cannot write '%s': %s", path_.c_str(), strerror(errno));
  if (rename(tmp_.c_str(), path_.c_str()) != 0)
    fail("cannot write '%s': %s", path_.c_str(), strerror(errno));
  committed_ = true;
  if (durable) {
    // The rename itself is only on disk once the directory is.
    const std::string dir = dirName(path_);
    if (int e = syncDirectory(dir))
      fail("cannot write '%s': fsync of '%s': %s", path_.c_str(), dir.c_str(),
           strerror(e));
  }
}

int syncDirectory(const std::string &dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const int e = errno;
    if (fd >= 0)
      close(fd);
    return e;
  }
  close(fd);
  return 0;
}

void writeFileAtomic(const std::string &path, const std::string &bytes,
                     bool durable) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit(durable);
}

float halfToFloat(uint16_t h) { return halfBitsToFloat(h); }

uint16_t floatToHalf(float f) { return floatToHalfBits(f); }

float bf16ToFloat(uint16_t h) { return bf16BitsToFloat(h); }

uint16_t floatToBf16(float f) { return floatToBf16Bits(f); }

HostTensor readTensorFile(const std::string &path) {
  std::string bytes = readFileBytes(path);
  if (bytes.size() >= 6 && memcmp(bytes.data(), "\x93NUMPY", 6) == 0)
    return parseNpy(bytes.data(), bytes.size());
  return parseTensorProto(bytes.data(), bytes.size());
}

} // namespace bbrt
