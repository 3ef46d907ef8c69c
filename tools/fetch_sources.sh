#!/usr/bin/env bash
# Downloads the source archives of aequor's hermetic mode (docs/BUILDING.md)
# into a distdir, once, and checks each one's sha256 against its pin.
#
#   tools/fetch_sources.sh [DISTDIR]
#
# Every third_party/*/archive.bzl declares one archive:
#   ARCHIVE = {"urls": [...], "sha256": "...", "strip_prefix": "...", "file": "<basename>"}
# DISTDIR defaults to third_party/distdir in the checkout (git-ignored), the
# directory bazel/hermetic.bazelrc passes to Bazel as --distdir, so that
# `bazel build --config=hermetic` needs no network afterwards. An archive
# already there with the pinned hash is not downloaded again.
#
# Exit status: 0 when every archive is in DISTDIR with its pinned sha256; 1
# otherwise, with one line per archive that is wrong naming the file, the
# expected and the actual hash (a mismatching file is left in place for
# inspection and never used: Bazel checks the hash too).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
distdir="${1:-$root/third_party/distdir}"

for tool in curl sha256sum python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch_sources: $tool not found (Debian packages: curl, coreutils, python3)" >&2
    exit 1
  fi
done
mkdir -p "$distdir" || { echo "fetch_sources: cannot create $distdir" >&2; exit 1; }

# One line per archive.bzl: "<archive.bzl> <file> <sha256> <url> [<url>...]".
# archive.bzl is Starlark; a docstring and one dict literal are also Python.
archives="$(python3 - "$root"/third_party/*/archive.bzl <<'EOF'
import ast, sys
for path in sys.argv[1:]:
    tree = ast.parse(open(path).read(), path)
    archive = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["ARCHIVE"]:
            archive = ast.literal_eval(node.value)
    if archive is None:
        sys.exit("fetch_sources: %s: no ARCHIVE = {...}" % path)
    missing = [k for k in ("urls", "sha256", "file") if not archive.get(k)]
    if missing:
        sys.exit("fetch_sources: %s: ARCHIVE lacks %s" % (path, ", ".join(missing)))
    print(path, archive["file"], archive["sha256"], *archive["urls"])
EOF
)" || exit 1

failed=0
while read -r bzl file sha256 urls; do
  target="$distdir/$file"
  name="${bzl#"$root"/}"
  if [[ ! -e "$target" ]]; then
    fetched=0
    for url in $urls; do
      if curl -fsSL --retry 3 -o "$target.part" "$url"; then
        mv "$target.part" "$target"
        fetched=1
        break
      fi
      echo "fetch_sources: $url: download failed" >&2
    done
    rm -f "$target.part"
    if [[ "$fetched" -ne 1 ]]; then
      echo "fetch_sources: $file ($name): no URL could be downloaded" >&2
      failed=1
      continue
    fi
    state="downloaded"
  else
    state="already there"
  fi
  actual="$(sha256sum "$target" | cut -d' ' -f1)"
  if [[ "$actual" != "$sha256" ]]; then
    echo "fetch_sources: $target: sha256 $actual, but $name pins $sha256; remove the file and run again, or check the pin" >&2
    failed=1
    continue
  fi
  echo "fetch_sources: $file: $state, sha256 OK"
done <<<"$archives"
exit "$failed"
