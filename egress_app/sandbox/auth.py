"""Access-token checks as LiveKit's APIKeyAuthMiddleware and grant helpers do them."""

from __future__ import annotations

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


def verify(token: str, api_key: str, api_secret: str) -> Grants:
    if not token:
        return NO_GRANTS
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
