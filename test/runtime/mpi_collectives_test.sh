#!/bin/bash
# The collectives across real ranks (mpi_collectives.cpp) under mpirun: a 2x2
# mesh on 4 ranks, a 1-D mesh on 2 and on 4 ranks; an error on one rank ends
# every rank with one line; a wrong world size is refused.
#   mpi_collectives_test.sh MPI_COLLECTIVES
set -u
. "$(dirname "$0")/test_lib.sh"
. "$(dirname "$0")/mpi_testlib.sh"
BIN="$(abs "$1")"
T="$(scratch mpi)"
cd "$T"

# 1. every collective along every axis set, shardSlice, send/recv, sharded
#    weights and checkpoints
for spec in "4 2x2" "2 2" "4 4"; do
  set -- $spec
  mkdir "$T/run_$2"
  if mpi_run "$1" "$BIN" check "$2" "$T/run_$2" >"$T/check.out" 2>"$T/check.err"; then
    grep -Eq "^mpi_collectives: mesh $2, $1 ranks: [0-9]+ checks, 0 failed$" "$T/check.out" ||
      fail "mesh $2: $(cat "$T/check.out")"
  else
    fail "mesh $2 on $1 ranks"
    head -20 "$T/check.out" "$T/check.err"
  fi
done

# 2. an error on one rank ends all of them (the others wait in a collective)
expect_error "[rank 1] mpi_collectives: error: injected failure" mpi_run 4 "$BIN" fail-on 1 4
expect_error "mpi_collectives: error: injected failure" mpi_run 4 "$BIN" fail-on 0 4

# 3. the world size must be the mesh's device count
expect_error "mpi_collectives: error: this program was compiled for 4 ranks (mesh 2x2); it is running on 2 (run it with mpirun -np 4)" \
  mpi_run 2 "$BIN" check 2x2 "$T"
expect_error "mpi_collectives: error: this program was compiled for 4 ranks (mesh 2x2); it is running on 1 (run it with mpirun -np 4)" \
  "$BIN" check 2x2 "$T"

finish mpi_collectives_test
