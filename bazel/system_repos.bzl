"""Declares the system (Debian) libraries Bumblebee builds against.

Bazel 4 asks for @rules_cc and @rules_java during toolchain resolution; we answer
with tiny local stubs that forward to the native rules, so no network is needed.
"""

def bumblebee_system_repos():
    native.local_repository(name = "rules_cc", path = "third_party/stubs/rules_cc")
    native.local_repository(name = "rules_java", path = "third_party/stubs/rules_java")
    native.local_repository(
        name = "remote_coverage_tools",
        path = "third_party/stubs/remote_coverage_tools",
    )
    native.new_local_repository(
        name = "llvm",
        path = "/usr/lib/llvm-19",
        build_file = "@//third_party/system:llvm.BUILD",
    )
    native.new_local_repository(
        name = "system_include",
        path = "/usr/include",
        build_file = "@//third_party/system:system_include.BUILD",
    )
    native.new_local_repository(
        name = "openmpi",
        path = "/usr/lib/x86_64-linux-gnu/openmpi",
        build_file = "@//third_party/system:openmpi.BUILD",
    )
    native.new_local_repository(
        name = "cuda",
        path = "/usr/local/cuda",
        build_file = "@//third_party/system:cuda.BUILD",
    )
