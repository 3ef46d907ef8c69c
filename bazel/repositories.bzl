"""aequor_dependencies(): what a workspace that depends on aequor declares.

A consumer's WORKSPACE (docs/EMBEDDING.md, examples/embedding):

    local_repository(name = "aequor", path = "/path/to/aequor")  # or http_archive
    load("@aequor//bazel:repositories.bzl", "aequor_dependencies")
    aequor_dependencies()

and its .bazelrc has the one flag aequor needs, `build --cxxopt=-std=c++17`
(aequor's public headers say so with an #error when it is missing).

Each repository is declared only if the workspace has not declared it
already (the `maybe` pattern of gRPC's grpc_deps()), under the name the Bazel
ecosystem uses, so a monorepo's own comes first:

  rules_cc, rules_java, remote_coverage_tools
      Bazel 4.2.3's built-in WORKSPACE suffix declares these as downloads;
      offline they fail ("no such package '@rules_cc//cc'"). The stand-ins
      from aequor's third_party/ are declared first, so they win.
  com_google_absl
      Abseil. A monorepo that builds its own (upstream's Bazel build)
      declares it before this call, and aequor then compiles and links
      against that one: one Abseil in the binary. Otherwise a stand-in for
      Debian's libabsl-dev (20220623): the upstream target names aequor
      uses, each linking the shared libraries; headers from /usr/include.
  aequor_system
      What stays on the system: libpq, Botan 2, OpenSSL, nlohmann/json,
      CLI11, GoogleTest and Benchmark (aequor's tests only), gRPC and
      prometheus-cpp (the optional exporters only), from Debian's packages
      under /usr (third_party/system/BUILD.system; tools/check_deps.sh names
      the package when one is missing).
"""

load("//third_party/botan:repositories.bzl", "aequor_botan_repositories")

# The stand-ins in aequor's tree, by repository name: their directories,
# from aequor's root. (Each holds a WORKSPACE file, so no label can name a
# file in it from aequor's own packages.)
_STAND_INS = {
    "rules_cc": "third_party/rules_cc",
    "rules_java": "third_party/rules_java",
    "remote_coverage_tools": "third_party/remote_coverage_tools",
}

def _tree_impl(ctx):
    # One directory of aequor's tree as a repository (symlinks):
    # local_repository wants a path, which a macro cannot compute from a
    # label; a repository rule can.
    root = ctx.path(Label("//bazel:BUILD.bazel")).dirname.dirname
    src = root
    for part in ctx.attr.dir.split("/"):
        src = src.get_child(part)
    for child in src.readdir():
        ctx.symlink(child, child.basename)

_tree = repository_rule(
    implementation = _tree_impl,
    attrs = {"dir": attr.string(mandatory = True)},
    local = True,
)

def _system_impl(ctx):
    # /usr, with aequor's BUILD file for it (new_local_repository, which
    # takes the BUILD file as a label only when it is in the main workspace).
    usr = ctx.path("/usr")
    for child in ["include", "lib"]:
        ctx.symlink(usr.get_child(child), child)
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)

_system = repository_rule(
    implementation = _system_impl,
    attrs = {"build_file": attr.label(mandatory = True, allow_single_file = True)},
    local = True,
)

# Debian's libabsl-dev 20220623: `pkg-config --libs absl_status
# absl_statusor absl_strings absl_str_format absl_time absl_synchronization
# absl_flat_hash_map absl_flat_hash_set absl_random_random absl_hash`, with
# duplicates removed (first occurrence kept; shared libraries).
_DEBIAN_ABSL_LINKOPTS = [
    "-labsl_statusor",
    "-labsl_status",
    "-labsl_strerror",
    "-labsl_str_format_internal",
    "-labsl_cord",
    "-labsl_cordz_info",
    "-labsl_cord_internal",
    "-labsl_cordz_functions",
    "-labsl_cordz_handle",
    "-labsl_raw_hash_set",
    "-labsl_hashtablez_sampler",
    "-labsl_exponential_biased",
    "-labsl_synchronization",
    "-labsl_graphcycles_internal",
    "-labsl_stacktrace",
    "-labsl_symbolize",
    "-labsl_debugging_internal",
    "-labsl_demangle_internal",
    "-labsl_malloc_internal",
    "-labsl_time",
    "-labsl_civil_time",
    "-labsl_time_zone",
    "-labsl_random_distributions",
    "-labsl_throw_delegate",
    "-labsl_raw_logging_internal",
    "-labsl_random_seed_sequences",
    "-labsl_random_internal_pool_urbg",
    "-labsl_random_internal_randen",
    "-labsl_random_internal_randen_hwaes",
    "-labsl_random_internal_randen_hwaes_impl",
    "-labsl_random_internal_randen_slow",
    "-labsl_random_internal_platform",
    "-labsl_random_internal_seed_material",
    "-labsl_random_seed_gen_exception",
    "-labsl_hash",
    "-labsl_city",
    "-labsl_strings",
    "-labsl_strings_internal",
    "-labsl_bad_optional_access",
    "-labsl_bad_variant_access",
    "-labsl_low_level_hash",
    "-latomic",
    "-lrt",
    "-labsl_base",
    "-labsl_log_severity",
    "-labsl_spinlock_wait",
    "-labsl_int128",
    "-pthread",
]

# The upstream Abseil targets aequor depends on (AEQUOR_ABSL_TARGETS in
# third_party/system/BUILD.system lists the same), by package.
ABSL_TARGETS = {
    "absl/base": ["core_headers"],
    "absl/cleanup": ["cleanup"],
    "absl/container": ["flat_hash_map", "flat_hash_set", "inlined_vector", "node_hash_map"],
    "absl/hash": ["hash"],
    "absl/random": ["random"],
    "absl/status": ["status", "statusor"],
    "absl/strings": ["strings", "cord", "str_format"],
    "absl/synchronization": ["synchronization"],
    "absl/time": ["time"],
    "absl/types": ["optional", "span"],
}

def _debian_absl_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", "\n".join([
        "# Debian's libabsl-dev, under upstream Abseil's target names",
        "# (aequor's bazel/repositories.bzl). Headers: /usr/include.",
        "cc_library(",
        "    name = \"debian\",",
        "    linkopts = %s," % repr(_DEBIAN_ABSL_LINKOPTS),
        "    visibility = [\"//:__subpackages__\"],",
        ")",
        "",
    ]))
    for package, names in ABSL_TARGETS.items():
        lines = []
        for name in names:
            lines.append(
                "cc_library(name = \"%s\", deps = [\"//:debian\"], visibility = [\"//visibility:public\"])" % name,
            )
        ctx.file(package + "/BUILD.bazel", "\n".join(lines) + "\n")

_debian_absl = repository_rule(implementation = _debian_absl_impl, local = True)

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def aequor_dependencies():
    """Declares what aequor needs that the workspace has not declared."""
    for name, dir in _STAND_INS.items():
        _maybe(_tree, name, dir = dir)
    _maybe(_debian_absl, "com_google_absl")
    _maybe(
        _system,
        "aequor_system",
        build_file = Label("//third_party/system:BUILD.system"),
    )
    aequor_botan_repositories()
