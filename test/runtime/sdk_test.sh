#!/bin/bash
# Builds mlp_model.cpp as the compiler driver will build generated code:
#   c++ -O2 gen.cpp -I SDK/include SDK/lib/libbbrt_cpu.a -lopenblas -fopenmp -o NAME
# and checks the program runs and computes the right thing.
#   sdk_test.sh GEN_CPP RT_FIXTURE SDK_FILES...
set -eu
GEN="$1"
FIX="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
shift 2
LIB=""
for f in "$@"; do
  case "$f" in */lib/libbbrt_cpu.a) LIB="$f" ;; esac
done
[ -n "$LIB" ] || { echo "libbbrt_cpu.a not among the sdk files: $*"; exit 1; }
SDK="$(cd "$(dirname "$LIB")/.." && pwd)"
for h in bbrt.h io.h model.h safetensors.h; do
  [ -f "$SDK/include/bbrt/$h" ] || { echo "missing $SDK/include/bbrt/$h"; exit 1; }
done
T="$(mktemp -d "${TEST_TMPDIR:-/tmp}/sdk.XXXXXX")"
cp "$GEN" "$T/gen.cpp"
cd "$T"
c++ -O2 gen.cpp -I "$SDK/include" "$SDK/lib/libbbrt_cpu.a" -lopenblas -fopenmp -o mlp
"$FIX" mlp "$T"
./mlp --input x=x.npy --output-dir out
"$FIX" compare out/y.npy y_ref.npy 1e-5
"$FIX" compare out/hidden_relu_0.npy hidden_ref.npy 1e-5
./mlp --help | grep -q "arena: 1024 bytes"
echo "sdk_test: ok ($SDK)"
