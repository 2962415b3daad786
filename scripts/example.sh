#!/usr/bin/env bash
# The README's main command: installs prerequisites, builds bbc and compiles the
# built-in GPT-2-style example to bb IR with a bound input shape.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
bazel build //tools/bbc //tools/bb-opt 2>&1 | grep -E "ERROR|error:|Build completed" || true
mkdir -p build
bazel-bin/tools/bbc/bbc test/models/gpt2/gpt2.onnx --input-shape idx=4x64 \
  --emit=bb -o build/gpt2.bb.mlir
echo "wrote build/gpt2.bb.mlir: $(grep -c ' = bb\.' build/gpt2.bb.mlir) bb ops" >&2
bazel-bin/tools/bb-opt/bb-opt build/gpt2.bb.mlir --bb-cost-report -o /dev/null
