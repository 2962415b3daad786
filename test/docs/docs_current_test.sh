#!/usr/bin/env bash
# Fails when a generated reference page in docs/ differs from what the build
# generates now. Fix: scripts/update_docs.sh.
set -euo pipefail
status=0
while (($#)); do
  generated="$1" committed="$2"
  shift 2
  if ! diff -u "$committed" "$generated" >/dev/null; then
    echo "docs out of date: $committed differs from the generated $generated; run scripts/update_docs.sh" >&2
    status=1
  fi
done
exit $status
