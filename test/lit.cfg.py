# lit configuration for Bumblebee's IR tests (run through //test:lit_runner.sh).
import os

import lit.formats

config.name = "Bumblebee"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".onnxtext", ".test"]
config.excludes = ["Inputs", "models", "plugin", "unit", "e2e"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = os.environ.get("TEST_TMPDIR", "/tmp/bumblebee-lit")

runfiles = os.environ.get("BB_RUNFILES", "")
workspace = os.path.join(runfiles, "bumblebee")
llvm_bin = os.path.join(runfiles, "llvm", "bin")
tool_dirs = [
    os.path.join(workspace, "tools", "bbc"),
    os.path.join(workspace, "tools", "bb-opt"),
    os.path.join(workspace, "tools", "bb-measure"),
    llvm_bin,
]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [os.environ.get("PATH", "")])
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%models", os.path.join(workspace, "test", "models")))
config.substitutions.append(("%plugins", os.path.join(workspace, "test", "plugin")))
config.substitutions.append(("%inputs", os.path.join(workspace, "test", "onnx", "Inputs")))
# Sharded programs run as MPI ranks (OpenMPI from Debian; CI runs as root on
# 2 cores, hence --allow-run-as-root --oversubscribe). OpenMPI's shared-memory
# transport keeps its segment files in /dev/shm under the job's id, which
# derives from mpirun's pid; Bazel's sandboxes give every test its own pid
# namespace but one /dev/shm, so two tests' mpiruns could take the same id
# and remove each other's segments (seen in CI: "A system call failed during
# shared memory initialization ... open(2)"). Each test target gets its own
# directory for them. (lit itself gives each run its own TMPDIR, which holds
# OpenMPI's session directory.)
mpi_shm = os.path.join(config.test_exec_root, "mpi-shm")
os.makedirs(mpi_shm, exist_ok=True)
config.environment["OMPI_MCA_btl_vader_backing_directory"] = mpi_shm
config.environment["OMPI_MCA_mpi_yield_when_idle"] = "1"
mpirun = ("/usr/bin/mpirun --allow-run-as-root --oversubscribe "
          "--mca btl self,vader --bind-to none")
config.substitutions.append(("%mpirun", mpirun))
# Scripts that launch ranks themselves (e2e/train_vs_torch.py) read the same
# command from the environment.
config.environment["BB_MPIRUN"] = mpirun

# A GPU the CUDA runtime can use (tests of the no-GPU error are unsupported
# there; CI machines have none).
if os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl"):
    config.available_features.add("cuda-gpu")
