"""The sandbox's known sentences (egress_app/sandbox/assets/speech.json) and how many of their
words a transcript holds."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "egress_app" / "sandbox" / "assets"


def sentences(identity: str) -> list[str]:
    manifest = json.loads((ASSETS / "speech.json").read_text())
    return list(manifest["participants"][identity]["sentences"])


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def recognised(identity: str, heard: str) -> float:
    """The share of `identity`'s sentence words found in `heard` (each counted once per use)."""
    wanted = Counter(w for sentence in sentences(identity) for w in words(sentence))
    found = Counter(words(heard))
    return sum(min(n, found[w]) for w, n in wanted.items()) / sum(wanted.values())
