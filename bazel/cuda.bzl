"""nvcc from the CUDA toolkit at /usr/local/cuda, for the CUDA runtime's kernels.

Bazel 4 has no CUDA rules; each .cu file becomes one object through a genrule
that calls nvcc (which drives the host g++), so the files compile in parallel
and a change to one recompiles only it.
"""

# Real machine code for A100 (sm_80) and H100/H200 (sm_90), plus sm_90 PTX
# that newer GPUs compile at load time.
CUDA_GENCODE = [
    "-gencode=arch=compute_80,code=sm_80",
    "-gencode=arch=compute_90,code=[sm_90,compute_90]",
]

# The architectures the objects carry, as bbc --cuda-arch names them.
CUDA_ARCHS = ["sm_80", "sm_90"]

def cuda_objects(name, srcs, hdrs):
    """One PIC object per .cu file in srcs; `name` is a filegroup of them."""
    outs = []
    for src in srcs:
        stem = src.split("/")[-1][:-len(".cu")]
        out = "%s_%s.o" % (name, stem)
        native.genrule(
            name = "%s_%s" % (name, stem),
            srcs = [src] + hdrs,
            outs = [out],
            cmd = " ".join([
                "/usr/local/cuda/bin/nvcc -std=c++17 -O3 -w",
                "--expt-relaxed-constexpr -Xcompiler -fPIC",
                " ".join(CUDA_GENCODE),
                "-I. -Iruntime/include",
                "-c $(location %s) -o $@" % src,
            ]),
        )
        outs.append(out)
    native.filegroup(name = name, srcs = outs)
