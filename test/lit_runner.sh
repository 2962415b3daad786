#!/usr/bin/env bash
# Runs one lit test file (path relative to the workspace) under Bazel: lit reads
# test/lit.cfg.py, which puts our tools and LLVM's FileCheck on PATH.
set -euo pipefail
runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-$PWD/..}}"
export BB_RUNFILES="$runfiles"
exec python3 "$runfiles/llvm/build/utils/lit/lit.py" -v --no-progress-bar "$1"
