"""Path cleaning ported from Go: Go's own test tables, then egress's `clean` on top of it."""

from __future__ import annotations

import pytest

from egress_app.sandbox.paths import clean, go_clean, split

# src/path/path_test.go cleantests
GO_CLEAN = [
    ("", "."),
    ("abc", "abc"),
    ("abc/def", "abc/def"),
    ("a/b/c", "a/b/c"),
    (".", "."),
    ("..", ".."),
    ("../..", "../.."),
    ("../../abc", "../../abc"),
    ("/abc", "/abc"),
    ("/", "/"),
    ("abc/", "abc"),
    ("abc/def/", "abc/def"),
    ("a/b/c/", "a/b/c"),
    ("./", "."),
    ("../", ".."),
    ("../../", "../.."),
    ("/abc/", "/abc"),
    ("abc//def//ghi", "abc/def/ghi"),
    ("//abc", "/abc"),
    ("///abc", "/abc"),
    ("//abc//", "/abc"),
    ("abc//", "abc"),
    ("abc/./def", "abc/def"),
    ("/./abc/def", "/abc/def"),
    ("abc/.", "abc"),
    ("abc/def/ghi/../jkl", "abc/def/jkl"),
    ("abc/def/../ghi/../jkl", "abc/jkl"),
    ("abc/def/..", "abc"),
    ("abc/def/../..", "."),
    ("/abc/def/../..", "/"),
    ("abc/def/../../..", ".."),
    ("/abc/def/../../..", "/"),
    ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
    ("abc/./../def", "def"),
    ("abc//./../def", "def"),
    ("abc/../../././../def", "../../def"),
]


@pytest.mark.parametrize(("path", "cleaned"), GO_CLEAN)
def test_it_cleans_like_go(path: str, cleaned: str) -> None:
    assert go_clean(path) == cleaned
    assert go_clean(cleaned) == cleaned


@pytest.mark.parametrize(
    ("path", "parts"),
    [("a/b", ("a/", "b")), ("a/b/", ("a/b/", "")), ("a/", ("a/", "")), ("a", ("", "a"))],
)
def test_it_splits_like_go(path: str, parts: tuple[str, str]) -> None:
    assert split(path) == parts  # src/path/path_test.go splittests


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        ("", ""),
        (".", ""),
        ("..", ""),
        ("../../x.mp4", "x.mp4"),
        ("a/../../b/", "b/"),
        ("recordings//{room_name}/./x.mp4", "recordings/{room_name}/x.mp4"),
        ("recordings/", "recordings/"),
        ("//recordings/x.mp4", "/recordings/x.mp4"),
        ("/", "//"),  # the root keeps clean's ending slash too
    ],
)
def test_it_cleans_output_paths_like_egress(path: str, cleaned: str) -> None:
    assert clean(path) == cleaned
