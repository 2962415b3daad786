#!/bin/bash
# End-to-end test of the generated program's main() (runtime/driver/Main.cpp)
# on the hand-written MLP in mlp_model.cpp.
#   driver_test.sh MODEL_BINARY RT_FIXTURE
set -u
. "$(dirname "$0")/test_lib.sh"
FIX="$(abs "$2")"
T="$(scratch driver)"
cp "$1" "$T/mlp"
M="$T/mlp"
"$FIX" mlp "$T" || { echo "fixture failed"; exit 1; }
cd "$T"

check_outputs() { # DIR
  "$FIX" compare "$1/y.npy" "$T/y_ref.npy" 1e-5 || fail "y in $1"
  "$FIX" compare "$1/hidden_relu_0.npy" "$T/hidden_ref.npy" 1e-5 || fail "hidden in $1"
}

# 1. named input, default weights beside the program, new nested output dir
"$M" --input x="$T/x.npy" --output-dir "$T/out/a/b" || fail "basic run"
check_outputs "$T/out/a/b"
ls "$T/out/a/b" | grep -q tmp && fail "temporary files left in output dir"

# 2. positional .pb input, --opt=value spelling, explicit weights, one thread
"$M" "$T/x.pb" --output-dir="$T/out2" --weights "$T/mlp.safetensors" --threads 1 || fail "positional pb run"
check_outputs "$T/out2"

# 3. default output dir is the current directory
mkdir "$T/cwd" && (cd "$T/cwd" && "$M" -i x="$T/x.npy") || fail "run into cwd"
check_outputs "$T/cwd"

# 4. --bench: one latency line on stdout; no outputs without --output-dir
mkdir "$T/bench" && cd "$T/bench"
out="$("$M" --input x="$T/x.npy" --bench 5)" || fail "bench run"
echo "$out" | grep -Eqx 'latency: min [0-9]+\.[0-9]{3} ms, median [0-9]+\.[0-9]{3} ms over 5 runs' ||
  fail "bench output: $out"
[ -z "$(ls "$T/bench")" ] || fail "bench without --output-dir wrote files"
"$M" --input x="$T/x.npy" --bench 2 --output-dir "$T/bench_out" >/dev/null || fail "bench with outputs"
check_outputs "$T/bench_out"
cd "$T"

# 5. --help
"$M" --help >"$T/help.txt" || fail "--help exit code"
for want in "usage: mlp --input NAME=FILE" "  x: f32 4x8" "  y: f32 4x3" "  hidden/relu:0: f32 4x16" \
  "arena: 1024 bytes" "weights: 4 tensors"; do
  grep -qF -- "$want" "$T/help.txt" || fail "--help lacks '$want'"
done

# 6. errors: one line, exit code 1
expect_error "mlp: error: input 'x' ($T/x_2x8.npy): shape 2x8 does not match the model's 4x8" \
  "$M" --input x="$T/x_2x8.npy"
expect_error "mlp: error: input 'x' ($T/x_i64.npy): dtype i64 does not match the model's f32" \
  "$M" --input "x=$T/x_i64.npy"
expect_error "mlp: error: missing input 'x' (f32 4x8); pass --input x=FILE" \
  "$M" --output-dir "$T/o"
expect_error "mlp: error: input 'x' ($T/nope.npy): cannot open: No such file or directory" \
  "$M" --input x="$T/nope.npy"
expect_error "mlp: error: unknown input 'z' (the model's inputs: x)" \
  "$M" --input z="$T/x.npy"
expect_error "mlp: error: input 'x' given more than once" \
  "$M" --input x="$T/x.npy" --input x="$T/x.npy"
expect_error "mlp: error: unexpected argument '$T/x.npy': all 1 inputs are already given" \
  "$M" --input x="$T/x.npy" "$T/x.npy"
expect_error "mlp: error: cannot open weights file '$T/nope.safetensors': No such file or directory" \
  "$M" --input x="$T/x.npy" --weights "$T/nope.safetensors"
expect_error "mlp: error: weights file '$T/badshape.safetensors': tensor 'fc1.weight' has shape 16x8, the model expects 8x16" \
  "$M" --input x="$T/x.npy" --weights "$T/badshape.safetensors"
expect_error "mlp: error: weights file '$T/missing.safetensors': tensor 'fc2.weight' is missing" \
  "$M" --input x="$T/x.npy" --weights "$T/missing.safetensors"
expect_error "mlp: error: unknown option '--frobnicate' (see --help)" \
  "$M" --frobnicate
expect_error "mlp: error: --bench wants a positive run count, got '0'" \
  "$M" --input x="$T/x.npy" --bench 0
expect_error "mlp: error: --threads wants a positive thread count, got 'many'" \
  "$M" --input x="$T/x.npy" --threads many
expect_error "mlp: error: option --output-dir needs a value (see --help)" \
  "$M" --input x="$T/x.npy" --output-dir
expect_error "mlp: error: input 'x' ($T/y_ref.npy): shape 4x3 does not match the model's 4x8" \
  "$M" "$T/y_ref.npy"
touch "$T/afile"
expect_error "mlp: error: output directory '$T/afile/sub': '$T/afile' is not a directory" \
  "$M" --input x="$T/x.npy" --output-dir "$T/afile/sub"
# the default weights file is argv[0].safetensors
mkdir "$T/bare" && cp "$M" "$T/bare/mlp"
expect_error "mlp: error: cannot open weights file '$T/bare/mlp.safetensors': No such file or directory" \
  "$T/bare/mlp" --input x="$T/x.npy"

# 7. OpenBLAS's kernels (runtime/cpu/Device.cpp prepareProcess): a program
# whose OpenBLAS fell back to Prescott's on a CPU with AVX2 or AVX-512 runs
# itself again with kernels for those; a user's OPENBLAS_CORETYPE stands.
cores="$(OPENBLAS_VERBOSE=2 "$M" --input x="$T/x.npy" --output-dir "$T/out7" 2>&1 >/dev/null |
  sed -n 's/^Core: //p' | tr '\n' ' ')"
check_outputs "$T/out7"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  case "$cores" in
    "Prescott "?*) ;;              # the fallback, then the program run again
    "Prescott ") fail "OpenBLAS fell back to Prescott and the program was not run again" ;;
    *) ;;                           # OpenBLAS knew this CPU: nothing to do
  esac
  want=SkylakeX
  for f in avx512f avx512bw avx512dq avx512vl avx512cd; do
    grep -qw $f /proc/cpuinfo || want=Haswell
  done
  case "$cores" in "Prescott "*) [ "$cores" = "Prescott $want " ] ||
    fail "kernels after the fallback: '$cores', expected 'Prescott $want '" ;; esac
fi
cores="$(OPENBLAS_CORETYPE=Prescott OPENBLAS_VERBOSE=2 "$M" --input x="$T/x.npy" \
  --output-dir "$T/out7b" 2>&1 >/dev/null | sed -n 's/^Core: //p' | tr '\n' ' ')"
[ "$cores" = "Prescott " ] || fail "OPENBLAS_CORETYPE=Prescott gave kernels '$cores'"
check_outputs "$T/out7b"

finish driver_test
