"""Access-token checks as LiveKit's APIKeyAuthMiddleware and grant helpers do them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt

from egress_app.sandbox.asgi import Scope, header
from egress_app.sandbox.errors import permission_denied

BEARER = "Bearer "
LEEWAY_SECONDS = 60
# L:pkg/service/auth.go
MSG_MISSING_BEARER = "invalid authorization header. Must start with " + BEARER
MSG_INVALID_TOKEN = "invalid authorization token"


class AuthError(Exception):
    """Rejected by the middleware: HTTP 401 with a plain-text body (not Twirp JSON)."""


@dataclass(frozen=True)
class Grants:
    claims: dict[str, Any]

    @property
    def video(self) -> dict[str, Any]:
        video = self.claims.get("video")
        return video if isinstance(video, dict) else {}

    def require(self, grant: str) -> None:
        if not self.video.get(grant):
            raise permission_denied()

    def require_admin(self, room: str) -> None:
        if not self.video.get("roomAdmin") or self.video.get("room", "") != room:
            raise permission_denied()


NO_GRANTS = Grants({})


def _go_jose_reason(exc: jwt.PyJWTError) -> str:
    # Phrased like go-jose, whose messages LiveKit passes through.
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "go-jose/go-jose/jwt: validation failed, token is expired (exp)"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"go-jose/go-jose/jwt: validation failed, missing {exc.claim} claim"
    if isinstance(exc, jwt.InvalidSignatureError | jwt.InvalidAlgorithmError):
        return "go-jose/go-jose: error in cryptographic primitive"
    return f"go-jose/go-jose/jwt: {exc}"


def token_from(scope: Scope) -> str:
    """The bearer token of a request; raises AuthError for a non-Bearer Authorization header."""
    authorization = header(scope, "authorization")
    if authorization:
        if not authorization.startswith(BEARER):
            raise AuthError(MSG_MISSING_BEARER)
        return authorization[len(BEARER) :]
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    return query.get("access_token", [""])[0]


# Tokens that verified, with the span of Unix seconds their time claims allow: a client sends
# the same token on many calls, and re-checking its signature answers the same way each time.
# Only the clock can change the verdict, so each use re-checks the times (outside them, the full
# check runs again and says why). What LiveKit decides for any token is unchanged.
_VERIFIED: dict[tuple[str, str, str], tuple[Grants, float, float]] = {}
_MAX_VERIFIED = 1024


def verify(token: str, api_key: str, api_secret: str) -> Grants:
    if not token:
        return NO_GRANTS
    key = (token, api_key, api_secret)
    cached = _VERIFIED.get(key)
    if cached is not None:
        grants, earliest, latest = cached
        if earliest <= time.time() < latest:
            return grants
        _VERIFIED.pop(key, None)
    grants = _verify(token, api_key, api_secret)
    if len(_VERIFIED) >= _MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[key] = (grants, *_valid_span(grants.claims))
    return grants


def _valid_span(claims: dict[str, Any]) -> tuple[float, float]:
    # PyJWT's checks with the leeway: exp > now - leeway, nbf and iat <= now + leeway.
    earliest = max(
        (int(claims[name]) for name in ("nbf", "iat") if name in claims), default=float("-inf")
    )
    return earliest - LEEWAY_SECONDS, int(claims["exp"]) + LEEWAY_SECONDS


def _verify(token: str, api_key: str, api_secret: str) -> Grants:
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError(MSG_INVALID_TOKEN) from exc
    issuer = str(unverified.get("iss", ""))
    if issuer != api_key:
        raise AuthError(f"invalid API key: {issuer}")
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            issuer=api_key,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        # LiveKit echoes the token in this message; the sandbox never logs it.
        raise AuthError(f"invalid token: {token}, error: {_go_jose_reason(exc)}") from exc
    return Grants(claims)


def authenticate(scope: Scope, api_key: str, api_secret: str) -> Grants:
    return verify(token_from(scope), api_key, api_secret)
