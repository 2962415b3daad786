#!/usr/bin/env bash
# The README's test command: installs prerequisites, builds everything, runs
# every Bazel test (lit + FileCheck, Catch2, model imports, end-to-end model
# runs), then the ONNX backend node-test conformance runner. Prints a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh || exit 1
mkdir -p /var/cache/bumblebee/bazel-disk 2>/dev/null || true
log=$(mktemp)
bazel test //... --jobs=2 --local_ram_resources=12000 2>&1 | tee "$log" |
  grep -vE "^(Loading|Analyzing|INFO: From|\[)|linux-sandbox"
rc=${PIPESTATUS[0]}
passed=$(grep -cE "^//.* PASSED" "$log")
failed=$(grep -cE "^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)" "$log")
rm -f "$log"
echo "bazel tests: $passed passed, $failed failed"

# Conformance: every ONNX node test whose ops bb supports must pass or be
# listed in test/conformance/expected_failures.txt.
node_log=$(mktemp)
/usr/bin/python3 test/conformance/run_node_tests.py --bbc bazel-bin/tools/bbc/bbc \
  --node-dir /var/cache/bumblebee/onnx-node-tests-1.14.1/node --jobs 2 | tee "$node_log"
node_rc=${PIPESTATUS[0]}
node_passed=$(tail -1 "$node_log" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
node_failed=$(tail -1 "$node_log" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
rm -f "$node_log"
echo "tests: $((passed + ${node_passed:-0})) passed, $((failed + ${node_failed:-1})) failed"
((rc != 0)) && exit "$rc"
exit "$node_rc"
