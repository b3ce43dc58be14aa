"""Identifiers shaped like LiveKit's (`EG_`, `RM_`, `PA_`, `TR_`, `EV_` + 12 base57 characters)."""

from __future__ import annotations

import secrets
import time

# shortuuid's alphabet, as used by livekit/protocol utils/guid.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


_BASE = len(ALPHABET)
_IDS = _BASE**12


def new_id(prefix: str) -> str:
    # One draw of 12 base57 digits (uniform, as 12 draws of one digit): a call to the system's
    # random source per id rather than per character.
    number = secrets.randbelow(_IDS)
    digits = []
    for _ in range(12):
        number, digit = divmod(number, _BASE)
        digits.append(ALPHABET[digit])
    return prefix + "".join(digits)


def now_ns() -> int:
    return time.time_ns()
