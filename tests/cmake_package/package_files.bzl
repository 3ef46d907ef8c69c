"""package_files: the files a CMake build of a Bazel library needs, as data.

    package_files(
        name = "aequor_files",
        library = ["//:aequor"],
        srcs = ["//:CMakeLists.txt", ...],
    )

Its runfiles are the sources and headers of every cc_library of this
repository that `library` depends on (other repositories, e.g. @aequor_system, are
left out) plus `srcs`; its output is a manifest of their paths relative to
the workspace, one a line, "library <path>" or "extra <path>". A test copies
them into a tree of its own and builds it, and compares the library's list
with the lists of the CMake build.
"""

_LibraryFilesInfo = provider(fields = ["files"])

def _library_files_impl(target, ctx):
    direct = []
    if target.label.workspace_name == "":
        for attr in ["srcs", "hdrs"]:
            direct += [f for f in getattr(ctx.rule.files, attr, []) if f.is_source]
    transitive = [
        dep[_LibraryFilesInfo].files
        for dep in getattr(ctx.rule.attr, "deps", [])
        if _LibraryFilesInfo in dep
    ]
    return [_LibraryFilesInfo(files = depset(direct, transitive = transitive))]

_library_files = aspect(
    implementation = _library_files_impl,
    attr_aspects = ["deps"],
)

def _package_files_impl(ctx):
    library = depset(transitive = [t[_LibraryFilesInfo].files for t in ctx.attr.library])
    lines = ["library " + f.short_path for f in library.to_list()]
    lines += ["extra " + f.short_path for f in ctx.files.srcs]
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest")
    ctx.actions.write(manifest, "\n".join(sorted(lines)) + "\n")
    runfiles = ctx.runfiles(files = [manifest] + ctx.files.srcs, transitive_files = library)
    return [DefaultInfo(files = depset([manifest]), runfiles = runfiles)]

package_files = rule(
    implementation = _package_files_impl,
    attrs = {
        "library": attr.label_list(aspects = [_library_files]),
        "srcs": attr.label_list(allow_files = True),
    },
)
