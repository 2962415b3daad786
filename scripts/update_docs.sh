#!/usr/bin/env bash
# Regenerates the reference pages in docs/ that come from ODS (.td) files and
# from bbc itself. //test/docs checks they are current.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //dialects/bb:bb_dialect_doc //passes:passes_doc //tools/bbc >/dev/null 2>&1
install -m 644 bazel-bin/dialects/bb/BbDialect.md docs/dialect/BbDialect.md
install -m 644 bazel-bin/passes/Passes.md docs/dialect/Passes.md
bazel-bin/tools/bbc/bbc --list-ops > docs/dialect/onnx-ops.txt
echo "docs/dialect/ regenerated" >&2
