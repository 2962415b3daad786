#!/bin/bash
# Loads every preset by name (at its default count and at 2) and as a file,
# checks the figures of the 2-count clusters, checks that the presets
# compiled into the library are exactly the files in compiler/cluster/presets/,
# and loads the complete example of docs/cluster.md.
#   presets_test.sh CLUSTER_INFO CLUSTER_MD PRESET_FILE...
set -eu
INFO="$1"
DOC="$2"
shift 2
TMP="${TEST_TMPDIR:-/tmp}"

compiled="$("$INFO" --presets)"
shipped="$(for f in "$@"; do basename "$f" .textproto; done | sort)"
if [ "$compiled" != "$shipped" ]; then
  echo "compiled presets: $compiled"$'\n'"preset files: $shipped"
  exit 1
fi

for name in $compiled; do
  "$INFO" "$name" | grep -q "^$name: 1 hosts x "
done
for f in "$@"; do
  "$INFO" "$f" >/dev/null
done

expected="cpu:2: 1 hosts x 2 CPU rank = 2 devices, bf16 1.000000e+11 FLOP/s, SHARED_MEMORY
dgx-a100-80g:2: 2 hosts x 8 A100-SXM4-80GB = 16 devices, bf16 3.120000e+14 FLOP/s, NVSWITCH, INFINIBAND 2.500000e+10 B/s per device
dgx-h100:2: 2 hosts x 8 H100-SXM5-80GB = 16 devices, bf16 9.894000e+14 FLOP/s, NVSWITCH, INFINIBAND 5.000000e+10 B/s per device
g5.48xlarge:2: 2 hosts x 8 A10G-24GB = 16 devices, bf16 1.250000e+14 FLOP/s, PCIE, ETHERNET 1.562500e+09 B/s per device
p3.16xlarge:2: 2 hosts x 8 V100-SXM2-16GB = 16 devices, bf16 1.570000e+13 FLOP/s, NVLINK, ETHERNET 3.906250e+08 B/s per device"
actual="$("$INFO" $(for name in $compiled; do echo "$name:2"; done))"
if [ "$actual" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$actual")
  exit 1
fi

awk '/^```textproto/ { on = 1; next } /^```/ { on = 0 } on' "$DOC" > "$TMP/example.textproto"
"$INFO" "$TMP/example.textproto" | grep -q "^lab: 2 hosts x 4 A100-SXM4-40GB = 8 devices"

err="$TMP/presets_test.err"
if "$INFO" dgx-h100:0 2>"$err"; then
  echo "dgx-h100:0 loaded"
  exit 1
fi
grep -qx "cluster_info: error: cluster preset 'dgx-h100:0': host_count: must be a positive integer, got '0'" "$err"
echo "presets_test: ok ($(echo $compiled))"
