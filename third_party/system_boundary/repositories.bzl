"""The system boundary of aequor's hermetic mode, in one place.

In the hermetic mode (--config=hermetic, docs/BUILDING.md) every header and
library a compile or link reads is a declared, sha256-pinned input, except
what is listed here. These stay on the system, and why:

  libc, libm, libpthread, libdl, librt, the dynamic loader, libstdc++,
  libgcc, and their headers
      The C++ toolchain: Bazel 4.2.3's auto-configured local toolchain
      (@local_config_cc) is gcc 12 with Debian's glibc 2.36 and libstdc++;
      its built-in include directories (/usr/include, /usr/lib/gcc/...,
      /usr/include/c++/12) are exempt from Bazel's header checking. A
      function's binary runs on a Lambda/distroless base that supplies libc.
  libpq (libpq-dev, PostgreSQL 15)
      The wire protocol, TLS to the server and the authentication methods
      are the server vendor's, patched by the distribution for security;
      aequor wraps a PGresult in its API, and a function links the libpq of
      the image it runs on.
  OpenSSL 3.0 (libssl-dev)
      libpq links it for TLS; aequor's OpenSSL HMAC signer uses the same
      libcrypto, so there is one OpenSSL in the process, the system's,
      updated with it.

Each is checked against a pinned range when the mode is on (AEQUOR_DEPS=
source): check_system_boundary() fails the fetch of @aequor_system, which
every aequor target depends on, with a message naming the package. Their
headers are declared inputs: @aequor_system//:libpq's hdrs, and the targets
:libpq and :openssl of @aequor_system_boundary (aequor_system_boundary
below), whose headers `bazel aquery` lists for every compile that depends on
them. Their libraries are linked with -l from /usr/lib: not inputs, the
boundary.
"""

# The ranges the hermetic mode was built and tested with: Debian 12's
# libpq-dev 15.x and libssl-dev 3.0.x. Widen them only after building and
# running //tests/... --config=hermetic against the new version.
BOUNDARY = {
    "libpq": {
        "package": "libpq-dev",
        "header": "/usr/include/postgresql/pg_config.h",
        "macro": "PG_VERSION_NUM",
        "min": 150000,  # 15.0
        "below": 160000,  # 16.0
        "pinned": "15.x",
    },
    "openssl": {
        "package": "libssl-dev",
        "header": "/usr/include/openssl/opensslv.h",
        "macro": "OPENSSL_VERSION_NUMBER",
        "min": 0x30000000,  # 3.0.0
        "below": 0x30100000,  # 3.1.0
        "pinned": "3.0.x",
    },
}

def _define(ctx, header, macro):
    # The integer value of `#define <macro> <n>` (or `# define`) in header.
    text = ctx.read(header)
    for line in text.splitlines():
        words = [w for w in line.replace("#", " # ").replace("\t", " ").split(" ") if w]
        if len(words) >= 4 and words[0] == "#" and words[1] == "define" and words[2] == macro:
            value = words[3].rstrip("L")
            if value.isdigit():
                return int(value)
    return None

def _version(ctx, name):
    entry = BOUNDARY[name]
    header = ctx.path(entry["header"])
    if not header.exists:
        fail("aequor's hermetic mode: %s not found: install %s (docs/BUILDING.md, the system boundary)" % (header, entry["package"]))
    if name == "openssl":
        # OpenSSL 3 computes OPENSSL_VERSION_NUMBER from these three.
        parts = [_define(ctx, header, "OPENSSL_VERSION_" + p) for p in ["MAJOR", "MINOR", "PATCH"]]
        if None in parts:
            fail("aequor's hermetic mode: %s: no OPENSSL_VERSION_MAJOR/MINOR/PATCH (is %s OpenSSL 3?)" % (header, entry["package"]))
        return (parts[0] << 28) | (parts[1] << 20) | (parts[2] << 4)
    value = _define(ctx, header, entry["macro"])
    if value == None:
        fail("aequor's hermetic mode: %s has no #define %s" % (header, entry["macro"]))
    return value

def check_system_boundary(ctx):
    """Fails, naming the package and the pinned range, when a version is off.

    Returns {name: version number} for the record (system_boundary.bzl).
    """
    versions = {}
    for name, entry in BOUNDARY.items():
        version = _version(ctx, name)
        if version < entry["min"] or version >= entry["below"]:
            fail(("aequor's hermetic mode: %s is %s = %s (%s), outside the pinned range " +
                  "[%s, %s) (%s %s). Install that version, or widen the range in " +
                  "third_party/system_boundary/repositories.bzl after testing the new one " +
                  "(docs/BUILDING.md, the system boundary).") % (
                name,
                entry["macro"],
                version,
                entry["header"],
                entry["min"],
                entry["below"],
                entry["package"],
                entry["pinned"],
            ))
        versions[name] = version
    return versions

_BUILD = """# aequor's system boundary (third_party/system_boundary/repositories.bzl):
# the headers of what the hermetic mode leaves on the system, as declared
# inputs. Libraries: -l from /usr/lib.
package(default_visibility = ["//visibility:public"])

# libpq (libpq-dev): #include <libpq-fe.h>
cc_library(
    name = "libpq",
    hdrs = glob(["include/postgresql/*.h"]),
    includes = ["include/postgresql"],
    linkopts = ["-lpq"],
)

# OpenSSL 3.0 (libssl-dev): #include <openssl/hmac.h>; Debian keeps the
# configuration headers in the multiarch directory.
cc_library(
    name = "openssl",
    hdrs = glob(["include/openssl/*.h", "include/%s/openssl/*.h"]),
    includes = ["include", "include/%s"],
    linkopts = ["-lssl", "-lcrypto"],
)

exports_files(["versions.txt"])
"""

def _boundary_impl(ctx):
    # The check binds the hermetic mode only; the default mode (Debian's
    # packages throughout) takes whatever is installed, as it always has.
    if ctx.os.environ.get("AEQUOR_DEPS", "system") == "source":
        versions = check_system_boundary(ctx)
    else:
        versions = {}
    # Debian's multiarch directory, where opensslconf.h and configuration.h live.
    multiarch = None
    for triplet in ["x86_64-linux-gnu", "aarch64-linux-gnu"]:
        if ctx.path("/usr/include/%s/openssl/configuration.h" % triplet).exists:
            multiarch = triplet
    if multiarch == None:
        fail("aequor's hermetic mode: no /usr/include/<multiarch>/openssl/configuration.h: install libssl-dev")
    ctx.symlink("/usr/include/postgresql", "include/postgresql")
    ctx.symlink("/usr/include/openssl", "include/openssl")
    ctx.symlink("/usr/include/%s/openssl" % multiarch, "include/%s/openssl" % multiarch)
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD.bazel", _BUILD % (multiarch, multiarch))
    ctx.file("versions.txt", "".join(["%s %s\n" % (n, v) for n, v in sorted(versions.items())]))

aequor_system_boundary = repository_rule(
    implementation = _boundary_impl,
    environ = ["AEQUOR_DEPS"],
    local = True,
    doc = "The system boundary's headers as a repository; fails on a version outside BOUNDARY.",
)
