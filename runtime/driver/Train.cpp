//===- Train.cpp - the command line of training programs ------------------===//
//
//   ./NAME_train --data train.bin --steps N [options]   (see usage() below)
//
// Runs the model's train_step once per step on batches from DataLoader, with
// the learning rate of bbrt/train.h's schedule; the parameters and optimizer
// state live in the Context's states, which checkpoints save and --resume
// restores. Everything a run writes (checkpoint, export) is written
// atomically, and every error is one bbrt::Error that main() prints as one
// line.
//
// A sharded program runs this on every rank of `mpirun -np N`: every rank
// loads the same global batch, and the loss and gradient norm are
// replicated. Only rank 0 prints, writes the log and the export; a
// checkpoint gathers sharded states to rank 0, which writes it, and every
// rank waits for the file; --resume gives each rank its slice.
//
// SIGTERM, SIGINT or SIGUSR1 (a scheduler's preemption, Ctrl-C) stop the
// run after the step in progress: after every step the ranks agree whether
// any of them got one (bbrt::anyRank), so all stop after the same step; with
// --checkpoint-dir the checkpoint of that step is written, and the program
// exits with 128 + the signal's number. A second signal ends the process at
// once (the default action, restored by the first).
//
//===----------------------------------------------------------------------===//
#include "runtime/driver/Train.h"
#include "bbrt/safetensors.h"
#include "bbrt/sharding.h"
#include "bbrt/train.h"
#include "runtime/core/Distributed.h"
#include "runtime/core/Util.h"
#include "runtime/driver/Checkpoint.h"
#include "runtime/driver/Cli.h"
#include "runtime/driver/DataLoader.h"
#include "runtime/driver/OnnxExport.h"
#include "runtime/driver/PipelineSchedule.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sys/stat.h>

namespace bbrt {
namespace driver {
namespace {

using Clock = std::chrono::steady_clock;

/// The stop signal received (0: none), set by onStopSignal.
volatile std::sig_atomic_t stopSignal = 0;

extern "C" void onStopSignal(int sig) {
  stopSignal = sig;
  std::signal(sig, SIG_DFL); // a second one ends the process
}

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGUSR1};

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

//===--- options -----------------------------------------------------------===//

struct Options {
  std::vector<std::string> data, evalData;
  long long steps = -1;
  std::optional<long long> batch, seq;
  std::string checkpointDir;
  long long checkpointEvery = 0; // 0: only after the last step
  long long keepCheckpoints = 1;  // the latest and the K - 1 before it
  bool resume = false;
  unsigned long long seed = 1337;
  bool shuffle = false;
  long long evalEvery = 0; // 0: only after the last step
  long long evalSteps = 10;
  std::string log;
  long long printEvery = 1;
  bool profile = false;
  long long threads = 0;
  std::string weights;
  std::optional<double> lr, minLr;
  std::optional<std::string> schedule;
  std::optional<long long> warmup, decaySteps;
  std::string exportPath;
  long long killAtStep = 0;
  long long signalAtStep = 0;
  bool help = false;
};

constexpr long long kMaxCount = 1LL << 62;

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.compare(0, 1, "-") != 0)
      fail("unexpected argument '%s' (see --help)", arg.c_str());
    const std::string opt = arg.substr(0, arg.find('='));
    auto value = [&]() { return optionValue(argc, argv, i, opt); };
    auto count = [&](long long lo, const char *what) {
      std::string v = value();
      long long n;
      if (!parseInt(v, lo, kMaxCount, n))
        fail("%s wants %s, got '%s'", opt.c_str(), what, v.c_str());
      return n;
    };
    auto rate = [&]() {
      std::string v = value();
      double x;
      if (!parseDouble(v, x) || x < 0)
        fail("%s wants a non-negative number, got '%s'", opt.c_str(),
             v.c_str());
      return x;
    };
    auto text = [&](const char *what) {
      std::string v = value();
      if (v.empty())
        fail("%s wants %s", opt.c_str(), what);
      return v;
    };
    if (opt == "--help" || opt == "-h") {
      o.help = true;
    } else if (opt == "--data") {
      o.data.push_back(text("a FILE or NAME=FILE"));
    } else if (opt == "--eval-data") {
      o.evalData.push_back(text("a FILE or NAME=FILE"));
    } else if (opt == "--steps") {
      o.steps = count(1, "a positive step count");
    } else if (opt == "--batch") {
      o.batch = count(1, "a positive batch size");
    } else if (opt == "--seq") {
      o.seq = count(1, "a positive sequence length");
    } else if (opt == "--checkpoint-dir") {
      o.checkpointDir = text("a directory");
    } else if (opt == "--checkpoint-every") {
      o.checkpointEvery = count(1, "a positive step count");
    } else if (opt == "--keep-checkpoints") {
      o.keepCheckpoints = count(1, "a positive checkpoint count");
    } else if (opt == "--resume") {
      o.resume = true;
    } else if (opt == "--seed") {
      std::string v = value();
      if (!parseUint64(v, o.seed))
        fail("--seed wants an unsigned 64-bit integer, got '%s'", v.c_str());
    } else if (opt == "--shuffle") {
      o.shuffle = true;
    } else if (opt == "--eval-every") {
      o.evalEvery = count(1, "a positive step count");
    } else if (opt == "--eval-steps") {
      o.evalSteps = count(1, "a positive batch count");
    } else if (opt == "--log") {
      o.log = text("a file");
    } else if (opt == "--print-every") {
      o.printEvery = count(1, "a positive step count");
    } else if (opt == "--profile") {
      o.profile = true;
    } else if (opt == "--threads") {
      std::string v = value();
      if (!parseInt(v, 1, 4096, o.threads))
        fail("--threads wants a positive thread count, got '%s'", v.c_str());
    } else if (opt == "--weights") {
      o.weights = text("a file");
    } else if (opt == "--lr") {
      o.lr = rate();
    } else if (opt == "--min-lr") {
      o.minLr = rate();
    } else if (opt == "--schedule") {
      o.schedule = value();
    } else if (opt == "--warmup") {
      o.warmup = count(0, "a step count");
    } else if (opt == "--decay-steps") {
      o.decaySteps = count(0, "a step count");
    } else if (opt == "--export") {
      o.exportPath = text("a file");
    } else if (opt == "--kill-at-step") {
      o.killAtStep = count(1, "a positive step number");
    } else if (opt == "--signal-at-step") {
      o.signalAtStep = count(1, "a positive step number");
    } else {
      fail("unknown option '%s' (see --help)", arg.c_str());
    }
  }
  return o;
}

//===--- the model's step functions ----------------------------------------===//

/// What a step function exchanges with the driver.
struct StepIO {
  const FunctionInfo *fn = nullptr;
  std::vector<TensorDecl> data; // inputs with role "" or "labels", in order
  const TensorDecl *lr = nullptr, *step = nullptr; // train_step only
  const TensorDecl *loss = nullptr, *gradNorm = nullptr;
  /// The loss scale the step used (--precision=fp16's dynamic loss
  /// scaling), or null.
  const TensorDecl *lossScale = nullptr;
};

StepIO stepIO(const FunctionInfo &fn, bool training) {
  StepIO io;
  io.fn = &fn;
  for (const TensorDecl &d : fn.inputs)
    if (d.role.empty() || d.role == "labels")
      io.data.push_back(d);
  auto need = [&](const TensorDecl *d, const char *what, const char *role) {
    BBRT_CHECK(d, "the model's function '%s' has no %s with role '%s'",
               fn.name.c_str(), what, role);
    return d;
  };
  BBRT_CHECK(fn.inputWithRole(""),
             "the model's function '%s' has no model input (role \"\")",
             fn.name.c_str());
  need(fn.inputWithRole("labels"), "input", "labels");
  io.loss = need(fn.outputWithRole("loss"), "output", "loss");
  if (training) {
    io.lr = need(fn.inputWithRole("lr"), "input", "lr");
    io.step = fn.inputWithRole("step"); // only optimizers with bias correction

    io.gradNorm = need(fn.outputWithRole("grad_norm"), "output", "grad_norm");
    io.lossScale = fn.outputWithRole("loss_scale");
  }
  return io;
}

float readScalar(Context *ctx, const TensorDecl &d) {
  return readScalarF32(arena(ctx, d.offset));
}
void writeScalar(Context *ctx, const TensorDecl &d, float v) {
  writeScalarF32(arena(ctx, d.offset), v);
}

/// A function's data inputs. The loader fills host tensors: the arena's own
/// when device memory is host memory, else staging buffers that next()
/// uploads.
class DataInputs {
public:
  DataInputs(Context *ctx, const StepIO &io) {
    for (const TensorDecl &d : io.data) {
      device_.push_back(arenaTensor(ctx, d));
      if (deviceMemoryIsHost()) {
        host_.push_back(device_.back());
        continue;
      }
      staging_.emplace_back(static_cast<size_t>(d.nbytes()));
      host_.emplace_back(staging_.back().data(), d.dtype, d.shape);
    }
  }
  void next(DataLoader &loader) {
    loader.next(host_);
    if (!deviceMemoryIsHost())
      for (size_t i = 0; i < host_.size(); ++i)
        copyToDevice(device_[i].data, host_[i].data,
                     static_cast<size_t>(host_[i].nbytes()));
  }

private:
  std::vector<Tensor> device_, host_;
  std::vector<AlignedBuffer> staging_;
};

//===--- defaults from the model's attributes ------------------------------===//

std::optional<std::string> attribute(const ModelInfo &info,
                                     const std::string &key) {
  auto it = info.attributes.find(key);
  if (it == info.attributes.end())
    return std::nullopt;
  return it->second;
}

double attributeRate(const ModelInfo &info, const char *key, double dflt) {
  std::optional<std::string> v = attribute(info, key);
  if (!v)
    return dflt;
  double x;
  BBRT_CHECK(parseDouble(*v, x) && x >= 0,
             "the model's attribute %s is '%s', not a non-negative number",
             key, v->c_str());
  return x;
}

long long attributeCount(const ModelInfo &info, const char *key) {
  std::optional<std::string> v = attribute(info, key);
  if (!v)
    return 0;
  long long n;
  BBRT_CHECK(parseInt(*v, 0, kMaxCount, n),
             "the model's attribute %s is '%s', not a step count", key,
             v->c_str());
  return n;
}

/// The options win over the model's train.* attributes.
Schedule resolveSchedule(const ModelInfo &info, const Options &o) {
  Schedule s;
  if (o.lr) {
    s.lr = *o.lr;
  } else {
    BBRT_CHECK(attribute(info, "train.lr"),
               "no learning rate: pass --lr (the model has no train.lr "
               "attribute)");
    s.lr = attributeRate(info, "train.lr", 0);
  }
  std::optional<std::string> kind =
      o.schedule ? o.schedule : attribute(info, "train.schedule");
  if (kind && !parseScheduleKind(*kind, s.kind))
    fail("%s '%s' is not a schedule (constant, cosine, linear)",
         o.schedule ? "--schedule" : "the model's attribute train.schedule",
         kind->c_str());
  s.warmup = o.warmup ? *o.warmup : attributeCount(info, "train.warmup");
  s.minLr = o.minLr ? *o.minLr : attributeRate(info, "train.min_lr", 0);
  s.decaySteps =
      o.decaySteps ? *o.decaySteps : attributeCount(info, "train.decay_steps");
  if (s.decaySteps == 0)
    s.decaySteps = o.steps;
  return s;
}

//===--- --help ------------------------------------------------------------===//

void usage(const ModelInfo &info, const StepIO &train,
           const std::string &prog, FILE *f) {
  fprintf(
      f,
      "usage: %s --data FILE|NAME=FILE... --steps N [options]\n"
      "\n"
      "Trains the model%s%s: runs its train_step on batches of --data for N\n"
      "steps, keeping the parameters and the optimizer state in memory.\n"
      "\n"
      "data:\n"
      "  --data FILE           token file: raw uint16 tokens, or llm.c's .bin\n"
      "                        (int32 header, magic 20240520); input row b of "
      "a\n"
      "                        batch at position p is tokens p+bT..p+bT+T-1, "
      "its\n"
      "                        labels the same one token later\n"
      "  --data NAME=FILE      .npy array [N, ...] for data input NAME (once "
      "for\n"
      "                        each input and the labels); B rows per batch\n"
      "  --shuffle             start each batch at a random position\n"
      "  --seed S              seed of --shuffle's generator (default 1337)\n"
      "  --batch B, --seq T    check the compiled batch size / sequence "
      "length\n"
      "training:\n"
      "  --steps N             total steps (with --resume, counting those "
      "done)\n"
      "  --lr X                peak learning rate (default: train.lr)\n"
      "  --schedule KIND       constant, cosine or linear (default:\n"
      "                        train.schedule, else constant)\n"
      "  --warmup W            linear warmup steps (default: train.warmup, "
      "else 0)\n"
      "  --min-lr X            rate at the end of the decay (default: "
      "train.min_lr,\n"
      "                        else 0)\n"
      "  --decay-steps D       step where the decay ends (default:\n"
      "                        train.decay_steps, else --steps)\n"
      "  --threads T           OpenMP threads (default: all cores)\n"
      "  --weights FILE        initial weights (default: the program's "
      "path\n"
      "                        followed by .safetensors)\n"
      "evaluation:\n"
      "  --eval-data SPEC      like --data; eval_step runs on it\n"
      "  --eval-every K        evaluate every K steps (and after the last)\n"
      "  --eval-steps E        batches per evaluation, from the start "
      "(default 10)\n"
      "checkpoints:\n"
      "  --checkpoint-dir D    write D/checkpoint.safetensors after the last "
      "step\n"
      "  --checkpoint-every K  ... and every K steps\n"
      "  --keep-checkpoints K  keep the K - 1 before the latest too, as\n"
      "                        D/checkpoint-STEP.safetensors (--resume falls\n"
      "                        back to them when the latest cannot be read)\n"
      "  --resume              continue from D/checkpoint.safetensors up to "
      "--steps\n"
      "  --kill-at-step N      for tests: SIGKILL the process after step N\n"
      "  --signal-at-step N    for tests: SIGTERM rank 0 after step N\n"
      "                        (SIGTERM, SIGINT, SIGUSR1: stop after the "
      "step,\n"
      "                        checkpoint it, exit 128 + the signal)\n"
      "output:\n"
      "  --print-every K       progress line on stderr every K steps "
      "(default 1)\n"
      "  --log FILE            append CSV rows step,loss,lr,grad_norm,ms and\n"
      "                        eval,STEP,loss\n"
      "  --export FILE.onnx    after training, write the ONNX model with the\n"
      "                        trained weights\n"
      "  --profile             time every kernel call of the steps after the\n"
      "                        first (one at a time) and print rank 0's time\n"
      "                        (each pipeline stage's) per kernel kind and per\n"
      "                        function at the end\n"
      "\n",
      prog.c_str(), info.name.empty() ? "" : " ", info.name.c_str());
  fprintf(f, "model inputs (one batch):\n");
  for (const TensorDecl &d : train.data)
    if (d.role.empty())
      fprintf(f, "  %s: %s\n", d.name.c_str(), describe(d).c_str());
  fprintf(f, "labels:\n");
  for (const TensorDecl &d : train.data)
    if (d.role == "labels")
      fprintf(f, "  %s: %s\n", d.name.c_str(), describe(d).c_str());
  int64_t bytes = 0;
  for (const StateDecl &s : info.states)
    bytes += s.nbytes();
  fprintf(f, "states: %zu tensors, %lld bytes\n", info.states.size(),
          (long long)bytes);
  fprintf(f, "attributes:\n");
  for (const auto &kv : info.attributes)
    if (kv.first.compare(0, 6, "train.") == 0)
      fprintf(f, "  %s = %s\n", kv.first.c_str(), kv.second.c_str());
}

//===--- checks against the compiled shapes --------------------------------===//

/// --batch and --seq cannot change a compiled program; they check it.
void checkCompiledShape(const Options &o, const TensorDecl &first) {
  auto mismatch = [&](const char *flag, long long given, const char *what,
                      int dim) {
    Dims want = first.shape;
    want.d[dim] = given;
    fail("%s %lld: this program was compiled for %s %lld (input '%s' is "
         "%s); recompile with bbc --input-shape %s=%s to change it",
         flag, given, what, (long long)first.shape[dim], first.name.c_str(),
         describe(first).c_str(), first.name.c_str(),
         formatDims(want).c_str());
  };
  if (o.batch && *o.batch != first.shape[0])
    mismatch("--batch", *o.batch, "batch", 0);
  if (o.seq) {
    BBRT_CHECK(first.shape.rank >= 2,
               "--seq %lld: the model's input '%s' (%s) has no sequence "
               "dimension",
               *o.seq, first.name.c_str(), describe(first).c_str());
    if (*o.seq != first.shape[1])
      mismatch("--seq", *o.seq, "sequence length", 1);
  }
}

//===--- the CSV log -------------------------------------------------------===//

/// Appends rows and flushes each, so that a killed run keeps all it logged.
class CsvLog {
public:
  CsvLog() = default;
  CsvLog(const CsvLog &) = delete;
  CsvLog &operator=(const CsvLog &) = delete;
  ~CsvLog() {
    if (f_)
      fclose(f_);
  }
  /// `scaled`: the rows have a loss_scale column (dynamic loss scaling).
  void open(const std::string &path, bool scaled) {
    path_ = path;
    struct stat st;
    const bool fresh = stat(path.c_str(), &st) != 0 || st.st_size == 0;
    f_ = fopen(path.c_str(), "a");
    if (!f_)
      fail("--log '%s': cannot open: %s", path.c_str(), strerror(errno));
    if (fresh)
      line(scaled ? "step,loss,lr,grad_norm,ms,loss_scale\n"
                  : "step,loss,lr,grad_norm,ms\n");
  }
  bool enabled() const { return f_ != nullptr; }
  void line(const char *fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f_, fmt, ap);
    va_end(ap);
    if (fflush(f_) != 0 || ferror(f_))
      fail("--log '%s': cannot write: %s", path_.c_str(), strerror(errno));
  }

private:
  std::string path_;
  FILE *f_ = nullptr;
};

//===--- the run -----------------------------------------------------------===//

class Trainer {
public:
  Trainer(const ModelInfo &info, const Options &o, const StepIO &train,
          const std::string &argv0)
      : info_(info), o_(o), train_(train),
        batchesPerStep_(batchesPerStep(info)) {
    BBRT_CHECK(!o.data.empty(), "--data is required (see --help)");
    BBRT_CHECK(o.steps > 0, "--steps is required (see --help)");
    schedule_ = resolveSchedule(info, o);
    BBRT_CHECK(o.checkpointEvery == 0 || !o.checkpointDir.empty(),
               "--checkpoint-every needs --checkpoint-dir");
    BBRT_CHECK(o.keepCheckpoints == 1 || !o.checkpointDir.empty(),
               "--keep-checkpoints needs --checkpoint-dir");
    BBRT_CHECK(!o.resume || !o.checkpointDir.empty(),
               "--resume needs --checkpoint-dir");
    BBRT_CHECK(o.evalEvery == 0 || !o.evalData.empty(),
               "--eval-every needs --eval-data");
    if (!o.evalData.empty()) {
      // A pipelined model evaluates with its stages' forward functions, on
      // the data inputs of its steps.
      const FunctionInfo *eval =
          isPipelined(info) ? train.fn : info.function("eval_step");
      BBRT_CHECK(eval, "--eval-data: the model has no eval_step function");
      eval_ = stepIO(*eval, false);
    }
    TensorDecl first = *train.fn->inputWithRole("");
    first.shape.d[0] *= batchesPerStep_;
    checkCompiledShape(o, first);

    loader_ = openDataLoader("--data", o.data, train.data, o.shuffle, o.seed);
    if (eval_.fn)
      evalLoader_ = openDataLoader("--eval-data", o.evalData, eval_.data,
                                   false, 0);
    const std::string weights =
        o.weights.empty() ? argv0 + ".safetensors" : o.weights;
    if (!o.exportPath.empty())
      openExportTemplate(weights);
    if (isPipelined(info)) {
      // Each rank holds its stage's states only.
      ctx_ = createContext(info, weights, PipelineSchedule::contextOptions(info));
      pipeline_ = std::make_unique<PipelineSchedule>(info, ctx_.get(), train.data);
      if (pipeline_->firstRankOfStage())
        fprintf(stderr, "%s\n", pipeline_->describe().c_str());
    } else {
      ctx_ = createContext(info, weights);
    }
    scaled_ = pipeline_ ? pipeline_->lossScaled() : train_.lossScale != nullptr;
    if (o.resume)
      resume();
    // Created only now that every check has passed: a failed start leaves
    // nothing behind.
    if (!o.checkpointDir.empty() && isRoot())
      makeDirs(o.checkpointDir, "checkpoint directory");
    if (!o.log.empty() && isRoot()) {
      log_.open(o.log, scaled_);
      if (o.resume)
        log_.line("# resumed at step %lld\n", (long long)start_);
    }
  }

  /// The exit code: 0, or 128 + the signal that stopped the run.
  int run() {
    if (!pipeline_)
      batch_ = std::make_unique<DataInputs>(ctx_.get(), train_);
    for (int sig : kStopSignals)
      std::signal(sig, onStopSignal);
    const Clock::time_point begin = Clock::now();
    Timing window, total;
    float loss = NAN;
    for (int64_t s = start_; s < o_.steps; ++s) {
      // --profile: the steps after the first (which warms up), or the only
      // one.
      if (o_.profile && !ctx_->profile && (s > start_ || s + 1 == o_.steps))
        ctx_->profile = std::make_unique<Profile>();
      const StepResult r = step(s);
      const int64_t c = s + 1; // steps completed
      loss = r.loss;
      window.add(r.ms);
      total.add(r.ms);
      if (ctx_->profile)
        profiled_.add(r.ms);
      if (!std::isfinite(r.norm) && scaled_) {
        // Dynamic loss scaling: the gradients overflowed under this scale;
        // the step changed nothing and the scale halves.
        ++window.skipped;
        ++total.skipped;
      }
      if (log_.enabled())
        log_.line("%lld,%.9g,%.9g,%.9g,%.3f%s\n", (long long)c, r.loss, r.lr,
                  r.norm, r.ms,
                  scaled_ ? strformat(",%.9g", r.scale).c_str() : "");
      if (!std::isfinite(r.loss))
        stopDiverged(c, r.loss);
      if (c % o_.printEvery == 0 || c == o_.steps) {
        printProgress(c, r, window);
        window = Timing();
      }
      if (evalLoader_ && due(c, o_.evalEvery)) {
        std::unique_ptr<Profile> paused = std::move(ctx_->profile);
        evaluate(c);
        ctx_->profile = std::move(paused);
      }
      if (!o_.checkpointDir.empty() && due(c, o_.checkpointEvery))
        checkpoint(c);
      if (c == o_.killAtStep)
        raise(SIGKILL);
      if (c == o_.signalAtStep && isRoot())
        raise(SIGTERM); // on rank 0 only: the others learn it from anyRank
      if (anyRank(stopSignal != 0) && c < o_.steps)
        return stopBySignal(c);
    }
    printSummary(msSince(begin), total, loss);
    if (ctx_->profile)
      printProfile();
    if (!o_.exportPath.empty())
      exportOnnx();
    return 0;
  }

  /// --profile's tables on stderr: rank 0's, and for a pipeline every
  /// stage's first rank's (gathered to rank 0, which prints them in stage
  /// order), each with the part of the steps spent outside the entry
  /// functions (the driver's own work: a pipeline's gradient accumulation,
  /// sends and receives, waiting for the other stages).
  void printProfile() {
    const Profile &p = *ctx_->profile;
    double inFunctions = 0;
    for (const auto &[name, e] : p.functions)
      inFunctions += e.seconds;
    const double n = static_cast<double>(profiled_.steps);
    const std::string who =
        pipeline_ ? strformat("stage %lld (rank %lld)",
                              (long long)pipeline_->stage(),
                              (long long)worldRank())
                  : std::string("rank 0");
    std::string text = strformat(
        "profile of %s over %lld steps (kernels timed one at a time): "
        "%.3f ms/step, of which %.3f in the functions below and %.3f "
        "outside them\n%s",
        who.c_str(), (long long)profiled_.steps, profiled_.ms / n,
        1e3 * inFunctions / n, profiled_.ms / n - 1e3 * inFunctions / n,
        formatProfile(p, profiled_.steps, "step").c_str());
    if (pipeline_ && distributed()) {
      // Every rank sends a fixed-size block (empty but for the stages'
      // first ranks); ranks are stage-major, so rank order is stage order.
      constexpr int64_t kBlock = 16 << 10;
      if (!pipeline_->firstRankOfStage())
        text.clear();
      if (static_cast<int64_t>(text.size()) >= kBlock)
        text = text.substr(0, kBlock - 16) + "\n(truncated)\n";
      std::vector<char> mine(kBlock, 0), all;
      std::memcpy(mine.data(), text.data(), text.size());
      if (isRoot())
        all.resize(static_cast<size_t>(kBlock * worldSize()));
      distributedBackend()->gather(mine.data(), kBlock, DType::U8,
                                   isRoot() ? all.data() : nullptr);
      if (!isRoot())
        return;
      text.clear();
      for (int64_t r = 0; r < worldSize(); ++r) {
        const char *block = all.data() + r * kBlock;
        const std::string part(block, strnlen(block, kBlock));
        if (!part.empty())
          text += (text.empty() ? "" : "\n") + part;
      }
    }
    if (isRoot())
      fprintf(stderr, "%s", text.c_str());
  }

private:
  const ModelInfo &info_;
  const Options &o_;
  StepIO train_, eval_;
  /// Whether the step scales the loss dynamically (a loss_scale output).
  bool scaled_ = false;
  /// Batches of the compiled size a step reads (PipelineSchedule.h).
  const int64_t batchesPerStep_;
  Schedule schedule_;
  std::unique_ptr<DataLoader> loader_, evalLoader_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<SafetensorsFile> exportFile_;
  const SafetensorsEntry *exportTemplate_ = nullptr;
  CsvLog log_;
  std::unique_ptr<DataInputs> batch_; // train_step's data inputs
  /// Set for a model cut into pipeline stages; train_ is then eval_step's.
  std::unique_ptr<PipelineSchedule> pipeline_;
  int64_t start_ = 0;
  int64_t lastCheckpoint_ = -1;

  struct StepResult {
    float loss, lr, norm;
    double ms;
    float scale = NAN; ///< the loss scale, under dynamic loss scaling
  };
  struct Timing {
    double ms = 0;
    int64_t steps = 0;
    int64_t skipped = 0; ///< steps whose scaled gradients overflowed
    void add(double stepMs) {
      ms += stepMs;
      ++steps;
    }
  };
  /// --profile: the steps profiled and their time.
  Timing profiled_;

  /// 0-based step s: the batch, the rate and the step number in, train_step,
  /// the loss and the gradient norm out.
  StepResult step(int64_t s) {
    const Clock::time_point t0 = Clock::now();
    const float lr = static_cast<float>(learningRate(schedule_, s));
    if (pipeline_) {
      const PipelineSchedule::Result p =
          pipeline_->step(*loader_, lr, static_cast<float>(s + 1));
      return {p.loss, lr, p.gradNorm, msSince(t0), p.lossScale};
    }
    batch_->next(*loader_);
    writeScalar(ctx_.get(), *train_.lr, lr);
    if (train_.step)
      writeScalar(ctx_.get(), *train_.step, static_cast<float>(s + 1));
    runFunction(ctx_.get(), *train_.fn);
    StepResult r;
    r.loss = readScalar(ctx_.get(), *train_.loss);
    r.lr = lr;
    r.norm = readScalar(ctx_.get(), *train_.gradNorm);
    if (train_.lossScale)
      r.scale = readScalar(ctx_.get(), *train_.lossScale);
    r.ms = msSince(t0);
    return r;
  }

  /// Whether something done every `every` steps (0: never) and after the last
  /// step is due after step count c.
  bool due(int64_t c, long long every) const {
    return c == o_.steps || (every > 0 && c % every == 0);
  }

  /// After step c, on a stop signal (on any rank): the checkpoint of step
  /// c, unless it was just written, and the line that says so.
  int stopBySignal(int64_t c) {
    const int sig = stopSignal != 0 ? static_cast<int>(stopSignal) : SIGTERM;
    const bool save = !o_.checkpointDir.empty();
    if (save && lastCheckpoint_ != c)
      checkpoint(c);
    if (isRoot()) {
      if (save)
        fprintf(stderr,
                "stopped by a signal after step %lld of %lld; the checkpoint "
                "'%s' holds it (continue with --resume)\n",
                (long long)c, o_.steps, checkpointPath(o_.checkpointDir).c_str());
      else
        fprintf(stderr,
                "stopped by a signal after step %lld of %lld; nothing was "
                "saved (no --checkpoint-dir)\n",
                (long long)c, o_.steps);
    }
    return 128 + sig;
  }

  [[noreturn]] void stopDiverged(int64_t c, float loss) const {
    const std::string kept =
        lastCheckpoint_ < 0
            ? std::string("no checkpoint was written")
            : strformat("the last checkpoint, of step %lld, is '%s'",
                        (long long)lastCheckpoint_,
                        checkpointPath(o_.checkpointDir).c_str());
    fail("step %lld: the loss is %s; training stopped (%s)", (long long)c,
         std::isnan(loss) ? "nan" : "infinite", kept.c_str());
  }

  /// Times are the mean over the steps since the previous progress line.
  void printProgress(int64_t c, const StepResult &r, const Timing &window) {
    if (!isRoot())
      return;
    const double perStep = window.ms / window.steps;
    // Under dynamic loss scaling: the scale of the last step, and how many
    // steps since the last line were skipped.
    const std::string scaling =
        scaled_
            ? strformat(" | scale %.9g | %lld skipped", r.scale,
                        (long long)window.skipped)
            : std::string();
    fprintf(stderr,
            "step %lld/%lld | loss %.6f | lr %.3e | norm %.4f | %.3g ms | "
            "%.0f %s/s%s\n",
            (long long)c, o_.steps, r.loss, r.lr, r.norm, perStep,
            loader_->itemsPerBatch() * batchesPerStep_ * 1000.0 / perStep,
            loader_->itemUnit(), scaling.c_str());
  }

  void printSummary(double wallMs, const Timing &total, float loss) {
    if (!isRoot())
      return;
    if (total.steps == 0) {
      fprintf(stderr,
              "done: nothing to train, the checkpoint is at step %lld of "
              "%lld\n",
              (long long)start_, o_.steps);
      return;
    }
    const std::string resumed =
        start_ ? strformat(" (resumed at step %lld)", (long long)start_) : "";
    const std::string skipped =
        scaled_
            ? strformat(" | %lld skipped (gradients overflowed)",
                        (long long)total.skipped)
            : std::string();
    fprintf(stderr,
            "done: %lld steps%s in %.2f s | %.3g ms/step | final loss %.6f%s\n",
            (long long)total.steps, resumed.c_str(), wallMs / 1000.0,
            total.ms / total.steps, loss, skipped.c_str());
  }

  void resume() {
    const std::string latest = checkpointPath(o_.checkpointDir);
    struct stat st;
    if (stat(latest.c_str(), &st) != 0)
      fail("--resume: there is no checkpoint '%s'; start the run without "
           "--resume",
           latest.c_str());
    // The latest, else (kept by --keep-checkpoints) the newest older one
    // that reads: a damaged latest checkpoint costs the steps since the one
    // before it, not the run. Nothing is restored from one that fails.
    std::vector<std::string> paths = {latest};
    for (const auto &kept : keptCheckpoints(o_.checkpointDir))
      paths.push_back(kept.second);
    CheckpointMeta meta;
    std::string path, firstError;
    for (const std::string &p : paths) {
      try {
        meta = readCheckpoint(p, ctx_.get());
        path = p;
        break;
      } catch (const Error &e) {
        if (firstError.empty())
          firstError = e.what();
      }
    }
    if (path.empty())
      fail("--resume: %s", firstError.c_str());
    if (path != latest && isRoot())
      fprintf(stderr,
              "--resume: the latest checkpoint cannot be used (%s); resuming "
              "from the kept checkpoint '%s'\n",
              firstError.c_str(), path.c_str());
    BBRT_CHECK(meta.step <= o_.steps,
               "--resume: checkpoint '%s' is at step %lld, past --steps %lld",
               path.c_str(), (long long)meta.step, o_.steps);
    BBRT_CHECK(meta.shuffle == o_.shuffle,
               "--resume: checkpoint '%s' was written %s --shuffle; resume "
               "%s it to continue the same run",
               path.c_str(), meta.shuffle ? "with" : "without",
               meta.shuffle ? "with" : "without");
    try {
      loader_->setPosition(meta.dataPosition);
    } catch (const Error &e) {
      fail("--resume: checkpoint '%s' does not fit the data: %s", path.c_str(),
           e.what());
    }
    loader_->setRng(meta.rng);
    start_ = meta.step;
    lastCheckpoint_ = meta.step;
    if (isRoot())
      fprintf(stderr, "resuming from '%s' at step %lld\n", path.c_str(),
              (long long)start_);
  }

  /// How checkpoints and exports take a state to rank 0 (Checkpoint.h).
  StateFetch stateFetch() {
    if (!pipeline_)
      return {};
    return [this](size_t k, DeviceBuffer &scratch) {
      return pipeline_->stateForRoot(k, scratch);
    };
  }

  void checkpoint(int64_t c) {
    CheckpointMeta meta;
    meta.step = c;
    meta.dataPosition = loader_->position();
    meta.rng = loader_->rng();
    meta.seed = o_.seed;
    meta.shuffle = o_.shuffle;
    for (const std::string &d : o_.data)
      meta.data += (meta.data.empty() ? "" : " ") + d;
    meta.model = info_.name;
    // --keep-checkpoints: the latest stays, as checkpoint-STEP, until the
    // new one is written; then all but the newest K - 1 kept go.
    if (o_.keepCheckpoints > 1 && isRoot())
      keepLatestCheckpoint(o_.checkpointDir, lastCheckpoint_);
    writeCheckpoint(checkpointPath(o_.checkpointDir), ctx_.get(), meta,
                    stateFetch());
    if (o_.keepCheckpoints > 1 && isRoot())
      pruneKeptCheckpoints(o_.checkpointDir, o_.keepCheckpoints);
    lastCheckpoint_ = c;
  }

  /// eval_step over the first --eval-steps batches of --eval-data; for a
  /// pipelined model, its stages' forward functions over as many
  /// micro-batches as make up --eval-steps batches.
  void evaluate(int64_t c) {
    evalLoader_->setPosition(0);
    const long long n = o_.evalSteps * batchesPerStep_;
    double mean = 0;
    if (pipeline_) {
      mean = pipeline_->evaluate(*evalLoader_, n);
    } else {
      DataInputs batch(ctx_.get(), eval_);
      double sum = 0;
      for (long long e = 0; e < n; ++e) {
        batch.next(*evalLoader_);
        runFunction(ctx_.get(), *eval_.fn);
        sum += readScalar(ctx_.get(), *eval_.loss);
      }
      mean = sum / static_cast<double>(n);
    }
    if (isRoot())
      fprintf(stderr, "eval step %lld | loss %.6f\n", (long long)c, mean);
    if (log_.enabled())
      log_.line("eval,%lld,%.9g\n", (long long)c, mean);
  }

  /// Checked before training, so that a missing template does not cost a
  /// whole run.
  void openExportTemplate(const std::string &weights) {
    std::optional<std::string> name = attribute(info_, "onnx.template");
    BBRT_CHECK(name, "--export: the model has no ONNX template (attribute "
                     "onnx.template); it was compiled without one");
    exportFile_ = std::make_unique<SafetensorsFile>(weights);
    exportTemplate_ = exportFile_->find(*name);
    BBRT_CHECK(exportTemplate_ && exportTemplate_->known &&
                   exportTemplate_->type == DType::U8 &&
                   exportTemplate_->shape.rank == 1,
               "--export: weights file '%s' has no ONNX template (a U8 1-D "
               "tensor '%s')",
               weights.c_str(), name->c_str());
  }

  /// The parameters are the states that are not optimizer state, which the
  /// compiler names "<param>#<kind>". Sharded ones are gathered to rank 0,
  /// which writes the file.
  void exportOnnx() {
    std::vector<std::pair<std::string, Tensor>> params;
    std::vector<AlignedBuffer> gathered(info_.states.size());
    const StateFetch fetch = stateFetch();
    // A state received from another stage stays in its scratch buffer
    // until the file is written (the gather may return it in place).
    std::vector<DeviceBuffer> scratch(info_.states.size());
    for (size_t k = 0; k < info_.states.size(); ++k)
      if (info_.states[k].name.find('#') == std::string::npos)
        params.emplace_back(
            info_.states[k].name,
            gatherState(ctx_.get(), k, fetch, scratch[k], gathered[k]));
    if (!isRoot())
      return;
    try {
      writeOnnxWithInitializers(o_.exportPath, exportTemplate_->data,
                                static_cast<size_t>(exportTemplate_->nbytes),
                                params);
    } catch (const Error &e) {
      fail("--export: %s", e.what());
    }
    fprintf(stderr, "exported %zu trained initializers to '%s'\n",
            params.size(), o_.exportPath.c_str());
  }
};

} // namespace

int runTraining(const ModelInfo &info, const std::string &progName, int argc,
                char **argv) {
  Options o = parseOptions(argc, argv);
  // A pipelined model's stages have no single train step; its data inputs
  // (one micro-batch) are eval_step's.
  const bool pipelined = isPipelined(info);
  const FunctionInfo *fn = info.function(pipelined ? "eval_step" : "train_step");
  // Stages on meshes of their own have no eval_step: their data inputs are
  // the stage functions'.
  FunctionInfo stagesData;
  if (!fn && pipelined) {
    stagesData = stageDataInputs(info);
    fn = &stagesData;
  }
  BBRT_CHECK(fn, "the model has no function '%s'",
             pipelined ? "eval_step" : "train_step");
  StepIO train = stepIO(*fn, !pipelined);
  if (o.help) {
    if (isRoot())
      usage(info, train, progName, stdout);
    return 0;
  }
  setNumThreads(static_cast<int>(o.threads));
  Trainer trainer(info, o, train, argc > 0 ? argv[0] : "model");
  return trainer.run();
}

} // namespace driver
} // namespace bbrt
