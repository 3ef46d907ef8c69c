"""Offline stand-in for @bazel_skylib//lib:selects.bzl.

Only what upstream Abseil 20220623's BUILD files use:
selects.config_setting_group(name, match_any = [...]), a setting that
matches when any of the listed config_settings matches. Written for
aequor's hermetic mode; a workspace that declares the real bazel_skylib
before aequor_dependencies() uses that one instead.
"""

def _config_setting_group(name, match_any = [], match_all = [], visibility = None):
    if match_all:
        fail("%s: this stand-in for @bazel_skylib implements match_any only; declare the real bazel_skylib for match_all" % name)
    if not match_any:
        fail("%s: config_setting_group needs match_any" % name)

    # The group is an alias of whichever listed setting matches (an alias of
    # a config_setting is itself a select() key), or of a setting that never
    # matches. Like upstream, the listed settings must not match together.
    never = name + "__never_matches"
    native.config_setting(
        name = never,
        values = {"define": "aequor_bazel_skylib_stand_in_never_matches=" + name},
        visibility = ["//visibility:private"],
    )
    conditions = {setting: setting for setting in match_any}
    conditions["//conditions:default"] = ":" + never
    native.alias(
        name = name,
        actual = select(conditions),
        visibility = visibility,
    )

selects = struct(config_setting_group = _config_setting_group)
