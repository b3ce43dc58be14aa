"""LiveKit access tokens: HS256 JWTs signed with the API secret."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import jwt
from jwt.algorithms import HMACAlgorithm

# PyJWT warns on every call when an HMAC key is under 32 bytes, which LiveKit's dev secret
# ("secret") is. HMAC pads keys with zero bytes to the block size (RFC 2104), so padding to 32
# bytes here signs and verifies exactly the same tokens without the per-call warning.
_MIN_HMAC_KEY = 32


def hmac_key(api_secret: str) -> bytes:
    return api_secret.encode().ljust(_MIN_HMAC_KEY, b"\0")


class _CheckedOnceHMAC(HMACAlgorithm):
    """PyJWT's HMAC, which checks that a secret is no PEM, DER or JWK key (by trying to parse it
    as each) on every token it signs or verifies: some 7 µs, a quarter of checking a webhook's
    token. The same checks run, once for each of the few secrets a process uses."""

    def prepare_key(self, key: str | bytes) -> bytes:
        return _prepared_hmac_key(key)


@functools.lru_cache(maxsize=16)
def _prepared_hmac_key(key: str | bytes) -> bytes:
    return HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)  # the same for every SHA


jwt.unregister_algorithm("HS256")
jwt.register_algorithm("HS256", _CheckedOnceHMAC(HMACAlgorithm.SHA256))


def create_access_token(
    api_key: str,
    api_secret: str,
    *,
    video: dict[str, object],
    identity: str = "",
    ttl: timedelta = timedelta(minutes=10),
    sha256: str | None = None,
    issued_at: float | None = None,
) -> str:
    """A token LiveKit accepts: iss=api_key, sub=identity, nbf=now, exp=now+ttl, `video` grant.

    Grant keys are LiveKit's camelCase names (`roomRecord`, `roomAdmin`, `room`); snake_case
    keys are converted. `issued_at` (Unix seconds) is now unless given.
    """
    now = time.time() if issued_at is None else issued_at
    claims: dict[str, object] = {
        "iss": api_key,
        "nbf": int(now),
        "exp": int(now + ttl.total_seconds()),
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


GrantKey = tuple[str, tuple[tuple[str, object], ...]]


class TokenCache:
    """Tokens for one API key, each reused for `reuse` of its `ttl`, per grant and identity.

    Signing costs tens of microseconds, as much as the rest of a call to a nearby LiveKit, and
    a server API call's token says only who may do what: the same grant signed a minute ago is
    as good as a new one. A token is never handed out within `ttl - reuse` of its expiry, which
    leaves a slow call (Start may take 75 s) and some clock skew room to spare. Safe to share
    between threads and event loops.
    """

    MAX_ENTRIES = 512  # grants naming a room make one entry per room

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        ttl: timedelta = timedelta(minutes=10),
        reuse: timedelta = timedelta(minutes=8),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not timedelta(0) <= reuse < ttl:
            raise ValueError("a token may be reused only for part of its lifetime")
        self._api_key = api_key
        self._api_secret = api_secret
        self._ttl = ttl
        self._reuse = reuse.total_seconds()
        self._clock = clock
        self._tokens: dict[GrantKey, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, video: dict[str, object], identity: str = "") -> str:
        """A valid token carrying exactly `video` (and `identity`), signed now or recently."""
        key = (identity, tuple(sorted(video.items())))
        now = self._clock()
        cached = self._tokens.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
        with self._lock:
            cached = self._tokens.get(key)  # another thread may have just signed it
            if cached is not None and now < cached[1]:
                return cached[0]
            if len(self._tokens) >= self.MAX_ENTRIES:
                self._forget_stale(now)
            token = create_access_token(
                self._api_key,
                self._api_secret,
                video=video,
                identity=identity,
                ttl=self._ttl,
                issued_at=now,
            )
            self._tokens[key] = (token, now + self._reuse)
        return token

    def _forget_stale(self, now: float) -> None:
        self._tokens = {key: entry for key, entry in self._tokens.items() if now < entry[1]}
        while len(self._tokens) >= self.MAX_ENTRIES:
            del self._tokens[next(iter(self._tokens))]
