"""GoogleTest's source archive for the hermetic mode (docs/BUILDING.md).

Debian 12's orig tarball of GoogleTest 1.12.1, the release of its
libgtest-dev. bazel/repositories.bzl declares @com_google_googletest from it
when AEQUOR_DEPS=source; tools/fetch_sources.sh downloads it into the
distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/g/googletest/googletest_1.12.1.orig.tar.gz"],
    "sha256": "81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2",
    "strip_prefix": "googletest-release-1.12.1",
    "file": "googletest_1.12.1.orig.tar.gz",
}
