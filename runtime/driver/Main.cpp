//===- Main.cpp - main() of every generated program -----------------------===//
//
// Training programs (a "train_step" function) get the training command line
// (Train.cpp); inference programs run their "forward" function:
//
//   ./NAME --input x=x.npy [--input name=file.pb ...] [--output-dir out/]
//          [--bench N [--profile]] [--threads T] [--weights FILE] [--help]
//
// Every error is one line `NAME: error: ...` on stderr and exit code 1.
//
// A sharded program (a mesh of more than one device) runs as every rank of
// `mpirun -np N`: every rank reads the full inputs (the program slices them
// itself) and runs forward; the outputs are replicated, and only rank 0
// writes them and prints. An error on any rank ends every rank
// (bbrt::fatalError).
//
//===----------------------------------------------------------------------===//
#include "bbrt/io.h"
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/driver/Cli.h"
#include "runtime/driver/PipelineSchedule.h"
#include "runtime/driver/Train.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

void bb_describe(bbrt::ModelInfo *info);

namespace {

using namespace bbrt;
using driver::describe;

std::string progName = "model";

[[noreturn]] void die(const std::string &msg) { fatalError(progName, msg); }

void usage(const ModelInfo &info, const FunctionInfo &forward, FILE *f) {
  fprintf(f,
          "usage: %s --input NAME=FILE ... [--output-dir DIR] [--bench N]\n"
          "       [--profile] [--threads T] [--weights FILE] [--help]\n"
          "       (inputs may also be given as positional FILEs, in order)\n"
          "\n"
          "Runs the model%s%s on .npy or ONNX TensorProto (.pb) inputs and\n"
          "writes each output to DIR/<output>.npy (DIR defaults to '.').\n"
          "\n"
          "options:\n"
          "  --input NAME=FILE  input NAME from FILE (.npy or .pb)\n"
          "  --output-dir DIR   where outputs go (created if missing)\n"
          "  --bench N          run N times after a warm-up and print the\n"
          "                     latency; outputs written only with --output-dir\n"
          "  --profile          with --bench: N more runs, timed per kernel kind\n"
          "                     and printed (rank 0's) after the latency\n"
          "  --threads T        OpenMP and OpenBLAS threads (default: all "
          "cores)\n"
          "  --weights FILE     weights (default: %s.safetensors beside the "
          "program)\n"
          "\n",
          progName.c_str(), info.name.empty() ? "" : " ", info.name.c_str(),
          progName.c_str());
  fprintf(f, "inputs:\n");
  for (const TensorDecl &d : forward.inputs)
    fprintf(f, "  %s: %s\n", d.name.c_str(), describe(d).c_str());
  fprintf(f, "outputs:\n");
  for (const TensorDecl &d : forward.outputs)
    fprintf(f, "  %s: %s\n", d.name.c_str(), describe(d).c_str());
  int64_t wbytes = 0;
  for (const TensorDecl &d : info.weights)
    wbytes += d.nbytes();
  fprintf(f, "weights: %zu tensors, %lld bytes\n", info.weights.size(),
          (long long)wbytes);
  fprintf(f, "arena: %lld bytes\n", (long long)forward.arenaSize);
}

std::string sanitize(const std::string &name) {
  std::string s = name;
  for (char &c : s)
    if (c == '/' || c == ':' || c == '\\' || c == '\0')
      c = '_';
  if (s.empty() || s == "." || s == "..")
    s = "_" + s;
  return s;
}

struct Args {
  std::vector<std::pair<std::string, std::string>> named; // name, file
  std::vector<std::string> positional;
  std::string outDir;
  bool haveOutDir = false;
  long long bench = 0;
  bool profile = false;
  long long threads = 0;
  std::string weights;
  bool help = false;
};

Args parseArgs(int argc, char **argv) {
  Args a;
  auto value = [&](int &i, const std::string &opt) {
    return driver::optionValue(argc, argv, i, opt);
  };
  bool optionsDone = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (optionsDone || arg.empty() || arg[0] != '-' || arg == "-") {
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      optionsDone = true;
      continue;
    }
    std::string opt = arg.substr(0, arg.find('='));
    if (opt == "--help" || opt == "-h") {
      a.help = true;
    } else if (opt == "--input" || opt == "-i") {
      std::string v = value(i, opt);
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        die("--input wants NAME=FILE, got '" + v + "'");
      a.named.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (opt == "--output-dir" || opt == "-o") {
      a.outDir = value(i, opt);
      a.haveOutDir = true;
      if (a.outDir.empty())
        die("--output-dir wants a directory");
    } else if (opt == "--bench") {
      std::string v = value(i, opt);
      if (!driver::parseInt(v, 1, 1000000000, a.bench))
        die("--bench wants a positive run count, got '" + v + "'");
    } else if (opt == "--profile") {
      a.profile = true;
    } else if (opt == "--threads") {
      std::string v = value(i, opt);
      if (!driver::parseInt(v, 1, 4096, a.threads))
        die("--threads wants a positive thread count, got '" + v + "'");
    } else if (opt == "--weights") {
      a.weights = value(i, opt);
      if (a.weights.empty())
        die("--weights wants a file");
    } else {
      die("unknown option '" + arg + "' (see --help)");
    }
  }
  if (a.profile && a.bench == 0 && !a.help)
    die("--profile times the runs of --bench: give --bench N too");
  return a;
}

/// The inference command line: runs `forward` on the given inputs.
int runInference(const ModelInfo &info, const FunctionInfo &forward,
                 int argc, char **argv) {
  Args args = parseArgs(argc, argv);
  if (args.help) {
    if (isRoot())
      usage(info, forward, stdout);
    return 0;
  }
  setNumThreads(static_cast<int>(args.threads));
  const std::vector<TensorDecl> &declared = forward.inputs;

  // Assign files to inputs.
  const size_t nin = declared.size();
  std::vector<std::string> files(nin);
  std::vector<bool> given(nin, false);
  auto inputNames = [&]() {
    std::string s;
    for (const TensorDecl &d : declared)
      s += (s.empty() ? "" : ", ") + d.name;
    return s.empty() ? std::string("none") : s;
  };
  for (const auto &nf : args.named) {
    size_t k = 0;
    while (k < nin && declared[k].name != nf.first)
      ++k;
    if (k == nin)
      die("unknown input '" + nf.first + "' (the model's inputs: " +
          inputNames() + ")");
    if (given[k])
      die("input '" + nf.first + "' given more than once");
    given[k] = true;
    files[k] = nf.second;
  }
  size_t next = 0;
  for (const std::string &f : args.positional) {
    while (next < nin && given[next])
      ++next;
    if (next == nin)
      die("unexpected argument '" + f + "': all " + std::to_string(nin) +
          " inputs are already given");
    given[next] = true;
    files[next] = f;
  }
  for (size_t k = 0; k < nin; ++k)
    if (!given[k])
      die("missing input '" + declared[k].name + "' (" +
          describe(declared[k]) + "); pass --input " + declared[k].name +
          "=FILE");

  // Read and check inputs before touching weights.
  std::vector<HostTensor> inputs;
  inputs.reserve(nin);
  for (size_t k = 0; k < nin; ++k) {
    const TensorDecl &d = declared[k];
    std::string where = "input '" + d.name + "' (" + files[k] + "): ";
    try {
      inputs.push_back(readTensorFile(files[k]));
    } catch (const Error &e) {
      die(where + e.what());
    }
    const HostTensor &t = inputs.back();
    if (t.dtype != d.dtype)
      die(where + "dtype " + dtypeName(t.dtype) +
          " does not match the model's " + dtypeName(d.dtype));
    if (t.shape != d.shape)
      die(where + "shape " + formatDims(t.shape) +
          " does not match the model's " + formatDims(d.shape));
  }

  std::string weightsPath =
      args.weights.empty() ? std::string(argv[0]) + ".safetensors"
                           : args.weights;
  std::unique_ptr<Context> ctx = createContext(info, weightsPath);

  // Outputs are replicated: rank 0 writes them.
  const bool writeOutputs = (args.bench == 0 || args.haveOutDir) && isRoot();
  const std::string outDir = args.haveOutDir ? args.outDir : ".";
  if (writeOutputs)
    driver::makeDirs(outDir, "output directory");

  auto loadInputs = [&]() {
    for (size_t k = 0; k < nin; ++k)
      copyToDevice(arena(ctx.get(), declared[k].offset), inputs[k].data(),
                   static_cast<size_t>(inputs[k].nbytes()));
  };
  if (args.bench > 0) {
    loadInputs();
    runFunction(ctx.get(), forward); // warm-up
    std::vector<double> ms;
    ms.reserve(static_cast<size_t>(args.bench));
    for (long long r = 0; r < args.bench; ++r) {
      loadInputs();
      barrier(); // ranks start together; the time is the slowest rank's
      auto t0 = std::chrono::steady_clock::now();
      runFunction(ctx.get(), forward);
      barrier();
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    if (args.profile) {
      // N more runs, each kernel timed alone (the device waits after each),
      // so that the latency above is a normal run's.
      ctx->profile = std::make_unique<Profile>();
      for (long long r = 0; r < args.bench; ++r)
        runFunction(ctx.get(), forward);
    }
    std::sort(ms.begin(), ms.end());
    size_t n = ms.size();
    double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    if (isRoot()) {
      printf("latency: min %.3f ms, median %.3f ms over %lld runs\n", ms[0],
             median, args.bench);
      if (args.profile)
        printf("\nprofile of rank 0, per run (kernels timed one at a time):\n%s",
               formatProfile(*ctx->profile, args.bench, "run").c_str());
      fflush(stdout);
    }
  } else {
    loadInputs();
    runFunction(ctx.get(), forward);
  }
  if (writeOutputs) {
    std::string dir = outDir;
    if (dir.back() != '/')
      dir += '/';
    for (const TensorDecl &d : forward.outputs) {
      std::string path = dir + sanitize(d.name) + ".npy";
      AlignedBuffer host;
      writeNpy(path, hostView(arenaTensor(ctx.get(), d), host));
    }
  }
  return 0;
}

/// A sharded program starts MPI and checks the world size; a program for one
/// process refuses to run as several ranks (each would redo the whole run).
void checkLaunch(const ModelInfo &info) {
  const int64_t ranks = launcherWorldSize();
  if (meshSize(info.mesh) <= 1 && ranks > 1)
    die("this program was compiled for 1 rank" +
        std::string(info.mesh.empty() ? "" : " (mesh " + formatMesh(info.mesh) + ")") +
        "; it is running on " + std::to_string(ranks) +
        " (run it without mpirun)");
  initDistributed(info);
}

int run(int argc, char **argv) {
  if (argc > 0 && argv[0] && *argv[0])
    progName = driver::baseName(argv[0]);
  static ModelInfo info;
  bb_describe(&info);
  validateModel(info);
  checkLaunch(info);
  if (info.function("train_step") || driver::isPipelined(info))
    return driver::runTraining(info, progName, argc, argv);
  const FunctionInfo *forward = info.function("forward");
  if (!forward)
    die("the program has neither a 'forward' nor a 'train_step' function");
  return runInference(info, *forward, argc, argv);
}

} // namespace

int main(int argc, char **argv) {
  bbrt::prepareProcess(argv);
  try {
    const int rc = run(argc, argv);
    finalizeDistributed();
    return rc;
  } catch (const bbrt::Error &e) {
    die(e.what());
  } catch (const std::bad_alloc &) {
    die("out of memory");
  } catch (const std::exception &e) {
    die(e.what());
  }
}
