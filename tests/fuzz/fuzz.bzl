"""aequor_fuzz_target: one libFuzzer target and the test that replays its corpus."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def aequor_fuzz_target(name, deps, srcs = None, testonly = False):
    """Declares <name>_fuzzer and <name>_corpus_test from <name>_fuzzer.cc.

    <name>_fuzzer is a libFuzzer binary under --config=fuzz (tools/fuzz.sh,
    clang) and otherwise, built by gcc, a plain binary that runs the files it
    is given (replay_main.cc). <name>_corpus_test runs every file of
    <name>/corpus through the same entry function in the normal test suite.

    Args:
      name: the target's folder under tests/fuzz (corpus, crashes, dictionary).
      deps: what the fuzz entry function needs.
      srcs: default [<name>_fuzzer.cc].
      testonly: for targets that read test-only code.
    """
    srcs = srcs or [name + "_fuzzer.cc"]
    cc_binary(
        name = name + "_fuzzer",
        srcs = srcs,
        testonly = testonly,
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            ":libfuzzer": [],
            "//conditions:default": [":replay_main"],
        }),
    )
    cc_test(
        name = name + "_corpus_test",
        size = "small",
        srcs = srcs,
        args = ["tests/fuzz/%s/corpus" % name],
        data = native.glob([name + "/corpus/*"]),
        deps = deps + [":replay_main"],
    )
