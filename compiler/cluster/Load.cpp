//===- Load.cpp - cluster files and presets into a Cluster ----------------===//
#include "compiler/cluster/Cluster.h"
#include "compiler/cluster/Presets.h"
#include "compiler/cluster/Validate.h"

#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"

#include <cstdint>

using namespace mlir::bb::cluster;
using google::protobuf::TextFormat;
namespace pb = bumblebee::cluster;

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// Keeps the first error the text-format parser reports; later ones are
/// mostly consequences of it.
class FirstParseError : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, int column, const std::string &text) override {
    if (seen)
      return;
    seen = true;
    this->line = line;
    this->column = column;
    message = text;
  }

  bool seen = false;
  int line = 0;
  int column = 0;
  std::string message;
};
} // namespace

/// The field a syntax error is about: the last "name:" or "name {" on the
/// error's line before its column. The parser's own messages name the field
/// (in quotes) only for unknown, repeated or mistyped enum fields.
static std::string fieldBefore(llvm::StringRef text, int line, int column) {
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  if (line < 0 || line >= static_cast<int>(lines.size()))
    return "";
  llvm::StringRef head = lines[line].take_front(column);
  static const llvm::Regex field("([A-Za-z_][A-Za-z0-9_]*)[ \t]*[:{][^:{]*$");
  llvm::SmallVector<llvm::StringRef> match;
  return field.match(head, &match) ? match[1].str() : "";
}

/// Parses text format into `out`, recording where each field was written.
static llvm::Error parseText(llvm::StringRef text, llvm::StringRef source,
                             pb::Cluster &out,
                             TextFormat::ParseInfoTree &locations) {
  FirstParseError error;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&error);
  parser.WriteLocationsTo(&locations);
  if (parser.ParseFromString(text.str(), &out))
    return llvm::Error::success();
  std::string field = fieldBefore(text, error.line, error.column);
  bool named = llvm::StringRef(error.message).contains("\"" + field + "\"");
  return fail(source + ":" + llvm::Twine(error.line + 1) + ":" +
              llvm::Twine(error.column + 1) + ": " +
              (field.empty() || named ? "" : field + ": ") + error.message);
}

llvm::Expected<Cluster>
mlir::bb::cluster::parseCluster(llvm::StringRef text, llvm::StringRef source) {
  pb::Cluster proto;
  TextFormat::ParseInfoTree locations;
  if (llvm::Error err = parseText(text, source, proto, locations))
    return std::move(err);
  if (llvm::Error err = validateCluster(proto, source, &locations))
    return std::move(err);
  return Cluster(std::move(proto));
}

std::vector<std::string> mlir::bb::cluster::presetNames() {
  std::vector<std::string> names;
  for (const PresetText &preset : presetTexts())
    names.push_back(preset.name);
  return names;
}

/// "NAME[:COUNT]" into the preset's text and the count. The count scales
/// host_count, except for `cpu`, a single host whose count is its ranks.
static llvm::Expected<pb::Cluster> loadPreset(llvm::StringRef spec) {
  auto [name, countText] = spec.split(':');
  const PresetText *preset = nullptr;
  for (const PresetText &candidate : presetTexts())
    if (name == candidate.name)
      preset = &candidate;
  if (!preset)
    return fail("cluster '" + spec +
                "': no such file, and not a preset (presets: " +
                llvm::join(presetNames(), ", ") + ")");

  std::string source = ("cluster preset '" + spec + "'").str();
  bool countsRanks = name == "cpu";
  const char *countField = countsRanks ? "devices_per_host" : "host_count";
  int64_t count = 1;
  if (spec.contains(':') &&
      (countText.getAsInteger(10, count) || count <= 0 || count > INT32_MAX))
    return fail(source + ": " + countField +
                ": must be a positive integer, got '" + countText + "'");

  pb::Cluster proto;
  TextFormat::ParseInfoTree locations;
  if (llvm::Error err = parseText(preset->text, source, proto, locations))
    return std::move(err);
  if (countsRanks)
    proto.set_devices_per_host(count);
  else
    proto.set_host_count(count);
  proto.set_name(spec.str());
  if (llvm::Error err = validateCluster(proto, source, &locations))
    return std::move(err);
  return proto;
}

llvm::Expected<Cluster> mlir::bb::cluster::loadCluster(llvm::StringRef spec) {
  // Preset names contain dots ("p3.16xlarge"), so a path is recognised by
  // existing, by a slash, or by a text-format extension.
  bool isPath = llvm::sys::fs::exists(spec) || spec.contains('/') ||
                spec.ends_with(".textproto") || spec.ends_with(".txtpb") ||
                spec.ends_with(".pbtxt");
  if (!isPath) {
    llvm::Expected<pb::Cluster> proto = loadPreset(spec);
    if (!proto)
      return proto.takeError();
    return Cluster(std::move(*proto));
  }
  auto buffer = llvm::MemoryBuffer::getFile(spec, /*IsText=*/true);
  if (!buffer)
    return fail(spec + ": cannot read file: " + buffer.getError().message());
  return parseCluster((*buffer)->getBuffer(), spec);
}
