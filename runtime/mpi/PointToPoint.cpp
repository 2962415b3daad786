//===- PointToPoint.cpp - sends and receives between ranks, over MPI ------===//
//
// bbrt.h's point-to-point transfers (pipeline crossings, the pipeline
// driver's state transfers) for both runtimes, over MPI_COMM_WORLD with
// tags. Device memory that is not host memory (the CUDA runtime) is staged
// through host buffers: the copy to the host waits for the kernels that
// wrote the tensor, and a received tensor is copied to the device before
// the receive returns. (NCCL's send and receive match messages by their
// order on one stream, so 1F1B's crossing sends, forward and backward at
// once between two stages, would wait on each other there; MPI matches by
// tag.)
//
//===----------------------------------------------------------------------===//
#include "bbrt/model.h"
#include "bbrt/sharding.h"
#include "runtime/core/CollectiveArgs.h"
#include "runtime/core/Util.h"
#include "runtime/mpi/Mpi.h"

#include <vector>

namespace bbrt {

void sendTensor(Context *, Tensor in, int64_t peerRank, int64_t tag) {
  const char *what = "sendTensor";
  checkPeer(peerRank, tag, what);
  std::vector<char> staged;
  const void *data = in.data;
  if (!deviceMemoryIsHost()) {
    staged.resize(static_cast<size_t>(in.nbytes()));
    copyToHost(staged.data(), in.data, staged.size());
    data = staged.data();
  }
  checkMpi(MPI_Send(data, mpiCount(in.numel(), what), mpiType(in.dtype),
                    static_cast<int>(peerRank), static_cast<int>(tag),
                    MPI_COMM_WORLD),
           what);
}

void postSend(Context *ctx, Tensor in, int64_t peerRank, int64_t tag) {
  const char *what = "postSend";
  checkPeer(peerRank, tag, what);
  auto *mesh = dynamic_cast<MpiMeshState *>(ctx->mesh.get());
  BBRT_CHECK(mesh, "postSend: the program declares no mesh");
  const size_t bytes = static_cast<size_t>(in.nbytes());
  // A copy: the caller may overwrite `in` before the send completes.
  mesh->pending.push_back({MPI_REQUEST_NULL, std::vector<char>(bytes)});
  MpiMeshState::PendingSend &p = mesh->pending.back();
  copyToHost(p.bytes.data(), in.data, bytes);
  checkMpi(MPI_Isend(p.bytes.data(), mpiCount(in.numel(), what),
                     mpiType(in.dtype), static_cast<int>(peerRank),
                     static_cast<int>(tag), MPI_COMM_WORLD, &p.request),
           what);
}

void waitSends(Context *ctx) {
  auto *mesh = dynamic_cast<MpiMeshState *>(ctx->mesh.get());
  if (!mesh)
    return;
  for (MpiMeshState::PendingSend &p : mesh->pending)
    checkMpi(MPI_Wait(&p.request, MPI_STATUS_IGNORE), "waitSends");
  mesh->pending.clear();
}

void recvTensor(Context *, Tensor out, int64_t peerRank, int64_t tag) {
  const char *what = "recvTensor";
  checkPeer(peerRank, tag, what);
  std::vector<char> staged;
  void *data = out.data;
  if (!deviceMemoryIsHost()) {
    staged.resize(static_cast<size_t>(out.nbytes()));
    data = staged.data();
  }
  MPI_Status status;
  const int count = mpiCount(out.numel(), what);
  checkMpi(MPI_Recv(data, count, mpiType(out.dtype),
                    static_cast<int>(peerRank), static_cast<int>(tag),
                    MPI_COMM_WORLD, &status),
           what);
  int got = 0;
  MPI_Get_count(&status, mpiType(out.dtype), &got);
  BBRT_CHECK(got == count,
             "recvTensor: rank %lld sent %d elements with tag %lld, out (%s "
             "%s) holds %d",
             (long long)peerRank, got, (long long)tag, dtypeName(out.dtype),
             formatDims(out.shape).c_str(), count);
  if (!staged.empty())
    copyToDevice(out.data, staged.data(), staged.size());
}

} // namespace bbrt
