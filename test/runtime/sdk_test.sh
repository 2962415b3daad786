#!/bin/bash
# Builds mlp_model.cpp and linreg_train_model.cpp (with linreg_model.h beside
# it) as the compiler driver will build generated code:
#   c++ -O2 gen.cpp -I SDK/include SDK/lib/libbbrt_cpu.a -lopenblas -fopenmp -o NAME
# and checks the programs run: inference computes the right thing, the
# training program trains. A sharded program (mlp_tp_model.cpp) adds MPI:
#   ... -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
# and runs under mpirun; programs without a mesh never need libmpi.
#   sdk_test.sh GEN_CPP TRAIN_GEN_CPP SHARDED_GEN_CPP RT_FIXTURE SDK_FILES...
set -eu
GEN="$1"
TRAIN_GEN="$2"
TP_GEN="$3"
FIX="$(cd "$(dirname "$4")" && pwd)/$(basename "$4")"
TESTLIB="$(cd "$(dirname "$0")" && pwd)/mpi_testlib.sh"
shift 4
LIB=""
for f in "$@"; do
  case "$f" in */lib/libbbrt_cpu.a) LIB="$f" ;; esac
done
[ -n "$LIB" ] || { echo "libbbrt_cpu.a not among the sdk files: $*"; exit 1; }
SDK="$(cd "$(dirname "$LIB")/.." && pwd)"
for h in bbrt.h io.h model.h safetensors.h sharding.h train.h; do
  [ -f "$SDK/include/bbrt/$h" ] || { echo "missing $SDK/include/bbrt/$h"; exit 1; }
done
T="$(mktemp -d "${TEST_TMPDIR:-/tmp}/sdk.XXXXXX")"
cp "$GEN" "$T/gen.cpp"
cp "$TRAIN_GEN" "$T/train_gen.cpp"
cp "$(dirname "$TRAIN_GEN")/linreg_model.h" "$T/"
cp "$TP_GEN" "$T/tp_gen.cpp"
cd "$T"
c++ -O2 gen.cpp -I "$SDK/include" "$SDK/lib/libbbrt_cpu.a" -lopenblas -fopenmp -o mlp
"$FIX" mlp "$T"
./mlp --input x=x.npy --output-dir out
"$FIX" compare out/y.npy y_ref.npy 1e-5
"$FIX" compare out/hidden_relu_0.npy hidden_ref.npy 1e-5
./mlp --help | grep -q "arena: 1024 bytes"
c++ -O2 train_gen.cpp -I "$SDK/include" "$SDK/lib/libbbrt_cpu.a" -lopenblas -fopenmp -o linreg_train
"$FIX" linreg "$T"
./linreg_train --data x=x.npy --data y=y.npy --steps 3 --log train.csv 2>/dev/null
[ "$(grep -c '^[0-9]' train.csv)" -eq 3 ]
if ldd ./mlp | grep -q libmpi; then echo "a program without a mesh needs libmpi"; exit 1; fi
mkdir tp && cd tp # the linreg fixture replaced x.npy
c++ -O2 ../tp_gen.cpp -I "$SDK/include" "$SDK/lib/libbbrt_cpu.a" -lopenblas -fopenmp \
  -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi -o mlp_tp
"$FIX" mlp "$T/tp"
cp mlp.safetensors mlp_tp.safetensors
. "$TESTLIB"
mpi_run 2 ./mlp_tp --input x=x.npy --output-dir out --threads 1
"$FIX" compare out/y.npy y_ref.npy 1e-5
echo "sdk_test: ok ($SDK)"
