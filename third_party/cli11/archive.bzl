"""CLI11's source archive for the hermetic mode (docs/BUILDING.md).

Debian 12's orig tarball of the release its libcli11-dev packages (2.1.2;
"+ds" is upstream's release without its CI files, book and meson build,
per Debian's copyright file), so both
modes compile the same headers. bazel/repositories.bzl declares
@com_github_cliutils_cli11 from it when AEQUOR_DEPS=source;
tools/fetch_sources.sh downloads it into the distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/c/cli11/cli11_2.1.2+ds.orig.tar.xz"],
    "sha256": "8143d20b688e98ccce8e24562d3b68e5f47c12e896c42c7ca8553dbde5bed55d",
    "strip_prefix": "CLI11-2.1.2",
    "file": "cli11_2.1.2+ds.orig.tar.xz",
}
