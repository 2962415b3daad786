//===- Validate.cpp - semantic checks of a parsed cluster -----------------===//
#include "compiler/cluster/Validate.h"

#include <cassert>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

using namespace mlir::bb::cluster;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using Tree = google::protobuf::TextFormat::ParseInfoTree;
using Location = google::protobuf::TextFormat::ParseLocation;
namespace pb = bumblebee::cluster;

namespace {

std::string show(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

/// One message under check: its field path (for the error) and where the text
/// wrote it (for the line, when a field inside it is missing).
class Scope {
public:
  Scope(const Message &message, std::string path, const Tree *tree,
        Location here)
      : message(message), path(std::move(path)), tree(tree), here(here) {}

  /// The message in `field` (element `index` of a repeated field).
  Scope nested(const char *field, int index = -1) const {
    const FieldDescriptor *fd = descriptor(field);
    const auto *reflection = message.GetReflection();
    const Message &child =
        index < 0 ? reflection->GetMessage(message, fd)
                  : reflection->GetRepeatedMessage(message, fd, index);
    return Scope(child, pathOf(field, index),
                 tree ? tree->GetTreeForNested(fd, index) : nullptr,
                 locationOf(field, index));
  }

  /// "device.peak_flops.f32", "collective_tables[2].points[0].bytes".
  std::string pathOf(const char *field, int index = -1) const {
    std::string out = path;
    if (*field)
      out += (out.empty() ? "" : ".") + std::string(field);
    if (index >= 0)
      out += "[" + std::to_string(index) + "]";
    return out;
  }

  /// Where the text gave `field`, or this message when it did not.
  Location locationOf(const char *field, int index = -1) const {
    // A whole repeated field has no one location (protobuf asserts on it).
    if (tree && *field && (index >= 0 || !descriptor(field)->is_repeated())) {
      Location at = tree->GetLocation(descriptor(field), index);
      if (at.line >= 0)
        return at;
    }
    return here;
  }

private:
  const FieldDescriptor *descriptor(const char *field) const {
    const FieldDescriptor *fd = message.GetDescriptor()->FindFieldByName(field);
    assert(fd && "no such field in cluster.proto");
    return fd;
  }

  const Message &message;
  std::string path;
  const Tree *tree;
  Location here;
};

/// Runs every check and keeps the first failure.
class Checker {
public:
  explicit Checker(llvm::StringRef source) : source(source.str()) {}

  /// Records "`field` of `scope`: problem" unless `ok`. An empty `field`
  /// names the scope itself.
  bool check(bool ok, const Scope &scope, const char *field,
             const llvm::Twine &problem) {
    if (ok || !first.empty())
      return ok;
    Location at = scope.locationOf(field);
    first = source;
    if (at.line >= 0)
      first += ":" + std::to_string(at.line + 1) + ":" +
               std::to_string(at.column + 1);
    first += ": " + scope.pathOf(field) + ": " + problem.str();
    return ok;
  }

  bool positive(const Scope &scope, const char *field, double value) {
    return check(std::isfinite(value) && value > 0, scope, field,
                 "must be a positive number, got " + show(value));
  }

  bool nonNegative(const Scope &scope, const char *field, double value) {
    return check(std::isfinite(value) && value >= 0, scope, field,
                 "must be a number >= 0, got " + show(value));
  }

  bool present(const Scope &scope, const char *field, bool has,
               const char *why = "is missing") {
    return check(has, scope, field, why);
  }

  llvm::Error result() const {
    if (first.empty())
      return llvm::Error::success();
    return llvm::createStringError(llvm::inconvertibleErrorCode(), first);
  }

private:
  std::string source;
  std::string first;
};

std::string kindName(pb::LinkKind kind) {
  const std::string &name = pb::LinkKind_Name(kind);
  return name.empty() ? std::to_string(kind) : name;
}

void checkHosts(Checker &c, const Scope &root, const pb::Cluster &cluster) {
  if (cluster.hosts_size() == 0) {
    c.check(cluster.host_count() > 0, root, "host_count",
            "must be positive (or list the hosts), got " +
                std::to_string(cluster.host_count()));
  } else {
    c.check(cluster.host_count() == 0 ||
                cluster.host_count() == cluster.hosts_size(),
            root, "host_count",
            "is " + std::to_string(cluster.host_count()) + " but " +
                std::to_string(cluster.hosts_size()) + " hosts are listed");
    std::set<std::string> names;
    for (int i = 0; i < cluster.hosts_size(); ++i) {
      Scope host = root.nested("hosts", i);
      const std::string &name = cluster.hosts(i).name();
      c.present(host, "name", !name.empty()) &&
          c.check(names.insert(name).second, host, "name",
                  "'" + name + "' is listed twice");
    }
  }
  c.check(cluster.devices_per_host() > 0, root, "devices_per_host",
          "must be positive, got " +
              std::to_string(cluster.devices_per_host()));
}

void checkDevice(Checker &c, const Scope &root, const pb::Cluster &cluster) {
  if (!c.present(root, "device", cluster.has_device()))
    return;
  Scope device = root.nested("device");
  const pb::Device &d = cluster.device();
  Scope peak = device.nested("peak_flops");
  c.positive(peak, "f32", d.peak_flops().f32());
  c.nonNegative(peak, "tf32", d.peak_flops().tf32());
  c.nonNegative(peak, "bf16", d.peak_flops().bf16());
  c.nonNegative(peak, "f16", d.peak_flops().f16());
  c.check(d.memory_bytes() > 0, device, "memory_bytes",
          "must be positive, got " + std::to_string(d.memory_bytes()));
  c.positive(device, "memory_bandwidth", d.memory_bandwidth());
  c.nonNegative(device, "launch_overhead", d.launch_overhead());
  c.nonNegative(device, "memory_bandwidth_in_place",
                d.memory_bandwidth_in_place());
}

void checkLinks(Checker &c, const Scope &root, const pb::Cluster &cluster) {
  if (cluster.devices_per_host() > 1)
    c.present(root, "intra_host", cluster.has_intra_host(),
              "is missing (hosts have more than one device)");
  if (cluster.has_intra_host()) {
    Scope link = root.nested("intra_host");
    const pb::IntraHostLink &l = cluster.intra_host();
    c.check(l.kind() == pb::SHARED_MEMORY || l.kind() == pb::PCIE ||
                l.kind() == pb::NVLINK || l.kind() == pb::NVSWITCH,
            link, "kind",
            "must be SHARED_MEMORY, PCIE, NVLINK or NVSWITCH, got " +
                kindName(l.kind()));
    c.positive(link, "bandwidth", l.bandwidth());
    c.nonNegative(link, "latency", l.latency());
  }

  int64_t hosts = std::max<int64_t>(cluster.host_count(), cluster.hosts_size());
  if (hosts > 1)
    c.present(root, "inter_host", cluster.has_inter_host(),
              "is missing (there is more than one host)");
  if (cluster.has_inter_host()) {
    Scope link = root.nested("inter_host");
    const pb::InterHostLink &l = cluster.inter_host();
    c.check(l.kind() == pb::INFINIBAND || l.kind() == pb::ROCE ||
                l.kind() == pb::ETHERNET,
            link, "kind",
            "must be INFINIBAND, ROCE or ETHERNET, got " + kindName(l.kind()));
    c.positive(link, "bandwidth_per_nic", l.bandwidth_per_nic());
    c.check(l.nics_per_host() > 0, link, "nics_per_host",
            "must be positive, got " + std::to_string(l.nics_per_host()));
    c.nonNegative(link, "latency", l.latency());
  }
}

void checkTables(Checker &c, const Scope &root, const pb::Cluster &cluster) {
  // (collective, span, group size) -> index of the first table for it.
  std::map<std::tuple<int, int, int>, int> seen;
  for (int i = 0; i < cluster.collective_tables_size(); ++i) {
    const pb::CollectiveTable &t = cluster.collective_tables(i);
    Scope table = root.nested("collective_tables", i);
    c.present(table, "collective",
              t.collective() != pb::COLLECTIVE_KIND_UNSPECIFIED);
    c.present(table, "span", t.span() != pb::GROUP_SPAN_UNSPECIFIED);
    std::string size = std::to_string(t.group_size());
    c.check(t.group_size() >= 2, table, "group_size",
            "must be at least 2, got " + size);
    if (t.collective() == pb::SEND_RECV)
      c.check(t.group_size() == 2, table, "group_size",
              "must be 2 for SEND_RECV, got " + size);
    if (t.span() == pb::INTRA_HOST)
      c.check(t.group_size() <= cluster.devices_per_host(), table, "group_size",
              "is " + size + ", more than the " +
                  std::to_string(cluster.devices_per_host()) +
                  " devices of one host (span is INTRA_HOST)");
    auto key = std::make_tuple(int(t.collective()), int(t.span()),
                               int(t.group_size()));
    auto [it, fresh] = seen.emplace(key, i);
    c.check(fresh, table, "",
            "has the same collective, span and group_size as "
            "collective_tables[" +
                std::to_string(it->second) + "]");

    c.present(table, "points", t.points_size() > 0,
              "is missing (a table needs at least one point)");
    for (int j = 0; j < t.points_size(); ++j) {
      Scope point = table.nested("points", j);
      c.positive(point, "bytes", t.points(j).bytes());
      c.positive(point, "seconds", t.points(j).seconds());
      if (j > 0)
        c.check(t.points(j).bytes() > t.points(j - 1).bytes(), point, "bytes",
                "must be larger than the previous point's bytes (" +
                    show(t.points(j - 1).bytes()) + ")");
    }
  }
}

} // namespace

llvm::Error mlir::bb::cluster::validateCluster(const pb::Cluster &cluster,
                                               llvm::StringRef source,
                                               const Tree *locations) {
  Checker c(source);
  Scope root(cluster, "", locations, Location());
  checkHosts(c, root, cluster);
  checkDevice(c, root, cluster);
  checkLinks(c, root, cluster);
  checkTables(c, root, cluster);
  return c.result();
}
