"""aequor_botan_repositories(): the Botan 2 that aequor builds against.

Called by aequor_dependencies() (bazel/repositories.bzl). Declares
@com_github_randombit_botan, unless the workspace has declared it already
(a monorepo with its own Botan 2 declares a repository of that name with a
`:botan` cc_library first, and aequor compiles against that one).

Botan is built from its pinned source archive (archive.bzl) in both build
modes, configured the way Botan's own build is (configure.py, run here when
the repository is fetched) with only the modules aequor uses:

  hmac, sha2_32   HMAC-SHA256 of the lease (signers/hmac_sha256_botan.cc)
  sha1, hex       the lease key id (api/lease.cc)

and without `locking_allocator`. That module is why Debian's libbotan-2 made
a cold start 1.40x slower than libpq alone: at the first HMAC it mlock()s a
pool of pages (128 mlock/munlock/madvise and ~500 mprotect calls here), to
keep keys out of swap. aequor's secret lives in ordinary memory anyway
(api/secret.h wipes it on destruction, and does not lock it); Botan still zeroes its key buffers
when it frees them. docs/BUILDING.md, "Botan", has the figures.

Everything configure.py writes (build.h with the enabled modules, the
headers, the list of sources) lands in this repository; the BUILD file is
generated from configure.py's build_config.json, so the source list cannot
drift from what configure.py chose.
"""

load(":archive.bzl", BOTAN_ARCHIVE = "ARCHIVE")

# Modules beyond those a --minimized-build always has (base, hash, mac, utils,
# ...). Adding one here is the only change a new algorithm needs.
BOTAN_MODULES = ["hmac", "sha2_32", "sha1", "hex"]

# By CPU (`uname -m`): the SHA-NI and SSE2 compression functions, chosen at
# run time by CPUID as in Debian's build (Botan marks them with a function
# target attribute, so they need no compiler flag).
BOTAN_CPU_MODULES = {
    "x86_64": ["sha2_32_x86", "sha1_x86", "sha1_sse2"],
}

def _configure_args(cpu):
    return [
        "--minimized-build",
        "--enable-modules=" + ",".join(BOTAN_MODULES + BOTAN_CPU_MODULES.get(cpu, [])),
        "--disable-modules=locking_allocator",
        "--build-targets=static",
        "--disable-shared-library",
        "--os=linux",
        # gcc and clang take the same code paths in Botan; no compiler is run.
        "--cc=gcc",
        "--cc-min-version=8.0",
        "--link-method=copy",
        # Into the repository's root: build/include (the headers, build.h)
        # and build/build_config.json, where the BUILD file reads them.
        "--with-build-dir=.",
        "--without-documentation",
        "--no-install-python-module",
        "--distribution-info=aequor third_party/botan",
        "--quiet",
    ]

_BUILD = """# Botan {version}, configured by aequor's third_party/botan/repositories.bzl:
#   configure.py {args}
# Generated; the sources are configure.py's lib_srcs.
package(default_visibility = ["//visibility:public"])

licenses(["notice"])  # BSD-2-Clause, license.txt

cc_library(
    name = "botan",
    srcs = {srcs} + glob(["build/include/botan/internal/*.h"]),
    hdrs = glob(["build/include/botan/*.h"]),
    # -isystem for dependents: Botan's headers stay out of -Wall -Wextra.
    includes = ["build/include"],
    copts = ["-w"],
    linkopts = ["-pthread"],
)

exports_files(["license.txt"])
"""

def _botan_impl(ctx):
    ctx.download_and_extract(
        url = ctx.attr.urls,
        sha256 = ctx.attr.sha256,
        stripPrefix = ctx.attr.strip_prefix,
    )
    python = ctx.which("python3")
    if python == None:
        fail("aequor: building Botan needs python3 to run its configure.py (Debian package python3)")
    uname = ctx.execute(["uname", "-m"])
    if uname.return_code != 0:
        fail("aequor: `uname -m` failed, needed to configure Botan: " + uname.stderr)
    args = _configure_args(uname.stdout.strip())
    result = ctx.execute([python, "configure.py"] + args, quiet = True)
    if result.return_code != 0:
        fail("aequor: Botan's configure.py failed (exit %d):\n%s%s" % (
            result.return_code,
            result.stdout,
            result.stderr,
        ))
    config = json.decode(ctx.read("build/build_config.json"))
    srcs = config["lib_srcs"]
    for src in srcs:
        if src.startswith("/") or not ctx.path(src).exists:
            fail("aequor: Botan's configure.py listed %s, not a file of the archive" % src)

    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", _BUILD.format(
        version = config["version"],
        args = " ".join(args),
        srcs = repr(srcs),
    ))

botan_repository = repository_rule(
    implementation = _botan_impl,
    attrs = {
        "urls": attr.string_list(mandatory = True),
        "sha256": attr.string(mandatory = True),
        "strip_prefix": attr.string(mandatory = True),
    },
    doc = "Botan 2 from its source archive, configured with BOTAN_MODULES only.",
)

def aequor_botan_repositories():
    """Declares @com_github_randombit_botan unless the workspace already has."""
    if native.existing_rule("com_github_randombit_botan"):
        return
    botan_repository(
        name = "com_github_randombit_botan",
        urls = BOTAN_ARCHIVE["urls"],
        sha256 = BOTAN_ARCHIVE["sha256"],
        strip_prefix = BOTAN_ARCHIVE["strip_prefix"],
    )
