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
  com_google_googletest, com_github_google_benchmark
      aequor's tests and benchmarks only; Debian's, or the pinned archives
      in the hermetic mode (AEQUOR_DEPS=source).
  com_github_nlohmann_json, com_github_cliutils_cli11
      Header-only: Debian's /usr/include copies, or the pinned archives in
      the hermetic mode.
  com_github_randombit_botan
      Botan 2, always built from its pinned archive
      (third_party/botan/repositories.bzl).
  aequor_system_boundary, aequor_system
      What stays on the system: libpq and OpenSSL (the boundary,
      version-checked in the hermetic mode), gRPC and prometheus-cpp (the
      optional exporters only), from Debian's packages under /usr
      (third_party/system/BUILD.system; tools/check_deps.sh names the
      package when one is missing).
"""

load("//third_party/abseil:archive.bzl", ABSL_ARCHIVE = "ARCHIVE")
load("//third_party/benchmark:archive.bzl", BENCHMARK_ARCHIVE = "ARCHIVE")
load("//third_party/botan:repositories.bzl", "aequor_botan_repositories")
load("//third_party/cli11:archive.bzl", CLI11_ARCHIVE = "ARCHIVE")
load("//third_party/googletest:archive.bzl", GOOGLETEST_ARCHIVE = "ARCHIVE")
load("//third_party/nlohmann_json:archive.bzl", NLOHMANN_JSON_ARCHIVE = "ARCHIVE")
load("//third_party/system_boundary:repositories.bzl", "aequor_system_boundary", "check_system_boundary")

# The stand-ins in aequor's tree, by repository name: their directories,
# from aequor's root. (Each holds a WORKSPACE file, so no label can name a
# file in it from aequor's own packages.)
_STAND_INS = {
    "rules_cc": "third_party/rules_cc",
    "rules_java": "third_party/rules_java",
    "remote_coverage_tools": "third_party/remote_coverage_tools",
    # Loaded only by upstream Abseil's BUILD files (the hermetic mode).
    "bazel_skylib": "third_party/bazel_skylib",
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
    if _deps_mode(ctx) == "source":
        # The hermetic mode: what stays on the system must be the pinned
        # versions (third_party/system_boundary), or nothing builds.
        check_system_boundary(ctx)

_system = repository_rule(
    implementation = _system_impl,
    attrs = {"build_file": attr.label(mandatory = True, allow_single_file = True)},
    environ = ["AEQUOR_DEPS"],
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

# --- The two modes (docs/BUILDING.md) ---
#
# AEQUOR_DEPS, passed as --repo_env=AEQUOR_DEPS=... (bazel/hermetic.bazelrc
# sets it for --config=hermetic), picks where @com_google_absl,
# @com_google_googletest and @com_github_google_benchmark come from:
#   system (the default): Debian 12's packages, under upstream's target names;
#   source: the pinned archives of third_party/<name>/archive.bzl, built with
#     upstream's BUILD files (no network once tools/fetch_sources.sh has
#     filled the distdir).
_MODES = ["system", "source"]

def _deps_mode(ctx):
    mode = ctx.os.environ.get("AEQUOR_DEPS", "system")
    if mode not in _MODES:
        fail("AEQUOR_DEPS=%s (--repo_env): expected one of %s; source is the hermetic mode (--config=hermetic, docs/BUILDING.md)" % (mode, ", ".join(_MODES)))
    return mode

def _extract(ctx, urls, sha256, strip_prefix):
    # Found in --distdir by file name and sha256 before any download.
    ctx.download_and_extract(url = urls, sha256 = sha256, stripPrefix = strip_prefix)

def _absl_impl(ctx):
    if _deps_mode(ctx) == "system":
        _debian_absl_impl(ctx)
        return
    _extract(ctx, ABSL_ARCHIVE["urls"], ABSL_ARCHIVE["sha256"], ABSL_ARCHIVE["strip_prefix"])
    ctx.patch(ctx.attr.patch, strip = 1)  # third_party/abseil/BUILD.bazel says why

_absl = repository_rule(
    implementation = _absl_impl,
    attrs = {"patch": attr.label(default = Label("//third_party/abseil:platforms_wasm.patch"))},
    environ = ["AEQUOR_DEPS"],
)

def _aliases_impl(ctx):
    # Upstream's BUILD file from the archive (source), or aliases of
    # upstream's target names to @aequor_system's Debian libraries (system).
    if _deps_mode(ctx) == "source":
        _extract(ctx, ctx.attr.urls, ctx.attr.sha256, ctx.attr.strip_prefix)
        return
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", "".join([
        "# Debian's package under upstream's target names (aequor's bazel/repositories.bzl).\n",
    ] + [
        "alias(name = \"%s\", actual = \"%s\", visibility = [\"//visibility:public\"])\n" % (name, actual)
        for name, actual in ctx.attr.system.items()
    ]))

# The attributes of an archive.bzl ARCHIVE, as _pinned() passes them.
_PINNED_ATTRS = {
    "urls": attr.string_list(mandatory = True),
    "sha256": attr.string(mandatory = True),
    "strip_prefix": attr.string(mandatory = True),
}

_aliases = repository_rule(
    implementation = _aliases_impl,
    attrs = dict(_PINNED_ATTRS, system = attr.string_dict(mandatory = True)),
    environ = ["AEQUOR_DEPS"],
)

def _header_only_impl(ctx):
    # A header-only library, one directory under include/: Debian's copy in
    # /usr/include (system), or the pinned archive's (source). The BUILD file
    # is aequor's in both modes, so the target is the same.
    if _deps_mode(ctx) == "source":
        _extract(ctx, ctx.attr.urls, ctx.attr.sha256, ctx.attr.strip_prefix)
    else:
        system = ctx.path("/usr/include/" + ctx.attr.dir)
        if not system.exists:
            fail("aequor: %s not found: install %s (tools/setup.sh)" % (system, ctx.attr.package))
        ctx.symlink(system, "include/" + ctx.attr.dir)
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", "\n".join([
        "# %s, header-only (aequor's bazel/repositories.bzl): Debian's %s, or" % (ctx.attr.dir, ctx.attr.package),
        "# the pinned archive with AEQUOR_DEPS=source.",
        "cc_library(",
        "    name = \"%s\"," % ctx.attr.target,
        "    hdrs = glob([\"include/%s/**/*.hpp\"])," % ctx.attr.dir,
        "    includes = [\"include\"],",
        "    visibility = [\"//visibility:public\"],",
        ")",
        "",
    ]))

_header_only = repository_rule(
    implementation = _header_only_impl,
    attrs = dict(
        _PINNED_ATTRS,
        dir = attr.string(mandatory = True, doc = "the directory under include/"),
        target = attr.string(mandatory = True),
        package = attr.string(mandatory = True, doc = "Debian's package, for the error"),
    ),
    environ = ["AEQUOR_DEPS"],
)

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def _pinned(archive):
    # The download attributes of a third_party/<name>/archive.bzl ARCHIVE.
    return {key: archive[key] for key in ["urls", "sha256", "strip_prefix"]}

def aequor_dependencies():
    """Declares what aequor needs that the workspace has not declared."""
    for name, dir in _STAND_INS.items():
        _maybe(_tree, name, dir = dir)
    _maybe(_absl, "com_google_absl")
    # aequor's own tests and benchmarks only. Upstream's :gtest includes
    # GoogleMock, hence @aequor_system//:gmock (-lgmock -lgtest) behind it.
    _maybe(
        _aliases,
        "com_google_googletest",
        system = {
            "gtest": "@aequor_system//:gmock",
            "gtest_main": "@aequor_system//:gtest_main",
        },
        **_pinned(GOOGLETEST_ARCHIVE)
    )
    _maybe(
        _aliases,
        "com_github_google_benchmark",
        system = {
            "benchmark": "@aequor_system//:benchmark",
            "benchmark_main": "@aequor_system//:benchmark_main",
        },
        **_pinned(BENCHMARK_ARCHIVE)
    )
    _maybe(
        _header_only,
        "com_github_nlohmann_json",
        dir = "nlohmann",
        target = "json",
        package = "nlohmann-json3-dev",
        **_pinned(NLOHMANN_JSON_ARCHIVE)
    )
    # aequorctl, the storm and examples/service only.
    _maybe(
        _header_only,
        "com_github_cliutils_cli11",
        dir = "CLI",
        target = "cli11",
        package = "libcli11-dev",
        **_pinned(CLI11_ARCHIVE)
    )
    _maybe(aequor_system_boundary, "aequor_system_boundary")
    _maybe(
        _system,
        "aequor_system",
        build_file = Label("//third_party/system:BUILD.system"),
    )
    aequor_botan_repositories()
