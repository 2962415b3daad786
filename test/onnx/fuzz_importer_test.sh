#!/usr/bin/env bash
set -euo pipefail
exec /usr/bin/python3 test/onnx/fuzz_importer.py tools/bbc/bbc test/models --seed 1 --count 60
