from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, VideoGrants

from egress_app.livekit import create_access_token
from egress_app.livekit.tokens import hmac_key

KEY, SECRET = "devkey", "secret"

# The SDK (and PyJWT directly) warn about LiveKit's short dev secret on every call.


def test_it_passes_the_sdk_verifier() -> None:
    token = create_access_token(KEY, SECRET, video={"roomRecord": True})

    claims = TokenVerifier(KEY, SECRET).verify(token)

    assert claims.video is not None
    assert claims.video.room_record is True
    assert claims.video.room_admin is None
    assert claims.identity == ""


def test_it_carries_exactly_the_given_grant() -> None:
    token = create_access_token(KEY, SECRET, video={"roomAdmin": True, "room": "studio"})

    payload = jwt.decode(token, options={"verify_signature": False})

    assert payload["video"] == {"roomAdmin": True, "room": "studio"}
    assert payload["iss"] == KEY
    assert "sub" not in payload
    assert "sha256" not in payload


def test_it_converts_snake_case_grant_keys() -> None:
    token = create_access_token(KEY, SECRET, video={"room_create": True})

    claims = TokenVerifier(KEY, SECRET).verify(token)

    assert claims.video is not None
    assert claims.video.room_create is True


def test_it_sets_identity_sha256_and_validity() -> None:
    before = int(time.time())
    token = create_access_token(
        KEY, SECRET, video={}, identity="dashboard", ttl=timedelta(minutes=2), sha256="abc="
    )

    payload = jwt.decode(token, options={"verify_signature": False})

    assert payload["sub"] == "dashboard"
    assert payload["sha256"] == "abc="
    assert before <= payload["nbf"] <= int(time.time())
    assert payload["exp"] - payload["nbf"] == 120


def test_it_is_refused_once_expired_beyond_the_leeway() -> None:
    token = create_access_token(KEY, SECRET, video={"roomList": True}, ttl=timedelta(seconds=-61))

    with pytest.raises(jwt.ExpiredSignatureError):
        TokenVerifier(KEY, SECRET).verify(token)


def test_it_is_accepted_within_the_leeway() -> None:
    token = create_access_token(KEY, SECRET, video={"roomList": True}, ttl=timedelta(seconds=-30))

    assert TokenVerifier(KEY, SECRET).verify(token).video is not None


def test_it_is_refused_with_another_secret() -> None:
    token = create_access_token(KEY, SECRET, video={"roomList": True})

    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, "another-secret").verify(token)


def test_it_is_not_valid_before_nbf() -> None:
    token = create_access_token(KEY, SECRET, video={})
    payload = jwt.decode(token, options={"verify_signature": False})
    future = jwt.encode({**payload, "nbf": payload["nbf"] + 600}, hmac_key(SECRET), "HS256")

    with pytest.raises(jwt.ImmatureSignatureError):
        TokenVerifier(KEY, SECRET).verify(future)


def test_it_signs_like_the_sdk_despite_padding_the_short_dev_secret() -> None:
    sdk_token = AccessToken(KEY, SECRET).with_grants(VideoGrants(room_list=True)).to_jwt()

    # Zero-padding an HMAC key is a no-op, so SDK tokens verify with the padded key too.
    payload = jwt.decode(sdk_token, hmac_key(SECRET), algorithms=["HS256"], issuer=KEY)

    assert payload["video"]["roomList"] is True
