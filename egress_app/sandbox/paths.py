"""Output paths as egress cleans them (E:pkg/config/output_file.go `clean`), on Go's `path`.

Ported from the Go source rather than built on `posixpath`, whose `normpath` keeps a leading
`//` (POSIX leaves its meaning to the system) where Go's `path.Clean` makes it `/`.
"""

from __future__ import annotations


def go_clean(path: str) -> str:
    """Go's path.Clean (src/path/path.go): the shortest lexically equivalent path, "." for none."""
    rooted = path.startswith("/")
    elements = _resolve(path.split("/"), rooted)
    cleaned = "/".join(elements)
    if rooted:
        return f"/{cleaned}"
    return cleaned or "."


def _resolve(elements: list[str], rooted: bool) -> list[str]:
    # Clean's rules 1-4: drop empty and "." elements, let ".." eat the element before it, and
    # keep a leading ".." only where there is no root for it to stop at.
    kept: list[str] = []
    for element in elements:
        if element in ("", "."):
            continue
        if element != "..":
            kept.append(element)
        elif kept and kept[-1] != "..":
            kept.pop()
        elif not rooted:
            kept.append("..")
    return kept


def clean(filepath: str) -> str:
    """E:pkg/config/output_file.go clean: no "../" escape, "" for nothing, the ending slash kept."""
    ending_slash = filepath.endswith("/")
    filepath = go_clean(filepath)
    while filepath.startswith("../"):
        filepath = filepath[3:]
    if filepath in ("", ".", ".."):
        return ""
    return f"{filepath}/" if ending_slash else filepath


def split(path: str) -> tuple[str, str]:
    """Go's path.Split: the directory with its trailing slash, and the name."""
    cut = path.rfind("/") + 1
    return path[:cut], path[cut:]
