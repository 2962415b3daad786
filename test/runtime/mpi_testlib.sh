# Shared by the MPI tests (sourced): finds mpirun and runs ranks quickly.
#   mpi_run NP CMD...   mpirun -np NP CMD under a time limit (a hang fails)

# Debian's openmpi-bin puts mpirun in /usr/bin; a test's PATH may be minimal.
MPIRUN="${MPIRUN:-}"
if [ -z "$MPIRUN" ]; then
  for c in "$(command -v mpirun 2>/dev/null)" /usr/bin/mpirun /usr/local/bin/mpirun; do
    if [ -n "$c" ] && [ -x "$c" ]; then MPIRUN="$c"; break; fi
  done
fi
if [ -z "$MPIRUN" ] || [ ! -x "$MPIRUN" ]; then
  echo "mpirun not found (apt-get install openmpi-bin, or set MPIRUN)"
  exit 1
fi
# OpenMPI wants a writable session directory and HOME; its shared-memory
# segments go there too, not to the /dev/shm that all of Bazel's sandboxes
# share (their pid namespaces make job ids collide; see test/lit.cfg.py).
export TMPDIR="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
export HOME="${HOME:-$TMPDIR}"
export OMPI_MCA_btl_vader_backing_directory="$TMPDIR"
# Ranks on shared cores: yield instead of spinning while waiting.
export OMPI_MCA_mpi_yield_when_idle=1
# -q: no "MPI_ABORT was invoked" banners, so stderr holds only the program's
# lines; --oversubscribe: more ranks than cores; root in CI containers.
mpi_run() {
  local np="$1"
  shift
  timeout 120 "$MPIRUN" -q --allow-run-as-root --oversubscribe -np "$np" "$@"
}
