//===- Mpi.h - the MPI backend of sharded programs (internal) ---*- C++ -*-===//
#ifndef BBRT_CPU_MPI_H
#define BBRT_CPU_MPI_H

#include "runtime/core/Distributed.h"

// The C API only: no libmpi_cxx.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <map>
#include <memory>
#include <vector>

namespace bbrt {

/// MeshState plus the communicators of the groups the Context's collectives
/// used (created on first use, freed with the Context).
struct MpiMeshState : MeshState {
  /// By sorted mesh axes; only groups of more than one rank.
  std::map<std::vector<int64_t>, MPI_Comm> comms;
  /// A device library's communicators over the same groups, under the same
  /// keys (the CUDA runtime's NCCL ones), each freed by its own deleter
  /// with the Context, before the MPI communicators they were made over.
  std::map<std::vector<int64_t>, std::shared_ptr<void>> deviceComms;
  /// Sends postSend started and waitSends has not completed, with the copies
  /// of the bytes they send.
  struct PendingSend {
    MPI_Request request;
    std::vector<char> bytes;
  };
  std::vector<PendingSend> pending;
  ~MpiMeshState() override;
};

/// Installs the MPI backend (setMesh does).
void installMpiBackend();

/// Throws Error "WHAT: MPI error: <MPI's message>" unless rc is MPI_SUCCESS.
void checkMpi(int rc, const char *what);

/// The communicator of this rank's group along `axes` (sorted, checked), in
/// group order; created with MPI_Comm_create_group, which only the group's
/// ranks take part in. Only for groups of more than one rank.
MPI_Comm groupComm(MeshState &mesh, const std::vector<int64_t> &axes);
/// The communicator of the world ranks `ranks` (sorted, this rank among
/// them), created like groupComm's; rankGroupKey is its key among a mesh's
/// communicators (axes sets never start with -2).
MPI_Comm rankGroupComm(MeshState &mesh, const std::vector<int64_t> &ranks);
std::vector<int64_t> rankGroupKey(const std::vector<int64_t> &ranks);

/// All-reduce of `inout` in place over the world ranks `ranks` (sorted,
/// this rank among them): what a pipeline stage's replicas do with their
/// gradients (driver/PipelineSchedule.cpp). In the CPU runtime over MPI, in
/// the CUDA runtime over NCCL; one rank copies nothing.
void allReduceAmong(Context *ctx, Tensor inout, ReduceKind kind,
                    const std::vector<int64_t> &ranks);

/// The MPI datatype that moves (and, for F32/F64/I32/I64/I16/I8/U8, reduces)
/// elements of `dtype`; F16/BF16 move as 16-bit integers.
MPI_Datatype mpiType(DType dtype);
/// `n` elements as an MPI count; throws Error above INT_MAX.
int mpiCount(int64_t n, const char *what);

} // namespace bbrt

#endif // BBRT_CPU_MPI_H
