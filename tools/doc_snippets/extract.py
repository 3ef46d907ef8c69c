#!/usr/bin/env python3
"""Extracts the C++ blocks of Markdown files into one C++ file that compiles them.

Every ```cpp (or ```c++) block must have, on the line before it, an HTML comment
saying how it is checked (docs/TESTING.md, "Code in the docs"):

  <!-- snippet: file -->                 declarations at namespace scope
  <!-- snippet: body -->                 statements, in a function returning absl::Status
  <!-- snippet: body prelude=builder --> the same, with the names a prelude provides

An optional id=NAME names the block's namespace so that a test can call what it
defines (doc_snippets::NAME::...); without one the namespace is named after the
file and line (doc_snippets::readme_l232). A `body` block becomes
doc_snippets::<namespace>::Snippet, a struct derived from
doc_snippets::prelude::<Prelude> (tests/docs/snippet_preludes.h) whose Run()
holds the statements. The blocks' #include lines are moved to the top of the
output. #line directives make a compile error name the Markdown file and
line.

A block without an annotation, an annotation without a block, an unknown kind
or option, or a repeated id is an error naming file:line; the output is then
not written, so the build fails.

Usage: extract.py --out OUT.inc FILE.md...
"""

import argparse
import os
import re
import sys

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
CPP_LANGUAGES = {"cpp", "c++", "cc", "cxx"}
ANNOTATION = re.compile(r"^\s*<!--\s*snippet:(.*?)-->\s*$")
ANNOTATION_START = re.compile(r"^\s*<!--\s*snippet\b")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KINDS = {"file": {"id"}, "body": {"id", "prelude"}}
INCLUDE = re.compile(r"^\s*#\s*include\b")
HOW_TO = ("put <!-- snippet: file --> or <!-- snippet: body prelude=NAME --> on the line "
          "before it (docs/TESTING.md, \"Code in the docs\")")


class Block:
    def __init__(self, path, fence_line, kind, options, lines):
        self.path = path              # as given, e.g. README.md
        self.fence_line = fence_line  # 1-based line of the opening fence
        self.kind = kind
        self.options = options
        self.lines = lines            # the code, without the fences

    def namespace(self):
        if "id" in self.options:
            return self.options["id"]
        stem = re.sub(r"[^A-Za-z0-9]+", "_", os.path.splitext(self.path)[0]).strip("_").lower()
        return "%s_l%d" % (stem, self.fence_line)

    def prelude_class(self):
        name = self.options.get("prelude", "none")
        return "".join(part.capitalize() for part in name.split("_"))


def parse_annotation(text, where, errors):
    """Returns (kind, options) from the inside of <!-- snippet: ... -->, or None."""
    words = text.split()
    if not words:
        errors.append("%s: empty snippet annotation; kinds: %s" % (where, ", ".join(sorted(KINDS))))
        return None
    kind = words[0]
    if kind not in KINDS:
        errors.append("%s: unknown snippet kind '%s'; kinds: %s" %
                      (where, kind, ", ".join(sorted(KINDS))))
        return None
    options = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not value:
            errors.append("%s: snippet option '%s' is not key=value" % (where, word))
        elif key not in KINDS[kind]:
            errors.append("%s: a '%s' snippet takes no option '%s'; it takes: %s" %
                          (where, kind, key, ", ".join(sorted(KINDS[kind]))))
        elif not IDENTIFIER.match(value):
            errors.append("%s: snippet option %s='%s' is not a C++ identifier" % (where, key, value))
        elif key in options:
            errors.append("%s: snippet option '%s' given twice" % (where, key))
        else:
            options[key] = value
    return kind, options


def scan(path, text, errors):
    """Returns the annotated C++ blocks of one Markdown file."""
    blocks = []
    lines = text.split("\n")
    pending = None  # (line number, kind, options) of an annotation not yet used
    i = 0
    while i < len(lines):
        line = lines[i]
        number = i + 1
        where = "%s:%d" % (path, number)
        fence = FENCE.match(line)
        if fence:
            marker, language = fence.group(2), fence.group(3).lower()
            end = i + 1
            while end < len(lines) and not re.match(
                    r"^\s*" + re.escape(marker[0]) + "{%d,}\\s*$" % len(marker), lines[end]):
                end += 1
            if end == len(lines):
                errors.append("%s: code block is never closed" % where)
            if language in CPP_LANGUAGES:
                if pending is None:
                    errors.append("%s: ```%s block has no snippet annotation; %s" %
                                  (where, fence.group(3), HOW_TO))
                elif pending[1] is not None:
                    blocks.append(Block(path, number, pending[1], pending[2], lines[i + 1:end]))
            elif pending is not None:
                errors.append("%s:%d: snippet annotation is followed by a ```%s block, not C++" %
                              (path, pending[0], language))
            pending = None
            i = end + 1
            continue
        if ANNOTATION_START.match(line):
            if pending is not None:
                errors.append("%s:%d: snippet annotation is not followed by a C++ block" %
                              (path, pending[0]))
            annotation = ANNOTATION.match(line)
            if not annotation:
                errors.append("%s: a snippet annotation must be one line: <!-- snippet: KIND ... -->"
                              % where)
                pending = (number, None, None)
            else:
                parsed = parse_annotation(annotation.group(1), where, errors)
                pending = (number,) + (parsed if parsed else (None, None))
        elif line.strip() and pending is not None:
            errors.append("%s:%d: snippet annotation is not followed by a C++ block" %
                          (path, pending[0]))
            pending = None
        i += 1
    if pending is not None:
        errors.append("%s:%d: snippet annotation is not followed by a C++ block" % (path, pending[0]))
    return blocks


class Writer:
    """Accumulates the output and knows its own line numbers (for #line)."""

    def __init__(self, out_name):
        self.out_name = out_name
        self.lines = []

    def add(self, line=""):
        self.lines.append(line)

    def back_to_self(self):
        # The line after the directive is line len+2 of the output.
        self.lines.append('#line %d "%s"' % (len(self.lines) + 2, self.out_name))

    def at(self, path, line):
        self.lines.append('#line %d "%s"' % (line, path))


def generate(blocks, out_name):
    w = Writer(out_name)
    w.add("// Generated by tools/doc_snippets/extract.py from the C++ blocks of:")
    for path in sorted({b.path for b in blocks}):
        w.add("//   %s" % path)
    w.add("// Do not edit: edit the Markdown. Included by one test (tests/docs).")
    w.add('#include "tests/docs/snippet_preludes.h"')
    w.add()
    # The blocks' #include lines, where C++ allows them.
    for b in blocks:
        for offset, code in enumerate(b.lines):
            if INCLUDE.match(code):
                w.at(b.path, b.fence_line + 1 + offset)
                w.add(code)
    w.back_to_self()
    w.add()
    w.add("namespace doc_snippets {")
    for b in blocks:
        ns = b.namespace()
        w.add()
        w.add("// %s:%d (%s)" % (b.path, b.fence_line, b.kind))
        w.add("namespace %s {" % ns)
        if b.kind == "body":
            w.at(b.path, b.fence_line - 1)  # the annotation: an unknown prelude is named there
            w.add("using Prelude = ::doc_snippets::prelude::%s;" % b.prelude_class())
            w.back_to_self()
            w.add("struct Snippet : Prelude {")
            w.add("  using Prelude::Prelude;")
            w.add("  absl::Status Run() {")
        w.at(b.path, b.fence_line + 1)
        for code in b.lines:
            w.add("" if INCLUDE.match(code) else code)
        w.back_to_self()
        if b.kind == "body":
            w.add("    return absl::OkStatus();")
            w.add("  }")
            w.add("};")
        w.add("}  // namespace %s" % ns)
    w.add()
    w.add("}  // namespace doc_snippets")
    return "\n".join(w.lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the C++ file to write")
    parser.add_argument("markdown", nargs="+", help="Markdown files, as paths from the workspace")
    args = parser.parse_args(argv)
    errors = []
    blocks = []
    for path in args.markdown:
        with open(path, encoding="utf-8") as f:
            blocks.extend(scan(path, f.read(), errors))
    seen = {}
    for b in blocks:
        ns = b.namespace()
        if ns in seen:
            errors.append("%s:%d: snippet namespace '%s' is already used at %s" %
                          (b.path, b.fence_line - 1, ns, seen[ns]))
        seen[ns] = "%s:%d" % (b.path, b.fence_line - 1)
    if errors:
        for e in errors:
            print("error: " + e, file=sys.stderr)
        print("doc_snippets: %d error(s) in the C++ blocks of %d Markdown file(s)" %
              (len(errors), len(args.markdown)), file=sys.stderr)
        return 1
    # In #line directives, the output's path from the workspace (Bazel gives
    # bazel-out/<config>/bin/<package>/<name>).
    out_name = args.out.split("/bin/", 1)[-1]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(generate(blocks, out_name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
