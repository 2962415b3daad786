#!/usr/bin/env bash
# The README's main command: installs prerequisites, builds the compiler and
# runtime, compiles the built-in GPT-2-style model into a CPU executable, runs
# it on the reference input and checks the result against ONNX Runtime's;
# then measures 2 local MPI ranks (bb-measure), compiles the model for them
# with a searched sharding plan and checks the sharded run too; then compiles it into a training binary and trains it
# on a tiny English corpus (checkpointing, evaluating, exporting the trained
# ONNX model), once on one process and once sharded over 2 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
bazel build //tools/bbc //tools/bb-opt //tools/bb-measure //runtime:sdk 2>&1 | grep -E "ERROR|error:|Build completed" || true
mkdir -p build
model=test/models/gpt2
set -x
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=2x16 --emit=bb -o build/gpt2.bb.mlir
bazel-bin/tools/bb-opt/bb-opt build/gpt2.bb.mlir --bb-cost-report -o /dev/null
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=2x16 -o build/gpt2
build/gpt2 --input idx=$model/idx.npy --output-dir build/gpt2-out
/usr/bin/python3 test/e2e/compare_npy.py build/gpt2-out/logits.npy $model/logits.npy --rtol 1e-3 --atol 1e-4
build/gpt2 --input idx=$model/idx.npy --bench 20

# Sharded: the 2 local MPI ranks measured into a cluster file (devices,
# links, collectives), the plan for them, its report, and the run.
mpirun --allow-run-as-root --oversubscribe -np 2 bazel-bin/tools/bb-measure/bb-measure \
    -o build/here.textproto --max-bytes 4194304
bazel-bin/tools/bbc/bbc plan $model/gpt2.onnx --input-shape idx=2x16 --cluster=build/here.textproto
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=2x16 --cluster=build/here.textproto -o build/gpt2-2ranks
mpirun --allow-run-as-root --oversubscribe -np 2 build/gpt2-2ranks --input idx=$model/idx.npy --output-dir build/gpt2-2ranks-out
/usr/bin/python3 test/e2e/compare_npy.py build/gpt2-2ranks-out/logits.npy $model/logits.npy --rtol 1e-3 --atol 1e-4

# Training: 300 AdamW steps on test/data/tiny_corpus.txt as byte tokens.
/usr/bin/python3 test/data/make_corpus.py --out-dir build/corpus
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=8x32 --train --loss=cross_entropy \
    --optimizer=adamw --lr=3e-3 --warmup=20 --schedule=cosine --grad-clip=1.0 -o build/gpt2_train
rm -rf build/gpt2-ckpt build/gpt2-train.csv
build/gpt2_train --data build/corpus/tiny_corpus_train.bin --steps 300 --print-every 50 \
    --eval-data build/corpus/tiny_corpus_val.bin --eval-every 100 --checkpoint-dir build/gpt2-ckpt \
    --checkpoint-every 100 --log build/gpt2-train.csv --export build/gpt2_trained.onnx
/usr/bin/python3 test/e2e/check_learning.py build/gpt2-train.csv build/corpus/tiny_corpus.json

# The same training, data- and tensor-parallel over 2 MPI ranks.
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=8x32 --train --loss=cross_entropy \
    --optimizer=adamw --lr=3e-3 --warmup=20 --schedule=cosine --grad-clip=1.0 --cluster=cpu:2 \
    -o build/gpt2_train_2ranks
rm -rf build/gpt2-ckpt-2ranks build/gpt2-train-2ranks.csv
mpirun --allow-run-as-root --oversubscribe -np 2 build/gpt2_train_2ranks \
    --data build/corpus/tiny_corpus_train.bin --steps 300 --print-every 100 \
    --checkpoint-dir build/gpt2-ckpt-2ranks --log build/gpt2-train-2ranks.csv --threads 1
/usr/bin/python3 test/e2e/check_learning.py build/gpt2-train-2ranks.csv build/corpus/tiny_corpus.json

# And as two pipeline stages over 2 MPI ranks, 4 micro-batches per step (1F1B).
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=8x32 --train --loss=cross_entropy \
    --optimizer=adamw --lr=3e-3 --warmup=20 --schedule=cosine --grad-clip=1.0 \
    --strategy=pp=2,microbatches=4 -o build/gpt2_train_pp2
rm -rf build/gpt2-train-pp2.csv
mpirun --allow-run-as-root --oversubscribe -np 2 build/gpt2_train_pp2 \
    --data build/corpus/tiny_corpus_train.bin --steps 300 --print-every 100 \
    --log build/gpt2-train-pp2.csv --threads 1
/usr/bin/python3 test/e2e/check_learning.py build/gpt2-train-pp2.csv build/corpus/tiny_corpus.json

# The same inference program for NVIDIA GPUs (CUDA kernels, cuBLASLt): on a
# machine with a GPU it runs and is checked like the CPU one; without one it
# says so in one line.
bazel-bin/tools/bbc/bbc $model/gpt2.onnx --input-shape idx=2x16 --target=cuda -o build/gpt2-cuda
if [[ -e /dev/nvidia0 ]]; then
  build/gpt2-cuda --input idx=$model/idx.npy --output-dir build/gpt2-cuda-out
  /usr/bin/python3 test/e2e/compare_npy.py build/gpt2-cuda-out/logits.npy $model/logits.npy --rtol 1e-3 --atol 1e-4
else
  ! build/gpt2-cuda --input idx=$model/idx.npy --output-dir build/gpt2-cuda-out
fi
