from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from datetime import timedelta

import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, WebhookReceiver
from livekit.protocol import egress

from egress_app.livekit import LiveKitClient, WebhookVerificationError, verify_webhook
from egress_app.livekit.tokens import hmac_key
from egress_app.sandbox.testing import RunningSandbox
from tests.livekit.conftest import Recorded

KEY, SECRET = "devkey", "secret"


# Shaped like LiveKit's protojson: camelCase keys, defaults omitted, int64 as strings.
BODY = json.dumps(
    {
        "event": "egress_ended",
        "room": {"sid": "RM_abc", "name": "town-hall"},
        "egressInfo": {
            "egressId": "EG_abc",
            "roomName": "town-hall",
            "status": "EGRESS_COMPLETE",
            "startedAt": "1755000000000000000",
            "endedAt": "1755000060000000000",
            "fileResults": [{"filename": "town-hall.mp4", "size": "1024"}],
            "details": "End reason: StopEgress API",
        },
        "id": "EV_abc",
        "createdAt": "1755000060",
    }
).encode()


def body_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign(body: bytes, *, key: str = KEY, secret: str = SECRET, minutes: float = 5) -> str:
    """A webhook token exactly as LiveKit makes it, built by the official SDK."""
    token = AccessToken(key, secret).with_ttl(timedelta(minutes=minutes))
    return token.with_sha256(body_hash(body)).to_jwt()


def verify(body: bytes, authorization: str | None) -> object:
    return verify_webhook(body, authorization, api_key=KEY, api_secret=SECRET)


def refusal(body: bytes, authorization: str | None) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, authorization)
    return caught.value.reason


def test_it_accepts_a_webhook_signed_like_livekit() -> None:
    event = verify_webhook(BODY, sign(BODY), api_key=KEY, api_secret=SECRET)

    assert event.event == "egress_ended"
    assert event.id == "EV_abc"
    assert event.created_at == 1755000060
    assert event.egress_info.egress_id == "EG_abc"
    assert event.egress_info.status == 3
    assert event.egress_info.file_results[0].size == 1024


def test_it_agrees_with_the_sdk_receiver() -> None:
    token = sign(BODY)

    ours = verify_webhook(BODY, token, api_key=KEY, api_secret=SECRET)
    sdk = WebhookReceiver(TokenVerifier(KEY, SECRET)).receive(BODY.decode(), token)

    assert ours == sdk


def test_it_tolerates_a_bearer_prefix() -> None:
    assert verify(BODY, f"Bearer {sign(BODY)}").event == "egress_ended"


def test_it_ignores_unknown_json_fields() -> None:
    body = json.dumps({"event": "room_started", "id": "EV_x", "someFutureField": {"a": 1}})
    body_bytes = body.encode()

    event = verify(body_bytes, sign(body_bytes))

    assert event.event == "room_started"


def test_it_refuses_a_missing_header() -> None:
    assert refusal(BODY, None) == "missing Authorization header"
    assert refusal(BODY, "") == "missing Authorization header"


def test_it_refuses_a_tampered_body() -> None:
    token = sign(BODY)

    assert refusal(BODY.replace(b"EG_abc", b"EG_xyz"), token) == "body does not match sha256 claim"


def test_it_refuses_another_secret() -> None:
    assert refusal(BODY, sign(BODY, secret="not-our-secret")) == "invalid signature"


def test_it_refuses_another_issuer() -> None:
    assert refusal(BODY, sign(BODY, key="other-key")) == "wrong issuer"


def test_it_refuses_an_expired_token() -> None:
    assert refusal(BODY, sign(BODY, minutes=-2)) == "token expired"


def test_it_accepts_a_token_expired_within_the_leeway() -> None:
    assert verify(BODY, sign(BODY, minutes=-0.5)).event == "egress_ended"


def test_it_refuses_a_token_without_sha256() -> None:
    token = AccessToken(KEY, SECRET).to_jwt()

    assert refusal(BODY, token) == "sha256 claim missing"


def test_it_refuses_a_token_without_expiry() -> None:
    claims = {"iss": KEY, "nbf": int(time.time()), "sha256": body_hash(BODY)}
    token = jwt.encode(claims, hmac_key(SECRET), algorithm="HS256")

    assert refusal(BODY, token) == "token has no expiry"


def test_it_refuses_unsigned_tokens() -> None:
    claims = {"iss": KEY, "exp": int(time.time()) + 60, "sha256": body_hash(BODY)}
    token = jwt.encode(claims, None, algorithm="none")

    assert refusal(BODY, token) == "invalid signature"


def test_it_refuses_garbage_tokens() -> None:
    assert refusal(BODY, "not-a-jwt") == "malformed token"


@pytest.mark.parametrize(
    "body", [b"<html>hello</html>", b"1", b"null", b'"egress_ended"', b"[{}]", b"\xff{}"]
)
def test_it_refuses_a_signed_body_that_is_not_an_event(body: bytes) -> None:
    # JSON that is no object once answered 500 (the parser iterated a number) or parsed as an
    # empty event (a string).
    assert refusal(body, sign(body)) == "malformed event body"


def test_it_refuses_everything_without_configured_credentials() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, sign(BODY), api_key="", api_secret="")


async def test_it_accepts_the_sandboxs_real_webhooks(
    sandbox: RunningSandbox, webhook_receiver: tuple[str, Recorded]
) -> None:
    url, recorded = webhook_receiver
    sandbox.control.set_webhook_urls([url])
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)
    info = await client.start_room_composite_egress(
        egress.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=[egress.EncodedFileOutput(filepath="a.mp4")]
        )
    )
    await client.stop_egress(info.egress_id)
    await client.aclose()
    for _ in range(200):
        if any(b'"egress_ended"' in body for _, _, body in recorded.requests):
            break
        await asyncio.sleep(0.02)

    events = [
        verify_webhook(
            body,
            headers.get("authorization"),
            api_key=sandbox.api_key,
            api_secret=sandbox.api_secret,
        )
        for _, headers, body in recorded.requests
    ]
    ours = [event.event for event in events if event.egress_info.egress_id == info.egress_id]
    assert ours[0] == "egress_started"
    assert ours[-1] == "egress_ended"
    assert all(not h["authorization"].startswith("Bearer") for _, h, _ in recorded.requests)
    assert {h["content-type"] for _, h, _ in recorded.requests} == {"application/webhook+json"}
