# Shared by the driver tests (sourced first, before any cd): paths, a scratch
# directory, counting failures, and the one-line-error check.
#   abs PATH                   PATH made absolute (its directory must exist)
#   T="$(scratch NAME)"        a new directory under $TEST_TMPDIR (or /tmp)
#   fail MESSAGE               reports and counts a failed check
#   expect_error LINE CMD...   CMD exits 1, its stderr is exactly that one
#                              line, nothing on stdout (uses $T/out.txt and
#                              $T/err.txt); with $UNCHANGED set, no file
#                              under that directory is created or removed
#   rows LOG FROM              a training log's "step,loss,lr,grad_norm" of
#                              the steps after FROM (after its last
#                              '# resumed' line), and its eval rows after FROM
#   finish NAME                the summary line; exits 1 after any failure

abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

scratch() { mktemp -d "${TEST_TMPDIR:-/tmp}/$1.XXXXXX"; }

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_error() {
  local want="$1"
  shift
  local before=""
  if [ -n "${UNCHANGED:-}" ]; then before="$(ls -AR "$UNCHANGED")"; fi
  "$@" >"$T/out.txt" 2>"$T/err.txt"
  local rc=$?
  if [ $rc -ne 1 ]; then fail "exit $rc (want 1): $*"; cat "$T/err.txt"; return; fi
  if [ "$(wc -l <"$T/err.txt")" -ne 1 ]; then fail "stderr is not one line: $*"; cat "$T/err.txt"; return; fi
  if [ "$(cat "$T/err.txt")" != "$want" ]; then
    fail "stderr of: $*"
    echo "   got:  $(cat "$T/err.txt")"
    echo "   want: $want"
  fi
  if [ -s "$T/out.txt" ]; then fail "stdout not empty: $*"; fi
  if [ -n "${UNCHANGED:-}" ] && [ "$(ls -AR "$UNCHANGED")" != "$before" ]; then
    fail "files changed by: $*"
  fi
}

rows() {
  awk -F, -v from="$2" '
    /^# resumed/ { n = 0; delete out; next }
    $1 ~ /^[0-9]+$/ && $1 > from { out[n++] = $1 "," $2 "," $3 "," $4 }
    $1 == "eval" && $2 > from { out[n++] = $0 }
    END { for (i = 0; i < n; ++i) print out[i] }' "$1"
}

finish() {
  if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
  fi
  echo "$1: all checks passed"
}
