"""nlohmann/json's source archive for the hermetic mode (docs/BUILDING.md).

Debian 12's orig tarball of the release its nlohmann-json3-dev packages
(3.11.2), so both modes compile the same headers. bazel/repositories.bzl
declares @com_github_nlohmann_json from it when AEQUOR_DEPS=source;
tools/fetch_sources.sh downloads it into the distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/n/nlohmann-json3/nlohmann-json3_3.11.2.orig.tar.gz"],
    "sha256": "d69f9deb6a75e2580465c6c4c5111b89c4dc2fa94e3a85fcd2ffcd9a143d9273",
    "strip_prefix": "json-3.11.2",
    "file": "nlohmann-json3_3.11.2.orig.tar.gz",
}
