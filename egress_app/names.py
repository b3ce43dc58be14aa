"""The names people give storage profiles, stream destinations and recipes.

A producer picks one from a list by how it looks, so two names that look the same must be the
same name: `clean` keeps what a person can see (NFKC, no control or invisible characters, one
space between words) and `looks_like` is what uniqueness compares, case folded and with each
letter of another script that is drawn like a Latin one (Cyrillic A, U+0410, or Greek O,
U+039F) read as that Latin letter. The look-alike table is Unicode's own (confusables.txt,
through confusable-homoglyphs).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

# Control (NUL, escapes), format (zero-width spaces and joiners, bidi overrides, BOM), private
# use, surrogates and unassigned code points: nothing a person sees in a list.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn"}
_PLAIN_SCRIPTS = {"LATIN", "COMMON"}


def clean(raw: str) -> str:
    """The name as it is stored: what a person sees of `raw`, spaces collapsed."""
    text = unicodedata.normalize("NFKC", raw)
    visible = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in _INVISIBLE
    )
    return " ".join(visible.split())


def same(one: str, other: str) -> bool:
    """Whether a person could take one name for the other, whatever its case."""
    return one.casefold() == other.casefold() or looks_like(one) == looks_like(other)


def looks_like(name: str) -> str:
    """What `name` looks like: equal for two names a person could not tell apart."""
    # Letters are read as Latin before case folding: a folded Greek capital beta
    # (U+0392, drawn like B) is a small beta, drawn like a German sharp s.
    return "".join(_plain(char) for char in clean(name)).casefold()


@lru_cache(maxsize=4096)
def _plain(char: str) -> str:
    if categories.alias(char) in _PLAIN_SCRIPTS:
        return char
    for found in confusables.is_confusable(char, preferred_aliases=[]) or []:
        for glyph in found["homoglyphs"]:
            if all(categories.alias(g) in _PLAIN_SCRIPTS for g in glyph["c"]):
                return str(glyph["c"])
    return char
