"""Abseil's source archive for the hermetic mode (docs/BUILDING.md).

Debian 12's orig tarball of the release its libabsl-dev is built from
(20220623.1), so both modes compile the same Abseil. bazel/repositories.bzl
declares @com_google_absl from it when AEQUOR_DEPS=source;
tools/fetch_sources.sh downloads it into the distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/a/abseil/abseil_20220623.1.orig.tar.gz"],
    "sha256": "abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe",
    "strip_prefix": "abseil-20220623.1",
    "file": "abseil_20220623.1.orig.tar.gz",
}
