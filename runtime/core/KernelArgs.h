//===- KernelArgs.h - checked operands of kernels of both runtimes -*- C++ -*-===//
//
// What the CPU and the CUDA runtime check and derive alike before running
// gather, linear's bias, layerNorm, reduce and the convolution and pooling
// gradients
// (collectives: CollectiveArgs.h; window geometry: Window.h). Each fails
// with the kernel's one-line error.
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_KERNELARGS_H
#define BBRT_CORE_KERNELARGS_H

#include "bbrt/bbrt.h"
#include "runtime/core/Window.h"

namespace bbrt {

/// gather: data [outer, A, inner] (A along `axis`), n indices; out's shape
/// data[:axis] + indices + data[axis+1:].
struct GatherShape {
  int axis = 0;
  int64_t outer = 1, A = 0, inner = 1, n = 0;
};
GatherShape checkGather(const Tensor &data, const Tensor &indices,
                        const Tensor &out, int64_t axis);

/// linear's bias: data, rank 1, the output's dtype (F32 or F64) and last
/// dimension; the output has data.
/// Checks linear's bias against its output; true when it is an addend (the
/// output's shape) rather than a vector along the last dimension.
bool checkLinearBias(const Tensor &bias, const Tensor &out);

/// layerNorm over dims [axis, rank): `rows` rows of D elements; scale (and
/// bias, when given) hold D elements of x's dtype.
struct NormRows {
  int64_t rows = 0, D = 1;
};
NormRows checkLayerNorm(const Tensor &x, const Tensor &scale,
                        const Tensor &bias, const Tensor &out, int64_t axis,
                        const char *kernel = "layerNorm");
/// layerNormGrad: x, scale, dy, dx as layerNorm's x, scale, out (dy and dx
/// of x's shape), dscale and dbias of scale's; all F32 with data.
NormRows checkLayerNormGrad(const Tensor &x, const Tensor &scale,
                            const Tensor &dy, const Tensor &dx,
                            const Tensor &dscale, const Tensor &dbias,
                            int64_t axis);

/// reduce over `axes` (sorted, unique, in range): which dims are reduced,
/// how many elements each output reduces (count) and how many outputs
/// there are (kept); out has x's dtype and `kept` elements.
struct ReduceDims {
  bool reduced[kMaxRank] = {};
  int64_t count = 1, kept = 1;
};
ReduceDims checkReduce(const char *kernel, const Tensor &x, const Tensor &out,
                       const Dims &axes);

/// An attention operand broadcast to the scores [..., T, S] (the mask, the
/// bias): its element strides over the leading dims, the queries and the
/// keys (0 where it broadcasts); absent when not given.
struct ScoreOperand {
  bool present = false;
  int64_t batchStride[kMaxRank] = {};
  int64_t t = 0, s = 0;
};

/// attention and attentionGrad: `batch` problems (the product of the
/// leading dims) of T queries, S keys, D features per query and key, E per
/// value; the mask and the bias.
struct AttentionShape {
  int64_t batch = 1, T = 0, S = 0, D = 0, E = 0;
  int batchDims = 0;
  int64_t batchSize[kMaxRank] = {};
  ScoreOperand mask, bias;
  /// The element offset of problem b's [T, S] block in `o`.
  BBRT_HOST_DEVICE int64_t offset(const ScoreOperand &o, int64_t b) const {
    int64_t off = 0;
    for (int d = batchDims - 1; d >= 0; --d) {
      off += (b % batchSize[d]) * o.batchStride[d];
      b /= batchSize[d];
    }
    return off;
  }
};
/// Checks attention's operands (q, k, v; F32, a Bool mask and an F32 bias
/// broadcasting to [..., T, S], out, lse); attentionGrad passes dout as
/// `out`.
AttentionShape checkAttention(const char *kernel, const Tensor &q,
                              const Tensor &k, const Tensor &v,
                              const Tensor &mask, const Tensor &bias,
                              const Tensor &out, const Tensor &lse);
/// attentionGrad's gradients dq, dk, dv: F32 of q's, k's and v's shapes;
/// dbias (when given) F32 of the scores' shape [..., T, S].
void checkAttentionGrads(const AttentionShape &a, const Tensor &q,
                         const Tensor &k, const Tensor &v, const Tensor &dq,
                         const Tensor &dk, const Tensor &dv,
                         const Tensor &dbias);

/// maxPool and avgPool (kernel `k`): out of x's dtype, both with data, and
/// the window geometry (checkedPoolGeom).
Geom checkPool(const char *k, const Tensor &x, const Tensor &out,
               const Dims &kernel, const Dims &strides, const Dims &pads,
               const Dims &dilations);

/// The convolution and pooling gradients (f32 only, in both runtimes):
/// every operand f32 with data, and the window geometry (checkedConvGeom,
/// checkedPoolGeom); maxPoolGrad's input gradient has the input's shape.
Geom checkConvInputGrad(const Tensor &dy, const Tensor &w, const Tensor &dx,
                        const Dims &strides, const Dims &pads,
                        const Dims &dilations, int64_t group);
Geom checkConvWeightGrad(const Tensor &x, const Tensor &dy, const Tensor &dw,
                         const Dims &strides, const Dims &pads,
                         const Dims &dilations, int64_t group);
Geom checkMaxPoolGrad(const Tensor &x, const Tensor &dy, const Tensor &dx,
                      const Dims &kernel, const Dims &strides, const Dims &pads);
Geom checkAvgPoolGrad(const Tensor &dy, const Tensor &dx, const Dims &kernel,
                      const Dims &strides, const Dims &pads);

} // namespace bbrt

#endif
