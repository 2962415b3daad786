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
# 2 cores, hence --allow-run-as-root --oversubscribe).
config.substitutions.append(
    ("%mpirun", "/usr/bin/mpirun --allow-run-as-root --oversubscribe "
                "--mca btl self,vader --bind-to none"))
