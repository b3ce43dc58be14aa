"""Verifying LiveKit's signed webhooks (protocol doc §4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

import jwt
from google.protobuf import json_format
from livekit.protocol import webhook

from egress_app.livekit.tokens import hmac_key


class WebhookVerificationError(Exception):
    """The webhook was refused; `reason` says why in a few words (safe to show and log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_webhook(
    body: bytes,
    authorization: str | None,
    *,
    api_key: str,
    api_secret: str,
    leeway: int = 60,
) -> webhook.WebhookEvent:
    """Check the JWT in `Authorization` and the body's sha256 claim, then parse the event.

    LiveKit sends the raw JWT (no "Bearer "), signed HS256 by `api_key`, valid 5 minutes, whose
    `sha256` claim is base64(sha256(body)).
    """
    token = _token(authorization)
    if not api_key or not api_secret:
        raise WebhookVerificationError("no LiveKit API key and secret configured")
    claims = _claims(token, api_key, api_secret, leeway)
    _check_body_hash(body, claims.get("sha256"))
    return _parse(body)


def _token(authorization: str | None) -> str:
    token = (authorization or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise WebhookVerificationError("missing Authorization header")
    return token


def _claims(token: str, api_key: str, api_secret: str, leeway: int) -> dict[str, object]:
    try:
        return jwt.decode(
            token,
            hmac_key(api_secret),
            algorithms=["HS256"],
            issuer=api_key,
            leeway=leeway,
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise WebhookVerificationError("token expired") from None
    except jwt.ImmatureSignatureError:
        raise WebhookVerificationError("token not yet valid") from None
    except jwt.InvalidIssuerError:
        raise WebhookVerificationError("wrong issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        reason = "wrong issuer" if exc.claim == "iss" else "token has no expiry"
        raise WebhookVerificationError(reason) from None
    except jwt.InvalidSignatureError:
        raise WebhookVerificationError("invalid signature") from None
    except jwt.InvalidAlgorithmError:
        # Only HS256 is acceptable; "none" or RS256 tokens are not signed with our secret.
        raise WebhookVerificationError("invalid signature") from None
    except jwt.InvalidTokenError:
        raise WebhookVerificationError("malformed token") from None


def _check_body_hash(body: bytes, claim: object) -> None:
    if not isinstance(claim, str) or not claim:
        raise WebhookVerificationError("sha256 claim missing")
    try:
        expected = base64.b64decode(claim, validate=True)
    except (binascii.Error, ValueError):
        expected = b""
    if not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
        raise WebhookVerificationError("body does not match sha256 claim")


def _parse(body: bytes) -> webhook.WebhookEvent:
    # As `json_format.Parse`, without its check for keys given twice (a Python call for each
    # object, a tenth of the parse): the body is the one LiveKit signed, and Go's protojson
    # writes each field once.
    try:
        event = json.loads(body.decode())
        if isinstance(event, dict):  # an event is an object; json_format fails on a number
            return json_format.ParseDict(event, webhook.WebhookEvent(), ignore_unknown_fields=True)
    except (ValueError, RecursionError, json_format.ParseError):
        pass
    raise WebhookVerificationError("malformed event body")
