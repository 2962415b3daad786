//===- Sharding.cpp - split axes, mesh coordinates, shard arithmetic ------===//
//
// The pure half of bbrt/sharding.h: no MPI here, so the Catch2 tests check it
// in one process.
//
//===----------------------------------------------------------------------===//
#include "bbrt/sharding.h"
#include "runtime/core/Util.h"

#include <cctype>
#include <cstring>
#include <set>

namespace bbrt {

//===--- split axes text ---------------------------------------------------===//

namespace {

/// Recursive descent over "[[0], [], [1, 2]]".
class SplitParser {
public:
  explicit SplitParser(const std::string &text) : s_(text) {}

  SplitAxes parse() {
    SplitAxes out;
    skip();
    if (pos_ == s_.size())
      return out; // "": replicated
    expect('[');
    skip();
    if (peek() == ']') {
      ++pos_;
    } else {
      for (;;) {
        out.push_back(list());
        skip();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        break;
      }
    }
    skip();
    if (pos_ != s_.size())
      error("unexpected '" + std::string(1, s_[pos_]) + "' after the list");
    return out;
  }

private:
  const std::string &s_;
  size_t pos_ = 0;

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  [[noreturn]] void error(const std::string &what) const {
    fail("split axes '%s': %s (want e.g. \"[[0], [], [1, 2]]\")", s_.c_str(),
         what.c_str());
  }
  void expect(char c) {
    skip();
    if (peek() != c)
      error(pos_ == s_.size()
                ? std::string("expected '") + c + "' at the end"
                : std::string("expected '") + c + "' at offset " +
                      std::to_string(pos_));
    ++pos_;
  }
  std::vector<int64_t> list() {
    std::vector<int64_t> axes;
    expect('[');
    skip();
    if (peek() == ']') {
      ++pos_;
      return axes;
    }
    for (;;) {
      skip();
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        error("expected a mesh axis number at offset " + std::to_string(pos_));
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        v = v * 10 + (s_[pos_++] - '0');
        if (v > 1000000)
          error("mesh axis number too large");
      }
      axes.push_back(v);
      skip();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return axes;
    }
  }
};

} // namespace

SplitAxes parseSplitAxes(const std::string &text) {
  return SplitParser(text).parse();
}

std::string formatSplitAxes(const SplitAxes &split) {
  std::string s = "[";
  for (size_t d = 0; d < split.size(); ++d) {
    s += d ? ", [" : "[";
    for (size_t i = 0; i < split[d].size(); ++i)
      s += (i ? ", " : "") + std::to_string(split[d][i]);
    s += "]";
  }
  return s + "]";
}

bool isReplicated(const SplitAxes &split) {
  for (const std::vector<int64_t> &axes : split)
    if (!axes.empty())
      return false;
  return true;
}

void checkSplitAxes(const SplitAxes &split, const std::vector<int64_t> &mesh,
                    int rank) {
  const std::string text = formatSplitAxes(split);
  BBRT_CHECK(static_cast<int64_t>(split.size()) <= rank,
             "split axes %s: %zu entries for a tensor of rank %d",
             text.c_str(), split.size(), rank);
  std::set<int64_t> used;
  for (const std::vector<int64_t> &axes : split)
    for (int64_t a : axes) {
      BBRT_CHECK(a >= 0 && a < static_cast<int64_t>(mesh.size()),
                 "split axes %s: mesh axis %lld does not exist (mesh %s has "
                 "%zu ax%s)",
                 text.c_str(), (long long)a, formatMesh(mesh).c_str(),
                 mesh.size(), mesh.size() == 1 ? "is" : "es");
      BBRT_CHECK(used.insert(a).second,
                 "split axes %s: mesh axis %lld is used twice", text.c_str(),
                 (long long)a);
    }
}

//===--- meshes and groups -------------------------------------------------===//

int64_t meshSize(const std::vector<int64_t> &mesh) {
  int64_t n = 1;
  for (int64_t m : mesh)
    n *= m;
  return n;
}

std::string formatMesh(const std::vector<int64_t> &mesh) {
  if (mesh.empty())
    return "1";
  std::string s;
  for (size_t i = 0; i < mesh.size(); ++i)
    s += (i ? "x" : "") + std::to_string(mesh[i]);
  return s;
}

std::vector<int64_t> meshCoords(const std::vector<int64_t> &mesh,
                                int64_t rank) {
  std::vector<int64_t> c(mesh.size());
  for (size_t i = mesh.size(); i-- > 0;) {
    c[i] = rank % mesh[i];
    rank /= mesh[i];
  }
  return c;
}

int64_t meshRankAt(const std::vector<int64_t> &mesh,
                   const std::vector<int64_t> &coords) {
  int64_t r = 0;
  for (size_t i = 0; i < mesh.size(); ++i)
    r = r * mesh[i] + coords[i];
  return r;
}

int64_t axesSize(const std::vector<int64_t> &mesh,
                 const std::vector<int64_t> &axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= mesh[a];
  return n;
}

int64_t axesIndex(const std::vector<int64_t> &mesh,
                  const std::vector<int64_t> &coords,
                  const std::vector<int64_t> &axes) {
  int64_t i = 0;
  for (int64_t a : axes)
    i = i * mesh[a] + coords[a];
  return i;
}

std::vector<int64_t> groupRanks(const std::vector<int64_t> &mesh,
                                int64_t rank,
                                const std::vector<int64_t> &axes) {
  const int64_t n = axesSize(mesh, axes);
  std::vector<int64_t> coords = meshCoords(mesh, rank);
  std::vector<int64_t> ranks(n);
  for (int64_t g = 0; g < n; ++g) {
    int64_t rest = g;
    for (size_t i = axes.size(); i-- > 0;) {
      coords[axes[i]] = rest % mesh[axes[i]];
      rest /= mesh[axes[i]];
    }
    ranks[g] = meshRankAt(mesh, coords);
  }
  return ranks;
}

std::vector<int64_t> checkMeshAxes(const Dims &meshAxes,
                                   const std::vector<int64_t> &mesh,
                                   const char *what) {
  std::vector<int64_t> axes(meshAxes.d, meshAxes.d + meshAxes.rank);
  for (size_t i = 0; i < axes.size(); ++i) {
    BBRT_CHECK(axes[i] >= 0 && axes[i] < static_cast<int64_t>(mesh.size()),
               "%s: mesh axis %lld does not exist (%s)", what,
               (long long)axes[i],
               mesh.empty() ? "the model declares no mesh"
                            : ("mesh " + formatMesh(mesh)).c_str());
    BBRT_CHECK(i == 0 || axes[i] > axes[i - 1],
               "%s: mesh axes %s are not sorted and unique", what,
               formatDims(meshAxes).c_str());
  }
  return axes;
}

//===--- shapes and slices -------------------------------------------------===//

Dims globalShape(const Dims &local, const SplitAxes &split,
                 const std::vector<int64_t> &mesh) {
  Dims g = local;
  for (size_t d = 0; d < split.size() && static_cast<int>(d) < g.rank; ++d)
    g.d[d] *= axesSize(mesh, split[d]);
  return g;
}

Dims localShape(const Dims &global, const SplitAxes &split,
                const std::vector<int64_t> &mesh) {
  Dims l = global;
  for (size_t d = 0; d < split.size() && static_cast<int>(d) < l.rank; ++d) {
    const int64_t n = axesSize(mesh, split[d]);
    BBRT_CHECK(l.d[d] % n == 0,
               "dimension %zu of shape %s (%lld) does not split into %lld "
               "equal blocks",
               d, formatDims(global).c_str(), (long long)l.d[d],
               (long long)n);
    l.d[d] /= n;
  }
  return l;
}

Dims shardOffsets(const Dims &local, const SplitAxes &split,
                  const std::vector<int64_t> &mesh,
                  const std::vector<int64_t> &coords) {
  Dims o = local;
  for (int d = 0; d < o.rank; ++d)
    o.d[d] = d < static_cast<int>(split.size())
                 ? axesIndex(mesh, coords, split[d]) * local.d[d]
                 : 0;
  return o;
}

void copyBox(const void *src, const Dims &srcShape, const Dims &srcOffsets,
             void *dst, const Dims &dstShape, const Dims &dstOffsets,
             const Dims &box, int64_t elemSize) {
  const int rank = box.rank;
  BBRT_CHECK(srcShape.rank == rank && dstShape.rank == rank &&
                 srcOffsets.rank == rank && dstOffsets.rank == rank,
             "copyBox: ranks differ");
  for (int d = 0; d < rank; ++d)
    BBRT_CHECK(box.d[d] >= 0 && srcOffsets.d[d] >= 0 && dstOffsets.d[d] >= 0 &&
                   srcOffsets.d[d] + box.d[d] <= srcShape.d[d] &&
                   dstOffsets.d[d] + box.d[d] <= dstShape.d[d],
               "copyBox: box %s at %s / %s outside %s / %s",
               formatDims(box).c_str(), formatDims(srcOffsets).c_str(),
               formatDims(dstOffsets).c_str(), formatDims(srcShape).c_str(),
               formatDims(dstShape).c_str());
  if (box.numel() == 0)
    return;
  // Strides in bytes.
  int64_t sStride[kMaxRank], dStride[kMaxRank];
  int64_t s = elemSize, t = elemSize;
  for (int d = rank - 1; d >= 0; --d) {
    sStride[d] = s;
    dStride[d] = t;
    s *= srcShape.d[d];
    t *= dstShape.d[d];
  }
  // The innermost run: trailing dims that the box covers whole in both
  // tensors, plus the first dim that it does not.
  int inner = rank; // dims [inner, rank) form one contiguous run
  int64_t run = elemSize;
  while (inner > 0) {
    const int d = inner - 1;
    run *= box.d[d];
    inner = d;
    if (box.d[d] != srcShape.d[d] || box.d[d] != dstShape.d[d])
      break;
  }
  const char *sp = static_cast<const char *>(src);
  char *dp = static_cast<char *>(dst);
  for (int d = 0; d < rank; ++d) {
    sp += srcOffsets.d[d] * sStride[d];
    dp += dstOffsets.d[d] * dStride[d];
  }
  if (inner == 0) {
    std::memcpy(dp, sp, static_cast<size_t>(run));
    return;
  }
  int64_t idx[kMaxRank] = {};
  for (;;) {
    int64_t so = 0, doff = 0;
    for (int d = 0; d < inner; ++d) {
      so += idx[d] * sStride[d];
      doff += idx[d] * dStride[d];
    }
    std::memcpy(dp + doff, sp + so, static_cast<size_t>(run));
    int d = inner - 1;
    while (d >= 0 && ++idx[d] == box.d[d])
      idx[d--] = 0;
    if (d < 0)
      return;
  }
}

const std::vector<int64_t> &declMesh(const ModelInfo &info,
                                     const TensorDecl &decl) {
  return decl.mesh.empty() ? info.mesh : decl.mesh;
}

Dims globalShape(const ModelInfo &info, const TensorDecl &decl) {
  return globalShape(decl.shape, decl.split, declMesh(info, decl));
}

std::string shardingNote(const ModelInfo &info, const TensorDecl &decl) {
  if (globalShape(info, decl) == decl.shape)
    return "";
  return " (sharded " + formatSplitAxes(decl.split) + " over mesh " +
         formatMesh(declMesh(info, decl)) + ": " + formatDims(decl.shape) +
         " per rank)";
}

} // namespace bbrt
