#!/usr/bin/env bash
# Installs every Debian package Bumblebee builds and tests with. Idempotent:
# packages already present are skipped, so a second run costs seconds.
#   scripts/install_deps.sh            # build + test prerequisites
#   scripts/install_deps.sh --models   # also what test/models/make_models.py needs
set -euo pipefail

packages=(
  bazel-bootstrap                         # Bazel 4.2.3, offline
  libmlir-19-dev mlir-19-tools            # MLIR 19: libMLIR.so, mlir-tblgen
  llvm-19-dev llvm-19-tools               # LLVM 19, FileCheck, lit
  libonnx-dev protobuf-compiler libprotobuf-dev
  catch2                                  # C++ unit tests
  coinor-libcbc-dev                       # sharding ILP solver
  libopenmpi-dev openmpi-bin              # CPU collectives, mpirun
  libopenblas-dev                         # CPU BLAS kernels
  g++ python3 python3-numpy python3-onnx       # python: e2e comparisons, node-test runner
  python3-pip                             # pip download of the ONNX node-test data
)
if [[ "${1:-}" == "--models" ]]; then
  packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ "${1:-}" == "--models" ]]; then
  /usr/bin/python3 -c "import onnxruntime" 2>/dev/null ||
    /usr/bin/python3 -m pip install --quiet --break-system-packages onnxruntime==1.18.1
fi

# The ONNX backend node tests (model + inputs + expected outputs per op),
# from the onnx 1.14.1 wheel on PyPI: the last release whose opsets (<= 19)
# the importer accepts. Only the data is extracted; nothing is installed.
NODE_TESTS_VERSION=1.14.1
NODE_TESTS_DIR=/var/cache/bumblebee/onnx-node-tests-$NODE_TESTS_VERSION
if [[ ! -d "$NODE_TESTS_DIR/node" ]]; then
  echo "fetching ONNX $NODE_TESTS_VERSION node tests" >&2
  tmp=$(mktemp -d)
  /usr/bin/python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 311 --platform manylinux2014_x86_64 \
    "onnx==$NODE_TESTS_VERSION" -d "$tmp"
  mkdir -p "$NODE_TESTS_DIR.partial"
  /usr/bin/python3 - "$tmp"/onnx-*.whl "$NODE_TESTS_DIR.partial" <<'PY'
import sys, zipfile
prefix = "onnx/backend/test/data/node/"
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            z.extract(name, sys.argv[2])
PY
  mv "$NODE_TESTS_DIR.partial/onnx/backend/test/data/node" "$NODE_TESTS_DIR.partial/node"
  rm -rf "$NODE_TESTS_DIR.partial/onnx" "$tmp"
  mv "$NODE_TESTS_DIR.partial" "$NODE_TESTS_DIR"
fi
# The CUDA target's runtime builds with the CUDA toolkit (nvcc, cuBLASLt,
# NCCL) at /usr/local/cuda, which this project's machines come with; Debian's
# registry has no CUDA 13 to install it from.
if [[ ! -x /usr/local/cuda/bin/nvcc || ! -e /usr/local/cuda/include/nccl.h ]]; then
  echo "error: the CUDA toolkit (nvcc, cuBLAS, NCCL) is not at /usr/local/cuda;" \
       "the build needs it for the CUDA runtime (docs/cuda.md)" >&2
  exit 1
fi
echo "dependencies ready" >&2
