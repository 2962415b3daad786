//===- HostDevice.h - code both runtimes compile ---------------*- C++ -*-===//
//
// BBRT_HOST_DEVICE marks functions of core/ headers that CUDA kernels call
// too (nvcc: __host__ __device__; any other compiler: nothing).
//
//===----------------------------------------------------------------------===//
#ifndef BBRT_CORE_HOSTDEVICE_H
#define BBRT_CORE_HOSTDEVICE_H

#ifdef __CUDACC__
#define BBRT_HOST_DEVICE __host__ __device__
#else
#define BBRT_HOST_DEVICE
#endif

#endif
