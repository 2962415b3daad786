//===- sharding.h - meshes, shard arithmetic, distributed runs --*- C++ -*-===//
//
// What the drivers, tests and tools use around sharded programs (generated
// code only needs bbrt.h's "collectives and sharding" section):
// - pure arithmetic, no MPI: split-axes text, mesh coordinates, groups,
//   global/local shapes, shard offsets, box copies;
// - the process: MPI start (initDistributed), world rank, barrier, the error
//   exit that never leaves other ranks hanging, and gathering a sharded
//   tensor to rank 0 / reading this rank's slice of a global one.
// This header never includes mpi.h.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_SHARDING_H
#define BBRT_SHARDING_H

#include "bbrt/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bbrt {

//===--- arithmetic (no MPI) -----------------------------------------------===//

/// Parses MLIR mesh split_axes text: "[[0], [], [1, 2]]"; "" and "[]" are
/// replicated (no entries). Whitespace is free. Throws Error "split axes
/// 'TEXT': ..." on a syntax error.
SplitAxes parseSplitAxes(const std::string &text);
/// "[[0], [], [1, 2]]"; "[]" for replicated.
std::string formatSplitAxes(const SplitAxes &split);
/// True when no dimension is split.
bool isReplicated(const SplitAxes &split);
/// Checks `split` for a tensor of rank `rank` on `mesh`: at most `rank`
/// entries, every axis in [0, mesh rank), no axis used twice. Throws Error
/// "split axes [[..]]: ..." (the caller prefixes what it is checking).
void checkSplitAxes(const SplitAxes &split, const std::vector<int64_t> &mesh,
                    int rank);

/// Number of devices (1 for an empty mesh).
int64_t meshSize(const std::vector<int64_t> &mesh);
/// "2x2"; "1" for an empty mesh.
std::string formatMesh(const std::vector<int64_t> &mesh);
/// Row-major coordinates of `rank` (rank = c0 * mesh[1] * ... + ... + c_last).
std::vector<int64_t> meshCoords(const std::vector<int64_t> &mesh,
                                int64_t rank);
/// The rank at `coords`.
int64_t meshRankAt(const std::vector<int64_t> &mesh,
                   const std::vector<int64_t> &coords);
/// Product of the sizes of `axes` (1 when empty).
int64_t axesSize(const std::vector<int64_t> &mesh,
                 const std::vector<int64_t> &axes);
/// The linearized coordinate along `axes`, in the order given (major first).
int64_t axesIndex(const std::vector<int64_t> &mesh,
                  const std::vector<int64_t> &coords,
                  const std::vector<int64_t> &axes);
/// The ranks that differ from `rank` only along `axes`, in group order
/// (position i holds the rank whose axesIndex is i).
std::vector<int64_t> groupRanks(const std::vector<int64_t> &mesh,
                                int64_t rank,
                                const std::vector<int64_t> &axes);
/// Checks collective mesh axes (sorted, unique, in range); `what` names the
/// collective in errors. Returns them as a vector.
std::vector<int64_t> checkMeshAxes(const Dims &meshAxes,
                                   const std::vector<int64_t> &mesh,
                                   const char *what);

/// The global shape of a tensor whose per-rank shape is `local`: each split
/// dimension times the product of its axes' sizes.
Dims globalShape(const Dims &local, const SplitAxes &split,
                 const std::vector<int64_t> &mesh);
/// The per-rank shape of a global shape; throws Error when a split dimension
/// is not divisible.
Dims localShape(const Dims &global, const SplitAxes &split,
                const std::vector<int64_t> &mesh);
/// Element offsets in the global tensor of the block held at `coords`:
/// dimension d starts at axesIndex(split[d]) * local[d].
Dims shardOffsets(const Dims &local, const SplitAxes &split,
                  const std::vector<int64_t> &mesh,
                  const std::vector<int64_t> &coords);

/// Copies the box of shape `box` at element offsets `srcOffsets` of `src`
/// (row-major, shape srcShape) to `dstOffsets` of `dst` (shape dstShape);
/// elements are `elemSize` bytes. Contiguous runs are copied with memcpy.
void copyBox(const void *src, const Dims &srcShape, const Dims &srcOffsets,
             void *dst, const Dims &dstShape, const Dims &dstOffsets,
             const Dims &box, int64_t elemSize);

/// The global shape of weight or state `decl` of `info`.
Dims globalShape(const ModelInfo &info, const TensorDecl &decl);
/// The mesh `decl`'s split refers to: its own (a pipeline stage's,
/// setShardingMesh), else the model's.
const std::vector<int64_t> &declMesh(const ModelInfo &info,
                                     const TensorDecl &decl);
/// For errors about a sharded tensor's global shape: " (sharded [[0]] over
/// mesh 2: 4x8 per rank)"; "" when its global and local shapes are equal.
std::string shardingNote(const ModelInfo &info, const TensorDecl &decl);

//===--- the process -------------------------------------------------------===//

/// For a model whose mesh has more than one device: checks that the launcher
/// started as many ranks (mpirun's environment; none: one rank), initializes
/// MPI (MPI_Init_thread, MPI_THREAD_FUNNELED, once; finalized at exit) and
/// checks the world size again. A mismatch throws Error "this program was
/// compiled for N ranks (mesh AxB); it is running on M (run it with mpirun
/// -np N)". Does nothing for other models. Idempotent.
void initDistributed(const ModelInfo &info);
/// The size of the world the launcher started this process in, from its
/// environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE); 1 when not launched by one.
int64_t launcherWorldSize();
/// True once initDistributed started MPI (and before it was finalized).
bool distributed();
/// This process's world rank (0 without MPI; the launcher's rank from the
/// environment before MPI starts) and the world size (1 without MPI).
int64_t worldRank();
int64_t worldSize();
/// Ranks on this host (1 without MPI).
int64_t localWorldSize();
inline bool isRoot() { return worldRank() == 0; }
/// Waits for every rank (no-op without MPI).
void barrier();
/// Whether `flag` is set on any rank; every rank calls it (without MPI:
/// `flag`).
bool anyRank(bool flag);
/// Finalizes MPI if it was started (also registered with atexit).
void finalizeDistributed();

/// The one-line error exit of a program (never returns). Rank 0 prints
/// "PROG: error: MSG" on stderr and exits 1 (with MPI: calls MPI_Abort, which
/// ends every rank). Another rank of a launched job, with or without MPI
/// started, first waits (awaitRootError) in case rank 0 fails too, so that an
/// error every rank hits prints once; if it is still alive it prints
/// "[rank R] PROG: error: MSG" and exits 1 (with MPI: MPI_Abort).
[[noreturn]] void fatalError(const std::string &prog, const std::string &msg);
/// A failing rank other than 0 waits here, long enough for a rank 0 on a
/// loaded, oversubscribed host to fail too (2 s was seen not to be, with
/// 8-rank tests in parallel): rank 0's exit makes the launcher end this
/// process before it prints. Without the wait, its own exit could make the
/// launcher kill rank 0 before rank 0 printed.
void awaitRootError();

/// Collective over the world (every rank calls it for the same tensor): the
/// global tensor of weight/state `decl` whose local slice on each rank is
/// `local` (device memory). On rank 0, returns it in host memory (in
/// `storage`, or `local` itself when `decl` is replicated and device memory
/// is host memory); on other ranks, an empty Tensor.
Tensor gatherToRoot(Context *ctx, const TensorDecl &decl, Tensor local,
                    AlignedBuffer &storage);
/// The global tensor of weight/state `decl` (host memory, in `storage`) from
/// `all`: the local blocks of the ranks of `mesh`, one after another in
/// rank order (each replicated block taken once, from the rank at
/// coordinate 0 of the axes it is not split over).
Tensor assembleBlocks(const TensorDecl &decl, const std::vector<int64_t> &mesh,
                      const char *all, AlignedBuffer &storage);
/// Copies this rank's slice of the global tensor `global` (decl's global
/// shape) of weight/state `decl` into `local` (decl's local shape); both in
/// host memory.
void copyLocalSlice(const Context *ctx, const TensorDecl &decl,
                    const void *global, void *local);
/// The block of the global tensor `global` that the rank at `coords` of
/// `mesh` holds of weight/state/input `decl` (split over `mesh`), into
/// `local` (decl's local shape); both in host memory.
void copyBlockAt(const TensorDecl &decl, const std::vector<int64_t> &mesh,
                 const std::vector<int64_t> &coords, const void *global,
                 void *local);
/// copyLocalSlice from host memory into device memory `deviceLocal` (a
/// weight or state buffer of the Context).
void loadLocalSlice(const Context *ctx, const TensorDecl &decl,
                    const void *global, void *deviceLocal);

} // namespace bbrt

#endif // BBRT_SHARDING_H
