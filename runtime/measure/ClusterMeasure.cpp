//===- ClusterMeasure.cpp - measuring a cluster for the cost model --------===//
#include "runtime/measure/ClusterMeasure.h"

#include "bbrt/bbrt.h"
#include "bbrt/io.h"
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/core/Util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace bbrt {
namespace measure {
namespace {

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

/// What every rank measures together: a world mesh (hosts x ranks per host)
/// whose collectives and scalar reductions the measurements use.
class Job {
public:
  explicit Job(const Options &o) : o_(o) {
    const int64_t world = launcherWorldSize();
    info1_.name = "bb-measure";
    setMesh(&info1_, {world}); // installs the MPI backend
    initDistributed(info1_);
    setNumThreads(o.threads);
    const int64_t perHost = o.ranksPerHost > 0 ? o.ranksPerHost
                            : world > 1        ? localWorldSize()
                                               : 1;
    if (world % perHost)
      fail("the %lld ranks do not fill hosts of %lld ranks each; run the "
           "same number of ranks on every host",
           (long long)world, (long long)perHost);
    hosts_ = world / perHost;
    perHost_ = perHost;
    info_.name = "bb-measure";
    if (hosts_ > 1 && perHost_ > 1)
      setMesh(&info_, {hosts_, perHost_});
    else
      setMesh(&info_, {world});
    // A Context (the mesh's communicators, the device) is made for a
    // program, which has a function; the measurements call the kernels
    // themselves.
    addFunction(&info_, "measure", [](Context *) {});
    ctx_ = createContext(info_, "");
    scalar_ = DeviceBuffer(sizeof(double));
  }

  int64_t world() const { return hosts_ * perHost_; }
  int64_t hosts() const { return hosts_; }
  int64_t perHost() const { return perHost_; }
  Context *ctx() { return ctx_.get(); }
  const Options &options() const { return o_; }

  /// The mesh axes of the whole world, of one host's ranks and of one rank
  /// per host (empty where the mesh has no such axis).
  Dims worldAxes() const { return info_.mesh.size() == 2 ? Dims{0, 1} : Dims{0}; }
  Dims hostAxes() const {
    return info_.mesh.size() == 2 ? Dims{1} : hosts_ == 1 ? Dims{0} : Dims{};
  }
  Dims acrossAxes() const {
    return info_.mesh.size() == 2 ? Dims{0} : perHost_ == 1 ? Dims{0} : Dims{};
  }

  /// `v` reduced over every rank (`kind` Max or Min).
  double reduce(double v, ReduceKind kind) {
    if (world() == 1)
      return v;
    Tensor t(scalar_.data(), DType::F64, {1});
    copyToDevice(t.data, &v, sizeof v);
    allReduce(ctx(), t, t, kind, worldAxes());
    copyToHost(&v, t.data, sizeof v);
    return v;
  }

  /// Seconds per call of `fn`, the slowest rank's. Every rank calls it with
  /// the same `fn` (collectives inside are fine): one warm-up call, whose
  /// slowest time sets one repeat count for all, then three rounds of timed
  /// calls, of which the fastest counts (a shared machine's neighbours only
  /// ever slow a round down; one slowed round once took the f32 product
  /// rate 30% below its usual figure).
  double time(const std::function<void()> &fn) {
    barrier();
    double t0 = now();
    fn();
    synchronizeDevice();
    const double first = reduce(now() - t0, ReduceKind::Max);
    const int64_t reps = std::clamp<int64_t>(
        static_cast<int64_t>(o_.secondsPerPoint / 3 / std::max(first, 1e-9)), 1,
        1000);
    double best = 0;
    for (int round = 0; round < 3; ++round) {
      barrier();
      t0 = now();
      for (int64_t i = 0; i < reps; ++i)
        fn();
      synchronizeDevice();
      const double s =
          reduce((now() - t0) / static_cast<double>(reps), ReduceKind::Max);
      best = round == 0 ? s : std::min(best, s);
    }
    return best;
  }

  void log(const std::string &line) {
    if (o_.verbose && isRoot())
      std::fprintf(stderr, "bb-measure: %s\n", line.c_str());
  }

private:
  const Options &o_;
  ModelInfo info1_, info_;
  int64_t hosts_ = 1, perHost_ = 1;
  std::unique_ptr<Context> ctx_;
  DeviceBuffer scalar_;
};

/// A device tensor of `n` elements of `dtype`, filled with small values.
struct Filled {
  DeviceBuffer buf;
  Tensor t;
  Filled(DType dtype, Dims shape) {
    const int64_t n = shape.numel();
    buf = DeviceBuffer(static_cast<size_t>(n * dtypeSize(dtype)));
    std::vector<float> host(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      host[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    t = Tensor(buf.data(), dtype, shape);
    if (dtype == DType::F32) {
      copyToDevice(buf.data(), host.data(), host.size() * sizeof(float));
    } else {
      DeviceBuffer f(host.size() * sizeof(float));
      copyToDevice(f.data(), host.data(), host.size() * sizeof(float));
      convert(Tensor(f.data(), DType::F32, shape), t);
    }
  }
};

struct Device {
  double f32 = 0, tf32 = 0, bf16 = 0, f16 = 0;
  double bandwidth = 0, inPlace = 0, overhead = 0;
  int64_t memory = 0;
};

/// The best FLOP/s of square products n x n x n, n = 256, 512, ... until a
/// product takes a tenth of a second or n reaches 8192.
double gemmFlops(Job &job, DType operands, bool tf32) {
  double best = 0;
  for (int64_t n = 256; n <= 8192; n *= 2) {
    Filled a(operands, {n, n}), b(operands, {n, n}), c(DType::F32, {n, n});
    const double s = job.time([&] { matmul(a.t, b.t, c.t, false, false, tf32); });
    const double flops = 2.0 * static_cast<double>(n) * n * n;
    best = std::max(best, flops / s);
    if (s > 0.1)
      break;
  }
  return job.reduce(best, ReduceKind::Min);
}

Device measureDevice(Job &job) {
  Device d;
  d.f32 = gemmFlops(job, DType::F32, false);
  job.log(strformat("f32 products: %.3g FLOP/s", d.f32));
  d.tf32 = gemmFlops(job, DType::F32, true);
  job.log(strformat("tf32 products: %.3g FLOP/s", d.tf32));
  d.bf16 = gemmFlops(job, DType::BF16, false);
  job.log(strformat("bf16 products: %.3g FLOP/s", d.bf16));
  d.f16 = gemmFlops(job, DType::F16, false);
  job.log(strformat("f16 products: %.3g FLOP/s", d.f16));
  // Memory bandwidth: out = a + b over 64 MiB arrays (three streams); and
  // in place, a = a + b (what optimizer updates and gradient accumulation
  // do: on a CPU no line is read for ownership before it is written).
  {
    const int64_t n = 16ll << 20;
    const double bytes = 3.0 * 4.0 * static_cast<double>(n);
    Filled a(DType::F32, {n}), b(DType::F32, {n}), c(DType::F32, {n});
    const double s = job.time([&] { binary(BinaryKind::Add, a.t, b.t, c.t); });
    d.bandwidth = job.reduce(bytes / s, ReduceKind::Min);
    job.log(strformat("memory bandwidth: %.3g bytes/s", d.bandwidth));
    const double si = job.time([&] { binary(BinaryKind::Add, c.t, b.t, c.t); });
    d.inPlace = job.reduce(bytes / si, ReduceKind::Min);
    job.log(strformat("memory bandwidth in place: %.3g bytes/s", d.inPlace));
  }
  // One kernel call's fixed cost: an add of one element, or where more is
  // fixed once the kernel runs on all of the device (a CPU rank's threads
  // start and join, a GPU kernel fills its blocks), what an add of 64 Ki
  // elements takes beyond its bytes at the measured bandwidth.
  {
    Filled a(DType::F32, {1}), b(DType::F32, {1}), c(DType::F32, {1});
    const double tiny = job.time([&] { binary(BinaryKind::Add, a.t, b.t, c.t); });
    const int64_t n = 64 << 10;
    Filled x(DType::F32, {n}), y(DType::F32, {n}), z(DType::F32, {n});
    const double mid = job.time([&] { binary(BinaryKind::Add, x.t, y.t, z.t); });
    d.overhead = std::max(tiny, mid - 12.0 * static_cast<double>(n) / d.bandwidth);
    job.log(strformat("kernel call: %.3g s (one element: %.3g s)", d.overhead, tiny));
  }
  d.memory = static_cast<int64_t>(
      job.reduce(static_cast<double>(deviceMemoryBytes()), ReduceKind::Min));
  return d;
}

struct Point {
  double bytes, seconds;
};
struct Table {
  const char *kind; // cluster.proto CollectiveKind
  bool interHost;
  int64_t groupSize;
  std::vector<Point> points;
};

/// Message sizes of the tables: 4 KiB, 16 KiB, ... up to maxBytes.
std::vector<int64_t> messageSizes(const Options &o) {
  std::vector<int64_t> sizes;
  for (int64_t b = 4096; b <= o.maxBytes; b *= 4)
    sizes.push_back(b);
  if (sizes.empty())
    fail("--max-bytes=%lld: at least 4096", (long long)o.maxBytes);
  return sizes;
}

/// The collectives over the group of mesh axes `axes` (`size` ranks).
void measureCollectives(Job &job, const Dims &axes, int64_t size, bool inter,
                        std::vector<Table> &tables) {
  Table ar{"ALL_REDUCE", inter, size, {}}, ag{"ALL_GATHER", inter, size, {}},
      rs{"REDUCE_SCATTER", inter, size, {}}, a2a{"ALL_TO_ALL", inter, size, {}};
  for (int64_t bytes : messageSizes(job.options())) {
    // Whole f32 blocks per rank: `elems` divides by the group size.
    const int64_t block = std::max<int64_t>(1, bytes / 4 / size);
    const int64_t elems = block * size;
    const double total = static_cast<double>(elems) * 4;
    Filled full(DType::F32, {elems}), out(DType::F32, {elems}),
        part(DType::F32, {block});
    ar.points.push_back({total, job.time([&] {
                           allReduce(job.ctx(), full.t, full.t, ReduceKind::Sum, axes);
                         })});
    ag.points.push_back({total, job.time([&] {
                           allGather(job.ctx(), part.t, out.t, 0, axes);
                         })});
    rs.points.push_back({total, job.time([&] {
                           reduceScatter(job.ctx(), full.t, part.t, 0,
                                         ReduceKind::Sum, axes);
                         })});
    a2a.points.push_back({total, job.time([&] {
                            allToAll(job.ctx(), full.t, out.t, 0, 0, axes);
                          })});
    job.log(strformat("%s group of %lld, %.0f bytes: all-reduce %.3g s, "
                      "all-gather %.3g s, reduce-scatter %.3g s, all-to-all %.3g s",
                      inter ? "inter-host" : "intra-host", (long long)size,
                      total, ar.points.back().seconds, ag.points.back().seconds,
                      rs.points.back().seconds, a2a.points.back().seconds));
  }
  for (Table *t : {&ar, &ag, &rs, &a2a})
    tables.push_back(std::move(*t));
}

/// One message's time from world rank 0 to world rank `peer` (half a round
/// trip), at each size; the other ranks wait.
Table measureSendRecv(Job &job, int64_t peer, bool inter) {
  Table t{"SEND_RECV", inter, 2, {}};
  const int64_t rank = worldRank();
  for (int64_t bytes : messageSizes(job.options())) {
    Filled msg(DType::U8, {bytes});
    const double s = job.time([&] {
      if (rank == 0) {
        sendTensor(job.ctx(), msg.t, peer, 1);
        recvTensor(job.ctx(), msg.t, peer, 2);
      } else if (rank == peer) {
        recvTensor(job.ctx(), msg.t, 0, 1);
        sendTensor(job.ctx(), msg.t, 0, 2);
      }
    });
    t.points.push_back({static_cast<double>(bytes), s / 2});
  }
  job.log(strformat("%s send/recv: %.3g s for %.0f bytes, %.3g s for %.0f bytes",
                    inter ? "inter-host" : "intra-host", t.points.front().seconds,
                    t.points.front().bytes, t.points.back().seconds,
                    t.points.back().bytes));
  return t;
}

/// Latency (the smallest message's time) and bandwidth (the largest
/// message's bytes per second beyond that latency; with one size, its bytes
/// per second) of a send/recv table.
std::pair<double, double> linkOf(const Table &t) {
  const Point &small = t.points.front(), &large = t.points.back();
  if (t.points.size() < 2)
    return {small.seconds, small.bytes / small.seconds};
  const double beyond = std::max(large.seconds - small.seconds, large.seconds * 1e-3);
  return {small.seconds, (large.bytes - small.bytes) / beyond};
}

std::string textproto(const Job &job, const Device &d,
                      const std::vector<Table> &tables, const Table *intra,
                      const Table *inter) {
  const Options &o = job.options();
  std::string s = strformat(
      "# Measured by bb-measure (%s runtime) on %lld ranks: %lld host(s) of "
      "%lld.\n# Device figures are the slowest rank's; see docs/cluster.md.\n",
      backendName(), (long long)job.world(), (long long)job.hosts(),
      (long long)job.perHost());
  s += strformat("name: \"%s\"\nhost_count: %lld\ndevices_per_host: %lld\n",
                 o.name.c_str(), (long long)job.hosts(), (long long)job.perHost());
  std::string kind = deviceName();
  for (char &c : kind)
    if (c == '"' || c == '\\' || c < ' ')
      c = ' ';
  s += strformat("device {\n  kind: \"%s\"\n  peak_flops { f32: %.4g tf32: %.4g "
                 "bf16: %.4g f16: %.4g }\n  memory_bytes: %lld\n"
                 "  memory_bandwidth: %.4g\n  memory_bandwidth_in_place: %.4g\n"
                 "  launch_overhead: %.4g\n}\n",
                 kind.c_str(), d.f32, d.tf32, d.bf16, d.f16, (long long)d.memory,
                 d.bandwidth, d.inPlace, d.overhead);
  if (intra) {
    auto [latency, bandwidth] = linkOf(*intra);
    const std::string k = !o.intraHostKind.empty() ? o.intraHostKind
                          : deviceMemoryIsHost()   ? "SHARED_MEMORY"
                                                   : "PCIE";
    s += strformat("intra_host { kind: %s bandwidth: %.4g latency: %.4g }\n",
                   k.c_str(), bandwidth, latency);
  }
  if (inter) {
    auto [latency, bandwidth] = linkOf(*inter);
    const std::string k = o.interHostKind.empty() ? "ETHERNET" : o.interHostKind;
    s += strformat("inter_host { kind: %s bandwidth_per_nic: %.4g nics_per_host: 1 "
                   "latency: %.4g }\n",
                   k.c_str(), bandwidth, latency);
  }
  for (const Table &t : tables) {
    s += strformat("collective_tables {\n  collective: %s span: %s group_size: %lld\n",
                   t.kind, t.interHost ? "INTER_HOST" : "INTRA_HOST",
                   (long long)t.groupSize);
    for (const Point &p : t.points)
      s += strformat("  points { bytes: %.0f seconds: %.4g }\n", p.bytes, p.seconds);
    s += "}\n";
  }
  return s;
}

} // namespace

void measureCluster(const Options &o) {
  if (o.output.empty())
    fail("-o FILE: the cluster file to write is missing");
  for (const std::string &k : {o.intraHostKind, o.interHostKind})
    if (!k.empty() && k != "SHARED_MEMORY" && k != "PCIE" && k != "NVLINK" &&
        k != "NVSWITCH" && k != "INFINIBAND" && k != "ROCE" && k != "ETHERNET")
      fail("link kind '%s': expected SHARED_MEMORY, PCIE, NVLINK, NVSWITCH, "
           "INFINIBAND, ROCE or ETHERNET",
           k.c_str());
  messageSizes(o); // checks --max-bytes before MPI starts
  Job job(o);
  job.log(strformat("%lld ranks, %lld host(s) of %lld", (long long)job.world(),
                    (long long)job.hosts(), (long long)job.perHost()));
  const Device device = measureDevice(job);
  std::vector<Table> tables;
  std::unique_ptr<Table> intra, inter;
  if (job.perHost() > 1) {
    intra = std::make_unique<Table>(measureSendRecv(job, 1, false));
    tables.push_back(*intra);
    measureCollectives(job, job.hostAxes(), job.perHost(), false, tables);
  }
  if (job.hosts() > 1) {
    inter = std::make_unique<Table>(measureSendRecv(job, job.perHost(), true));
    tables.push_back(*inter);
    if (job.perHost() > 1)
      measureCollectives(job, job.worldAxes(), job.world(), true, tables);
    measureCollectives(job, job.acrossAxes(), job.hosts(), true, tables);
  }
  if (isRoot())
    writeFileAtomic(o.output, textproto(job, device, tables, intra.get(), inter.get()));
  barrier();
}

} // namespace measure
} // namespace bbrt
