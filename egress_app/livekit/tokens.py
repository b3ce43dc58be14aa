"""LiveKit access tokens: HS256 JWTs signed with the API secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

# PyJWT warns on every call when an HMAC key is under 32 bytes, which LiveKit's dev secret
# ("secret") is. HMAC pads keys with zero bytes to the block size (RFC 2104), so padding to 32
# bytes here signs and verifies exactly the same tokens without the per-call warning.
_MIN_HMAC_KEY = 32


def hmac_key(api_secret: str) -> bytes:
    return api_secret.encode().ljust(_MIN_HMAC_KEY, b"\0")


def create_access_token(
    api_key: str,
    api_secret: str,
    *,
    video: dict[str, object],
    identity: str = "",
    ttl: timedelta = timedelta(minutes=10),
    sha256: str | None = None,
) -> str:
    """A token LiveKit accepts: iss=api_key, sub=identity, nbf=now, exp=now+ttl, `video` grant.

    Grant keys are LiveKit's camelCase names (`roomRecord`, `roomAdmin`, `room`); snake_case
    keys are converted.
    """
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": api_key,
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "video": {_camel(key): value for key, value in video.items()},
    }
    if identity:
        claims["sub"] = identity
    if sha256 is not None:
        claims["sha256"] = sha256
    return jwt.encode(claims, hmac_key(api_secret), algorithm="HS256")


def _camel(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(word.capitalize() for word in rest)
