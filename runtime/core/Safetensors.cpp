//===- Safetensors.cpp - read (mmap) and write .safetensors ---------------===//
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
//    "__metadata__": {"k": "v"}}
// then the data; offsets count from the first byte after the header.
//
//===----------------------------------------------------------------------===//
#include "bbrt/io.h"
#include "bbrt/safetensors.h"
#include "runtime/core/Util.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bbrt {
namespace {

/// Minimal JSON reader for the safetensors header.
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  bool isInt = false;
  int64_t i = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;
};

class JsonParser {
public:
  JsonParser(const char *p, size_t n) : p_(p), end_(p + n) {}

  Json parseDocument() {
    Json v = parseValue(0);
    skipWs();
    if (p_ != end_)
      error("trailing characters");
    return v;
  }

private:
  const char *p_, *end_;

  [[noreturn]] void error(const char *what) {
    fail("malformed JSON header: %s", what);
  }
  void skipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' ||
                         *p_ == '\r'))
      ++p_;
  }
  bool consume(const char *lit) {
    size_t n = strlen(lit);
    if (static_cast<size_t>(end_ - p_) >= n && memcmp(p_, lit, n) == 0) {
      p_ += n;
      return true;
    }
    return false;
  }
  static void appendUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  uint32_t hex4() {
    if (end_ - p_ < 4)
      error("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else error("bad \\u escape");
    }
    return v;
  }
  std::string parseString() {
    if (p_ >= end_ || *p_ != '"')
      error("expected a string");
    ++p_;
    std::string s;
    while (true) {
      if (p_ >= end_)
        error("unterminated string");
      char c = *p_++;
      if (c == '"')
        break;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (p_ >= end_)
        error("unterminated string");
      char e = *p_++;
      switch (e) {
      case '"': s += '"'; break;
      case '\\': s += '\\'; break;
      case '/': s += '/'; break;
      case 'b': s += '\b'; break;
      case 'f': s += '\f'; break;
      case 'n': s += '\n'; break;
      case 'r': s += '\r'; break;
      case 't': s += '\t'; break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00 && consume("\\u")) {
          uint32_t lo = hex4();
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(s, cp);
        break;
      }
      default: error("bad escape");
      }
    }
    return s;
  }
  Json parseValue(int depth) {
    if (depth > 64)
      error("nesting too deep");
    skipWs();
    if (p_ >= end_)
      error("unexpected end");
    Json v;
    char c = *p_;
    if (c == '{') {
      ++p_;
      v.kind = Json::Object;
      skipWs();
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return v;
      }
      while (true) {
        skipWs();
        std::string key = parseString();
        skipWs();
        if (p_ >= end_ || *p_ != ':')
          error("expected ':'");
        ++p_;
        v.fields.emplace_back(std::move(key), parseValue(depth + 1));
        skipWs();
        if (p_ < end_ && *p_ == ',') { ++p_; continue; }
        if (p_ < end_ && *p_ == '}') { ++p_; break; }
        error("expected ',' or '}'");
      }
    } else if (c == '[') {
      ++p_;
      v.kind = Json::Array;
      skipWs();
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return v;
      }
      while (true) {
        v.items.push_back(parseValue(depth + 1));
        skipWs();
        if (p_ < end_ && *p_ == ',') { ++p_; continue; }
        if (p_ < end_ && *p_ == ']') { ++p_; break; }
        error("expected ',' or ']'");
      }
    } else if (c == '"') {
      v.kind = Json::String;
      v.str = parseString();
    } else if (consume("true")) {
      v.kind = Json::Bool;
      v.b = true;
    } else if (consume("false")) {
      v.kind = Json::Bool;
    } else if (consume("null")) {
      v.kind = Json::Null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const char *s = p_;
      bool isInt = true;
      if (*p_ == '-') ++p_;
      while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' ||
                           *p_ == 'e' || *p_ == 'E' || *p_ == '+' ||
                           *p_ == '-')) {
        if (*p_ == '.' || *p_ == 'e' || *p_ == 'E') isInt = false;
        ++p_;
      }
      std::string text(s, p_);
      v.kind = Json::Number;
      v.num = strtod(text.c_str(), nullptr);
      v.isInt = isInt;
      if (isInt) {
        errno = 0;
        v.i = strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE)
          error("integer out of range");
      }
    } else {
      error("unexpected character");
    }
    return v;
  }
};

bool parseSafetensorsDType(const std::string &s, DType &out) {
  static const std::pair<const char *, DType> table[] = {
      {"F32", DType::F32}, {"F64", DType::F64},   {"F16", DType::F16},
      {"BF16", DType::BF16}, {"I8", DType::I8},   {"I16", DType::I16},
      {"I32", DType::I32}, {"I64", DType::I64},   {"U8", DType::U8},
      {"BOOL", DType::Bool}};
  for (const auto &e : table)
    if (s == e.first) {
      out = e.second;
      return true;
    }
  return false;
}

int64_t foreignDTypeSize(const std::string &s) {
  if (s == "U16") return 2;
  if (s == "U32") return 4;
  if (s == "U64") return 8;
  if (s.rfind("F8", 0) == 0) return 1;
  return -1;
}

} // namespace

const char *safetensorsDType(DType dtype) {
  switch (dtype) {
  case DType::F32: return "F32";
  case DType::F64: return "F64";
  case DType::F16: return "F16";
  case DType::BF16: return "BF16";
  case DType::I8: return "I8";
  case DType::I16: return "I16";
  case DType::I32: return "I32";
  case DType::I64: return "I64";
  case DType::U8: return "U8";
  case DType::Bool: return "BOOL";
  }
  return "?";
}

SafetensorsFile::SafetensorsFile(const std::string &path, const std::string &what)
    : path_(path) {
  const char *p = path.c_str();
  const char *w = what.c_str();
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail("cannot open %s '%s': %s", w, p, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    fail("%s '%s' is not a regular file", w, p);
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    close(fd);
    fail("%s '%s' is too short to be a safetensors file (%zu bytes)", w, p,
         size_);
  }
  map_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail("cannot map %s '%s': %s", w, p, strerror(errno));
  }
  try {
    const unsigned char *base = static_cast<const unsigned char *>(map_);
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
      n = (n << 8) | base[k];
    if (n > size_ - 8)
      fail("header length %llu runs past the end of the file (%zu bytes)",
           (unsigned long long)n, size_);
    const char *hdr = reinterpret_cast<const char *>(base + 8);
    Json doc = JsonParser(hdr, static_cast<size_t>(n)).parseDocument();
    if (doc.kind != Json::Object)
      fail("header is not a JSON object");
    const unsigned char *data = base + 8 + n;
    uint64_t dataSize = size_ - 8 - n;
    data_ = data;
    dataSize_ = static_cast<size_t>(dataSize);
    for (const auto &kv : doc.fields) {
      const std::string &name = kv.first;
      const Json &v = kv.second;
      if (name == "__metadata__") {
        if (v.kind == Json::Object)
          for (const auto &m : v.fields)
            if (m.second.kind == Json::String)
              meta_[m.first] = m.second.str;
        continue;
      }
      auto bad = [&](const char *why) {
        fail("tensor '%s': %s", name.c_str(), why);
      };
      if (v.kind != Json::Object)
        bad("entry is not an object");
      const Json *dt = nullptr, *shape = nullptr, *offs = nullptr;
      for (const auto &f : v.fields) {
        if (f.first == "dtype") dt = &f.second;
        else if (f.first == "shape") shape = &f.second;
        else if (f.first == "data_offsets") offs = &f.second;
      }
      if (!dt || dt->kind != Json::String)
        bad("missing \"dtype\"");
      if (!shape || shape->kind != Json::Array)
        bad("missing \"shape\"");
      if (!offs || offs->kind != Json::Array || offs->items.size() != 2)
        bad("missing \"data_offsets\" [begin, end]");
      SafetensorsEntry e;
      e.dtype = dt->str;
      e.known = parseSafetensorsDType(e.dtype, e.type);
      if (shape->items.size() > static_cast<size_t>(kMaxRank))
        bad("rank above the runtime's maximum");
      int64_t dims[kMaxRank];
      int rank = 0;
      for (const Json &d : shape->items) {
        if (d.kind != Json::Number || !d.isInt || d.i < 0)
          bad("shape holds something other than non-negative integers");
        dims[rank++] = d.i;
      }
      e.shape = Dims(dims, rank);
      for (const Json &o : offs->items)
        if (o.kind != Json::Number || !o.isInt || o.i < 0)
          bad("data_offsets hold something other than non-negative integers");
      uint64_t b = offs->items[0].i, en = offs->items[1].i;
      if (b > en || en > dataSize)
        fail("tensor '%s': data_offsets [%llu, %llu] lie outside the %llu "
             "data bytes (truncated file?)",
             name.c_str(), (unsigned long long)b, (unsigned long long)en,
             (unsigned long long)dataSize);
      int64_t esize = e.known ? dtypeSize(e.type) : foreignDTypeSize(e.dtype);
      if (esize > 0 &&
          static_cast<uint64_t>(e.shape.numel() * esize) != en - b)
        fail("tensor '%s': %llu data bytes do not hold %s %s",
             name.c_str(), (unsigned long long)(en - b), e.dtype.c_str(),
             formatDims(e.shape).c_str());
      e.data = data + b;
      e.nbytes = static_cast<int64_t>(en - b);
      tensors_[name] = e;
    }
  } catch (const Error &err) {
    munmap(map_, size_);
    map_ = nullptr;
    fail("%s '%s': %s", w, p, err.what());
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_)
    munmap(map_, size_);
}

const SafetensorsEntry *SafetensorsFile::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

bool SafetensorsFile::recordedChecksum(uint32_t &recorded) const {
  auto it = meta_.find(kDataChecksum);
  if (it == meta_.end())
    return false;
  unsigned long v = 0;
  char *end = nullptr;
  v = std::strtoul(it->second.c_str(), &end, 16);
  BBRT_CHECK(it->second.size() == 8 && end && *end == '\0',
             "%s: metadata %s is '%s', not 8 hex digits", path_.c_str(),
             kDataChecksum, it->second.c_str());
  recorded = static_cast<uint32_t>(v);
  return true;
}

uint32_t SafetensorsFile::dataChecksum() const {
  return crc32c(0, data_, dataSize_);
}

static std::string jsonQuote(const std::string &s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"') o += "\\\"";
    else if (c == '\\') o += "\\\\";
    else if (c < 0x20) o += strformat("\\u%04x", c);
    else o += static_cast<char>(c);
  }
  return o + "\"";
}

SafetensorsWriter::SafetensorsWriter(
    const std::string &path, std::vector<Entry> entries,
    const std::map<std::string, std::string> &metadata, bool checksum)
    : path_(path), entries_(std::move(entries)) {
  std::string hdr = "{";
  bool first = true;
  // The checksum's value is written last, over an 8-digit placeholder.
  std::map<std::string, std::string> meta = metadata;
  if (checksum)
    meta[kDataChecksum] = "00000000";
  if (!meta.empty()) {
    hdr += "\"__metadata__\":{";
    bool f2 = true;
    for (const auto &m : meta) {
      if (!f2) hdr += ",";
      f2 = false;
      hdr += jsonQuote(m.first) + ":";
      if (checksum && m.first == kDataChecksum)
        checksumAt_ = 8 + hdr.size() + 1; // past the length and the quote
      hdr += jsonQuote(m.second);
    }
    hdr += "}";
    first = false;
  }
  uint64_t off = 0;
  for (const Entry &e : entries_) {
    if (!first) hdr += ",";
    first = false;
    hdr += jsonQuote(e.name) + ":{\"dtype\":\"" + safetensorsDType(e.dtype) +
           "\",\"shape\":[";
    for (int i = 0; i < e.shape.rank; ++i)
      hdr += (i ? "," : "") + std::to_string(e.shape.d[i]);
    uint64_t n = static_cast<uint64_t>(e.shape.numel() * dtypeSize(e.dtype));
    hdr += "],\"data_offsets\":[" + std::to_string(off) + "," +
           std::to_string(off + n) + "]}";
    off += n;
  }
  hdr += "}";
  while (hdr.size() % 8)
    hdr += ' ';
  file_ = std::make_unique<AtomicFile>(path);
  char len[8];
  uint64_t n = hdr.size();
  for (int k = 0; k < 8; ++k)
    len[k] = static_cast<char>((n >> (8 * k)) & 0xFF);
  file_->write(len, 8);
  file_->write(hdr);
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::append(const Tensor &t) {
  BBRT_CHECK(next_ < entries_.size(),
             "'%s': more tensors appended than the header declares",
             path_.c_str());
  const Entry &e = entries_[next_];
  BBRT_CHECK(t.dtype == e.dtype && t.shape == e.shape,
             "'%s': tensor '%s' appended as %s %s, declared as %s %s",
             path_.c_str(), e.name.c_str(), dtypeName(t.dtype),
             formatDims(t.shape).c_str(), dtypeName(e.dtype),
             formatDims(e.shape).c_str());
  file_->write(t.data, static_cast<size_t>(t.nbytes()));
  if (checksumAt_)
    crc_ = crc32c(crc_, t.data, static_cast<size_t>(t.nbytes()));
  ++next_;
}

void SafetensorsWriter::commit(bool durable) {
  BBRT_CHECK(next_ == entries_.size(),
             "'%s': %zu of %zu tensors written", path_.c_str(), next_,
             entries_.size());
  if (checksumAt_) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", crc_);
    file_->writeAt(checksumAt_, hex, 8);
  }
  file_->commit(durable);
}

void writeSafetensors(const std::string &path,
                      const std::vector<std::pair<std::string, Tensor>> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      bool durable) {
  // Streamed: a checkpoint can be gigabytes, too much to copy in memory.
  std::vector<SafetensorsWriter::Entry> entries;
  for (const auto &t : tensors)
    entries.push_back({t.first, t.second.dtype, t.second.shape});
  SafetensorsWriter writer(path, std::move(entries), metadata);
  for (const auto &t : tensors)
    writer.append(t.second);
  writer.commit(durable);
}

} // namespace bbrt
