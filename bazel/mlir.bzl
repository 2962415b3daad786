"""Project macros: mlir-tblgen for ODS/pass/doc generation, and lit tests."""

def _tblgen_rule_name(name, out):
    return name + "_" + out.replace("/", "_").replace(".", "_")

def mlir_tblgen(name, td_file, outs, td_srcs = [], deps = []):
    """Runs LLVM 19's mlir-tblgen once per (flags, output) pair in `outs`.

    Produces a cc_library `name` whose textual headers are the generated .inc files.
    td_srcs: other .td files of ours that td_file includes.
    """
    generated = []
    for flags, out in outs:
        native.genrule(
            name = _tblgen_rule_name(name, out),
            srcs = [td_file] + td_srcs + ["@llvm//:td_files"],
            outs = [out],
            tools = ["@llvm//:bin/mlir-tblgen"],
            cmd = ("$(location @llvm//:bin/mlir-tblgen) " + " ".join(flags) +
                   " -I external/llvm/include -I . -I $(GENDIR)" +
                   " $(location " + td_file + ") -o $@"),
        )
        generated.append(out)
    native.cc_library(
        name = name,
        textual_hdrs = generated,
        deps = deps,
    )

def lit_tests(name, srcs, data = [], size = "small"):
    """One sh_test per lit test file: lit runs it with FileCheck and our tools."""
    tests = []
    for src in srcs:
        test_name = name + "/" + src
        native.sh_test(
            name = test_name,
            srcs = ["//test:lit_runner.sh"],
            args = ["$(location " + src + ")"],
            data = [src] + [d for d in data if d != src] + [
                "//test:lit_config",
                "@llvm//:lit",
                "@llvm//:bin/FileCheck",
                "@llvm//:bin/not",
                "@llvm//:bin/split-file",
            ],
            size = size,
        )
        tests.append(test_name)
    native.test_suite(name = name, tests = tests)
