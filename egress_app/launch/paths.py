"""Paths as egress reads them (livekit/egress pkg/config/output_file.go, Go's path package)."""

from __future__ import annotations

import posixpath


def clean_path(path: str) -> str:
    """A path as egress cleans it before use (pkg/config/output_file.go `clean`)."""
    ending_slash = path.endswith("/")
    path = posixpath.normpath(path) if path else ""
    if path.startswith("//"):  # POSIX keeps exactly two leading slashes; Go's path.Clean does not
        path = path[1:]
    while path.startswith("../"):
        path = path[3:]
    if path in ("", ".", ".."):
        return ""
    return f"{path}/" if ending_slash else path


def split_path(path: str) -> tuple[str, str]:
    """Go's path.Split: the directory with its trailing slash, and the name."""
    cut = path.rfind("/") + 1
    return path[:cut], path[cut:]


def without_extension(name: str) -> str:
    """The name without what follows its last dot: egress's removeKnownExtension drops it,
    known or not."""
    return name.rpartition(".")[0] if "." in name else name
