//===- Profile.cpp - time per kernel kind and per entry function ----------===//
//
// `--profile` (driver/Train.cpp, driver/Main.cpp) sets a Profile in the
// Context; the generated code's profileStart/profileEnd around each kernel
// call and runFunction book into it. The device is synchronized at both ends, so on a GPU the
// figures are each kernel's alone, without the overlap of a normal run.
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "runtime/core/Util.h"

#include <algorithm>
#include <chrono>

namespace bbrt {

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// "1.23 G" style: `v` in the largest of k, M, G, T below it.
std::string scaled(double v) {
  const char *units[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  return strformat("%.3g %s", v, units[i]);
}

void appendTable(std::string &out, const char *title,
                 const std::map<std::string, Profile::Entry> &entries,
                 int64_t count, const char *per, double total,
                 bool rates) {
  std::vector<std::pair<std::string, Profile::Entry>> rows(entries.begin(),
                                                           entries.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.seconds > b.second.seconds;
  });
  size_t width = std::string(title).size();
  for (const auto &r : rows)
    width = std::max(width, r.first.size());
  out += strformat("%-*s %10s %10s %7s", (int)width, title,
                   (std::string("calls/") + per).c_str(),
                   (std::string("ms/") + per).c_str(), "share");
  if (rates)
    out += strformat(" %12s %12s", "FLOP/s", "bytes/s");
  out += "\n";
  const double n = static_cast<double>(std::max<int64_t>(count, 1));
  for (const auto &[name, e] : rows) {
    out += strformat("%-*s %10.1f %10.3f %6.1f%%", (int)width, name.c_str(),
                     static_cast<double>(e.calls) / n, 1e3 * e.seconds / n,
                     total > 0 ? 100 * e.seconds / total : 0.0);
    if (rates)
      out += strformat(" %12s %12s",
                       e.flops > 0 && e.seconds > 0
                           ? scaled(e.flops / e.seconds).c_str()
                           : "-",
                       e.bytes > 0 && e.seconds > 0
                           ? scaled(e.bytes / e.seconds).c_str()
                           : "-");
    out += "\n";
  }
}

} // namespace

double profileStart(Context *ctx) {
  if (!ctx->profile)
    return 0;
  synchronizeDevice();
  return now();
}

namespace {
/// Waits for the device, then books one call since `start` into `entry`.
Profile::Entry &book(Profile::Entry &entry, double start) {
  synchronizeDevice();
  entry.calls += 1;
  entry.seconds += now() - start;
  return entry;
}
} // namespace

void profileEnd(Context *ctx, const char *op, double flops, double bytes,
                double start) {
  if (!ctx->profile)
    return;
  Profile::Entry &e = book(ctx->profile->kernels[op], start);
  e.flops += flops;
  e.bytes += bytes;
}

void profileDriver(Context *ctx, const char *what, double start) {
  if (ctx->profile)
    book(ctx->profile->driver[what], start);
}

void runFunction(Context *ctx, const FunctionInfo &f) {
  const double t0 = ctx->profile ? now() : 0;
  struct Running { // what inputBuffer/outputBuffer name in their errors
    Context *ctx;
    ~Running() { ctx->running = nullptr; }
  } running{ctx};
  ctx->running = &f;
  f.fn(ctx);
  if (ctx->profile)
    book(ctx->profile->functions[f.name], t0);
  else
    synchronizeDevice();
}

std::string formatProfile(const Profile &profile, int64_t count,
                          const char *per) {
  double kernels = 0, functions = 0;
  for (const auto &[name, e] : profile.kernels)
    kernels += e.seconds;
  for (const auto &[name, e] : profile.functions)
    functions += e.seconds;
  std::string out;
  appendTable(out, "kernel", profile.kernels, count, per, kernels, true);
  out += "\n";
  appendTable(out, "function", profile.functions, count, per, functions, false);
  if (!profile.driver.empty()) {
    double driver = 0;
    for (const auto &[name, e] : profile.driver)
      driver += e.seconds;
    out += "\n";
    appendTable(out, "driver", profile.driver, count, per, driver, false);
  }
  return out;
}

} // namespace bbrt
