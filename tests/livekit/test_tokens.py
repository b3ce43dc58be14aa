from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, VideoGrants

from egress_app.livekit import create_access_token
from egress_app.livekit.tokens import TokenCache, hmac_key

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


def test_an_asymmetric_key_is_refused_as_a_secret_every_time() -> None:
    # PyJWT's key checks run once per secret (tokens.py), not skipped: a public key given as the
    # secret is refused, and refused again (a refusal is not remembered as a good key).
    public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----"
    for _ in range(2):
        with pytest.raises(jwt.InvalidKeyError):
            create_access_token(KEY, public, video={"roomRecord": True})
    token = create_access_token(KEY, SECRET, video={"roomRecord": True})
    assert jwt.decode(token, hmac_key(SECRET), algorithms=["HS256"], issuer=KEY)["iss"] == KEY


def test_it_signs_like_the_sdk_despite_padding_the_short_dev_secret() -> None:
    sdk_token = AccessToken(KEY, SECRET).with_grants(VideoGrants(room_list=True)).to_jwt()

    # Zero-padding an HMAC key is a no-op, so SDK tokens verify with the padded key too.
    payload = jwt.decode(sdk_token, hmac_key(SECRET), algorithms=["HS256"], issuer=KEY)

    assert payload["video"]["roomList"] is True


class Clock:
    """A hand-moved clock, so that a test can step through a token's lifetime."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_it_reuses_a_grants_token_within_its_window() -> None:
    clock = Clock()
    cache = TokenCache(KEY, SECRET, clock=clock)

    first = cache.token({"roomList": True})
    clock.now += 8 * 60 - 1

    assert cache.token({"roomList": True}) == first


def test_it_signs_again_before_a_token_nears_expiry() -> None:
    clock = Clock()
    cache = TokenCache(KEY, SECRET, clock=clock)
    first = cache.token({"roomList": True})

    clock.now += 8 * 60
    second = cache.token({"roomList": True})

    assert second != first
    payload = jwt.decode(second, options={"verify_signature": False})
    assert payload["nbf"] == int(clock.now)
    assert payload["exp"] - payload["nbf"] == 600
    # What it hands out stays valid for at least the two minutes a slow call may need.
    assert payload["exp"] - (clock.now + 8 * 60 - 1) > 119


def test_it_keeps_a_token_per_grant_and_identity() -> None:
    cache = TokenCache(KEY, SECRET)

    tokens = [
        cache.token({"roomList": True}),
        cache.token({"roomAdmin": True, "room": "studio"}),
        cache.token({"roomAdmin": True, "room": "lobby"}),
        cache.token({"roomList": True}, identity="dashboard"),
    ]

    assert len(set(tokens)) == 4
    video = TokenVerifier(KEY, SECRET).verify(tokens[2]).video
    assert video is not None
    assert (video.room_admin, video.room) == (True, "lobby")
    assert cache.token({"room": "lobby", "roomAdmin": True}) == tokens[2]


def test_it_signs_each_grant_once_across_threads() -> None:
    # Each reading a second later than the last: a token signed twice would differ.
    seconds = itertools.count(int(time.time()))
    cache = TokenCache(KEY, SECRET, clock=lambda: float(next(seconds)))

    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: cache.token({"roomRecord": True}), range(200)))

    assert len(tokens) == 1


def test_it_forgets_old_grants_beyond_its_size() -> None:
    cache = TokenCache(KEY, SECRET)

    for number in range(TokenCache.MAX_ENTRIES + 10):
        cache.token({"roomAdmin": True, "room": f"room-{number}"})

    assert len(cache._tokens) <= TokenCache.MAX_ENTRIES
    assert TokenVerifier(KEY, SECRET).verify(cache.token({"roomList": True})).video


def test_it_refuses_to_reuse_a_token_for_its_whole_lifetime() -> None:
    with pytest.raises(ValueError, match="part of its lifetime"):
        TokenCache(KEY, SECRET, ttl=timedelta(minutes=5), reuse=timedelta(minutes=5))
