"""Google Benchmark's source archive for the hermetic mode (docs/BUILDING.md).

Debian 12's orig tarball of Benchmark 1.7.1, the release of its
libbenchmark-dev. bazel/repositories.bzl declares
@com_github_google_benchmark from it when AEQUOR_DEPS=source;
tools/fetch_sources.sh downloads it into the distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/b/benchmark/benchmark_1.7.1.orig.tar.gz"],
    "sha256": "6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7",
    "strip_prefix": "benchmark-1.7.1",
    "file": "benchmark_1.7.1.orig.tar.gz",
}
