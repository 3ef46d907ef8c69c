"""aequor_botan_repositories(): the Botan 2 that aequor builds against.

Called by aequor_dependencies() (bazel/repositories.bzl).
"""

def aequor_botan_repositories():
    """Declares the Botan repositories aequor needs (none yet)."""
    pass
