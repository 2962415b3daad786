#!/bin/bash
# End-to-end test of the training command line (runtime/driver/Train.cpp) on
# the hand-written training programs linreg_train_model.cpp (.npy arrays,
# AdamW + SGD, ONNX export) and bigram_train_model.cpp (token files).
#   train_driver_test.sh LINREG_BINARY BIGRAM_BINARY RT_FIXTURE
set -u
. "$(dirname "$0")/test_lib.sh"
FIX="$(abs "$3")"
T="$(scratch train)"
W="$T/work" # the runs' directory; error runs must leave it as it was
UNCHANGED="$W" # for expect_error
mkdir "$W"
cp "$1" "$W/linreg_train"
cp "$2" "$W/bigram_train"
"$FIX" linreg "$W" && "$FIX" bigram "$W" || { echo "fixture failed"; exit 1; }
cd "$W"
L=./linreg_train
G=./bigram_train
LDATA=(--data x=x.npy --data y=y.npy)
LEVAL=(--eval-data x=vx.npy --eval-data y=vy.npy --eval-every 10 --eval-steps 2)

# 1. --help
$L --help >"$T/help.txt" || fail "--help exit code"
for want in "usage: linreg_train --data FILE|NAME=FILE... --steps N" "  x: f32 8x4" "labels:" "  y: f32 8x2" \
  "states: 5 tensors, 112 bytes" "  train.lr = 0.05" "  train.schedule = cosine" "--kill-at-step N"; do
  grep -qF -- "$want" "$T/help.txt" || fail "--help lacks '$want'"
done
grep -q "onnx.template" "$T/help.txt" && fail "--help lists a non-train attribute"

# 2. run A: 30 steps uninterrupted, checkpoints every 10, eval, export
$L "${LDATA[@]}" "${LEVAL[@]}" --steps 30 --checkpoint-dir A --checkpoint-every 10 --log a.csv \
  --export a.onnx --threads 2 2>"$T/a.err" || { fail "run A"; cat "$T/a.err"; }
[ "$(head -1 a.csv)" = "step,loss,lr,grad_norm,ms" ] || fail "a.csv header: $(head -1 a.csv)"
[ "$(grep -Ec '^[0-9]+,' a.csv)" -eq 30 ] || fail "a.csv does not have 30 step rows"
[ "$(grep -c '^eval,' a.csv)" -eq 3 ] || fail "a.csv does not have 3 eval rows"
grep -Eq '^step 12/30 \| loss [0-9.]+ \| lr [0-9.]+e-0[0-9] \| norm [0-9.]+ \| [0-9.]+ ms \| [0-9]+ samples/s$' \
  "$T/a.err" || fail "progress line format: $(grep '^step 12/' "$T/a.err")"
grep -Eq '^eval step 20 \| loss [0-9.]+$' "$T/a.err" || fail "eval line"
grep -Eq '^done: 30 steps in [0-9.]+ s \| [0-9.]+ ms/step \| final loss [0-9.]+$' "$T/a.err" || fail "summary line"
# the loss goes down: the mean of the last 5 steps is below a third of the first
awk -F, '$1 ~ /^[0-9]+$/ { l[$1] = $2 } END {
  m = 0; for (s = 26; s <= 30; ++s) m += l[s] / 5; exit !(m < l[1] / 3) }' a.csv ||
  fail "loss did not decrease: $(rows a.csv 0 | sed -n '1p;30p')"
# lr follows the model's schedule: warmup 3 to 0.05, cosine to 0.005 at step 30
[ "$(awk -F, '$1 == 3 { print $3 }' a.csv)" = "0.0500000007" ] || fail "lr at the end of the warmup"
[ "$(awk -F, '$1 == 1 { print $3 }' a.csv)" = "0.0166666675" ] || fail "lr of step 1"
ls -A A | grep -qv '^checkpoint.safetensors$' && fail "checkpoint dir holds more than the checkpoint: $(ls -A A)"

# 3. run B: killed after step 15 (last checkpoint: 10), then resumed to 30
$L "${LDATA[@]}" "${LEVAL[@]}" --steps 30 --checkpoint-dir B --checkpoint-every 10 --log b.csv \
  --threads 2 --kill-at-step 15 2>"$T/b.err"
rc=$?
[ $rc -eq 137 ] || fail "--kill-at-step: exit $rc, want 137 (SIGKILL)"
[ "$(grep -Ec '^[0-9]+,' b.csv)" -eq 15 ] || fail "b.csv before the kill: not 15 step rows"
$L "${LDATA[@]}" "${LEVAL[@]}" --steps 30 --checkpoint-dir B --checkpoint-every 10 --log b.csv \
  --threads 2 --resume --export b.onnx 2>"$T/b2.err" || { fail "resume B"; cat "$T/b2.err"; }
grep -qx "# resumed at step 10" b.csv || fail "b.csv lacks '# resumed at step 10'"
[ "$(grep -c '^step,' b.csv)" -eq 1 ] || fail "b.csv header written twice"
grep -Eq '^done: 20 steps \(resumed at step 10\) in' "$T/b2.err" || fail "resumed summary: $(tail -2 "$T/b2.err")"
[ "$(rows b.csv 10 | wc -l)" -eq 22 ] || fail "resumed rows: $(rows b.csv 10 | wc -l), want 20 steps + 2 evals"
if [ "$(rows a.csv 10)" != "$(rows b.csv 10)" ]; then
  fail "resumed run B differs from run A in steps 11..30"
  diff <(rows a.csv 10) <(rows b.csv 10) | head
fi
cmp -s A/checkpoint.safetensors B/checkpoint.safetensors || fail "final checkpoints of A and B differ"
cmp -s a.onnx b.onnx || fail "exports of A and B differ"

# 4. the export: the template, then the trained W and b as initializers
cmp -s -n "$(stat -c %s template.onnx)" template.onnx a.onnx || fail "a.onnx does not start with the template"
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  /usr/bin/python3 - a.onnx A/checkpoint.safetensors <<'EOF' || fail "a.onnx is not the model with the trained weights"
import json, struct, sys
import numpy as np
import onnx
from onnx import numpy_helper
model = onnx.load(sys.argv[1])
onnx.checker.check_model(model)
assert [n.op_type for n in model.graph.node] == ["MatMul", "Add"], model.graph.node
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
assert sorted(inits) == ["W", "b"], sorted(inits)
with open(sys.argv[2], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
assert header["__metadata__"]["bb.step"] == "30"
for name, value in inits.items():
    begin, end = header[name]["data_offsets"]
    saved = np.frombuffer(data[begin:end], dtype="<f4").reshape(header[name]["shape"])
    assert (saved == value).all(), name
EOF
else
  echo "note: python3 onnx not importable; checked the export's template prefix only"
fi

# 5. token files: shuffled batches, llm.c eval data, resume continues the draw
TDATA=(--data train.bin --shuffle --seed 5 --eval-data val.bin --eval-every 20 --eval-steps 3 --threads 2)
$G "${TDATA[@]}" --steps 40 --checkpoint-dir C --checkpoint-every 20 --log c.csv --print-every 10 \
  2>"$T/c.err" || { fail "token run C"; cat "$T/c.err"; }
grep -Eq '^step 10/40 \| .* tok/s$' "$T/c.err" || fail "token progress line"
[ "$(grep -c '^step ' "$T/c.err")" -eq 4 ] || fail "--print-every 10: not 4 progress lines"
awk -F, '$1 ~ /^[0-9]+$/ { l[$1] = $2 } END {
  m = 0; for (s = 31; s <= 40; ++s) m += l[s] / 10; exit !(m < l[1] / 2) }' c.csv ||
  fail "token loss did not decrease"
$G "${TDATA[@]}" --steps 40 --checkpoint-dir D --checkpoint-every 20 --log d.csv --kill-at-step 25 2>/dev/null
$G "${TDATA[@]}" --steps 40 --checkpoint-dir D --checkpoint-every 20 --log d.csv --resume 2>/dev/null ||
  fail "resume D"
[ "$(rows c.csv 20)" = "$(rows d.csv 20)" ] || fail "resumed shuffled token run differs"
cmp -s C/checkpoint.safetensors D/checkpoint.safetensors || fail "final checkpoints of C and D differ"
# without --shuffle: the data position is what resumes
$G --data train.bin --steps 12 --checkpoint-dir E --checkpoint-every 5 --log e.csv 2>/dev/null || fail "run E"
$G --data train.bin --steps 12 --checkpoint-dir F --checkpoint-every 5 --log f.csv --kill-at-step 7 2>/dev/null
$G --data train.bin --steps 12 --checkpoint-dir F --checkpoint-every 5 --log f.csv --resume 2>/dev/null ||
  fail "resume F"
[ "$(rows e.csv 5)" = "$(rows f.csv 5)" ] || fail "resumed sequential token run differs"

# 6. errors: one line, exit code 1, nothing written
expect_error "linreg_train: error: --data is required (see --help)" $L --steps 3
expect_error "linreg_train: error: --steps is required (see --help)" $L "${LDATA[@]}"
expect_error "linreg_train: error: --batch 16: this program was compiled for batch 8 (input 'x' is f32 8x4); recompile with bbc --input-shape x=16x4 to change it" \
  $L "${LDATA[@]}" --steps 3 --batch 16
expect_error "bigram_train: error: --seq 16: this program was compiled for sequence length 8 (input 'idx' is i64 4x8); recompile with bbc --input-shape idx=4x16 to change it" \
  $G --data train.bin --steps 3 --seq 16 --batch 4
expect_error "linreg_train: error: --resume: there is no checkpoint 'Z/checkpoint.safetensors'; start the run without --resume" \
  $L "${LDATA[@]}" --steps 3 --checkpoint-dir Z --resume --log z.csv
expect_error "linreg_train: error: --resume: checkpoint 'A/checkpoint.safetensors' is at step 30, past --steps 20" \
  $L "${LDATA[@]}" --steps 20 --checkpoint-dir A --resume
expect_error "linreg_train: error: --resume: checkpoint 'C/checkpoint.safetensors': tensor 'W' is missing" \
  $L "${LDATA[@]}" --steps 50 --checkpoint-dir C --resume
expect_error "bigram_train: error: --resume: checkpoint 'C/checkpoint.safetensors' was written with --shuffle; resume with it to continue the same run" \
  $G --data train.bin --steps 50 --checkpoint-dir C --resume
expect_error "linreg_train: error: --data 'train.bin': a token file needs a model with one input and labels, both integer [B, T]; this model's data inputs are x (f32 8x4), y (f32 8x2) (pass NAME=FILE.npy for each)" \
  $L --data train.bin --steps 3
expect_error "linreg_train: error: --data: missing y=FILE.npy for input 'y' (f32 8x2 per batch)" \
  $L --data x=x.npy --steps 3
expect_error "linreg_train: error: --eval-data y='x.npy': shape 64x4 does not fit input 'y' (f32 8x2): want Nx2" \
  $L "${LDATA[@]}" --steps 3 --eval-data x=vx.npy --eval-data y=x.npy
expect_error "bigram_train: error: --data 'nope.bin': cannot open: No such file or directory" \
  $G --data nope.bin --steps 3
expect_error "bigram_train: error: --export: the model has no ONNX template (attribute onnx.template); it was compiled without one" \
  $G --data train.bin --steps 3 --export g.onnx
expect_error "linreg_train: error: --schedule 'warm' is not a schedule (constant, cosine, linear)" \
  $L "${LDATA[@]}" --steps 3 --schedule warm
expect_error "linreg_train: error: --lr wants a non-negative number, got '-1'" $L --lr -1
expect_error "linreg_train: error: --checkpoint-every needs --checkpoint-dir" $L "${LDATA[@]}" --steps 3 --checkpoint-every 2
expect_error "linreg_train: error: --eval-every needs --eval-data" $L "${LDATA[@]}" --steps 3 --eval-every 2
expect_error "linreg_train: error: unknown option '--epochs' (see --help)" $L --epochs 3
expect_error "linreg_train: error: option --steps needs a value (see --help)" $L --steps
expect_error "linreg_train: error: cannot open weights file 'none.safetensors': No such file or directory" \
  $L "${LDATA[@]}" --steps 3 --weights none.safetensors

# 7. a diverging run stops at the first non-finite loss, its last checkpoint kept
$L "${LDATA[@]}" --steps 30 --lr 1e30 --checkpoint-dir N --checkpoint-every 1 --print-every 100 2>"$T/n.err"
rc=$?
[ $rc -eq 1 ] || fail "diverging run: exit $rc, want 1"
grep -Eqx "linreg_train: error: step 2: the loss is (nan|infinite); training stopped \(the last checkpoint, of step 1, is 'N/checkpoint.safetensors'\)" \
  "$T/n.err" || fail "diverging run: $(cat "$T/n.err")"
[ "$(ls -A N)" = "checkpoint.safetensors" ] || fail "diverging run left $(ls -A N)"

finish train_driver_test
