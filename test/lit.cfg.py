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
    llvm_bin,
]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [os.environ.get("PATH", "")])
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%models", os.path.join(workspace, "test", "models")))
config.substitutions.append(("%plugins", os.path.join(workspace, "test", "plugin")))
config.substitutions.append(("%inputs", os.path.join(workspace, "test", "onnx", "Inputs")))
# Sharded programs run as MPI ranks (OpenMPI from Debian; CI runs as root on
# 2 cores, hence --allow-run-as-root --oversubscribe). Each test target gets
# its own OpenMPI session directory (TMPDIR): Bazel runs test targets in
# parallel, and with one shared /tmp/ompi.* an mpirun that finishes may remove
# the directory another is creating its shared-memory segment in (seen in CI:
# "A system call failed during shared memory initialization ... open(2)").
mpi_tmp = os.path.join(config.test_exec_root, "mpi-session")
os.makedirs(mpi_tmp, exist_ok=True)
config.environment["TMPDIR"] = mpi_tmp
config.environment["OMPI_MCA_mpi_yield_when_idle"] = "1"
mpirun = ("/usr/bin/mpirun --allow-run-as-root --oversubscribe "
          "--mca btl self,vader --bind-to none")
config.substitutions.append(("%mpirun", mpirun))
# Scripts that launch ranks themselves (e2e/train_vs_torch.py) read the same
# command from the environment.
config.environment["BB_MPIRUN"] = mpirun
