"""Botan 2's source archive, built by //third_party/botan:repositories.bzl.

Debian 12's orig tarball of the release its libbotan-2 is built from
(2.19.3; "+dfsg" is upstream's release without src/lib/prov/pkcs11, per
Debian's copyright file, a module aequor does not compile).
tools/fetch_sources.sh downloads it into the distdir and checks the hash.
"""

ARCHIVE = {
    "urls": ["http://deb.debian.org/debian/pool/main/b/botan/botan_2.19.3+dfsg.orig.tar.xz"],
    "sha256": "a9005fe9965123f9613f5bc87d2a38b8cc33e8789cf8e82696dae8f07d1cb959",
    "strip_prefix": "botan-2.19.3+dfsg",
    "file": "botan_2.19.3+dfsg.orig.tar.xz",
}
