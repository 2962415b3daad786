#!/usr/bin/env bash
# The README's test command: installs prerequisites, builds everything and runs
# every test (lit + FileCheck, Catch2, model imports). Prints a summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
mkdir -p /var/cache/bumblebee/bazel-disk 2>/dev/null || true
log=$(mktemp)
bazel test //... --jobs=2 --local_ram_resources=12000 2>&1 | tee "$log" | grep -vE "^(Loading|Analyzing|INFO: From|\[)" | grep -vE "linux-sandbox" 
rc=${PIPESTATUS[0]}
passed=$(grep -cE "^//.* (PASSED|\(cached\) PASSED)" "$log")
failed=$(grep -cE "^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)" "$log")
rm -f "$log"
echo "tests: $passed passed, $failed failed"
exit "$rc"
