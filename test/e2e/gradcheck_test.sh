#!/usr/bin/env bash
# Every differentiable bb op against central finite differences (gradcheck.py);
# runs from the runfiles root, where bbc is tools/bbc/bbc.
set -euo pipefail
exec /usr/bin/python3 test/e2e/gradcheck.py tools/bbc/bbc test/e2e/gradcheck
