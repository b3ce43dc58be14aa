"""Identifiers shaped like LiveKit's (`EG_`, `RM_`, `PA_`, `TR_`, `EV_` + 12 base57 characters)."""

from __future__ import annotations

import secrets
import time

# shortuuid's alphabet, as used by livekit/protocol utils/guid.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(12))


def now_ns() -> int:
    return time.time_ns()
