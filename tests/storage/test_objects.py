"""Signed URLs, HEADs and listings through each provider's SDK, against the emulators: moto's S3,
Azurite (which checks SAS signatures and expiry), the GCS emulator and the OSS stand-in (which
checks OSS's query-string signature and its expiry).

moto cannot check a presigned URL (with its IAM check on it answers one with a 500, without it it
serves any), and the GCS emulator checks no signature: for those two the URL is fetched from the
emulator with its check off (`moto_open`), and checked here the way S3 and GCS do (`s3_refusal`,
`gcs_refusal`): the canonical request rebuilt from the URL, its signature verified (S3: HMAC with
the secret's SigV4 signing key; GCS: RSA-SHA256 with the service account's public key), and the
signing time plus the expiry compared with the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from egress_app.storage import objects
from egress_app.storage.objects import Store
from tests.emulators import (
    Azurite,
    GCSEmulator,
    MotoS3,
    OSSStandin,
    ServiceAccounts,
    moto_checks_signatures,
)

OSS_BUCKET = "egress-signed-tests"
BODY = b"\x00\x00\x00\x18ftypmp42 not really a movie"


def _store(profile: dict[str, Any]) -> Store:
    return Store(profile["provider"], profile["config"], profile["secrets"])


def _key() -> str:
    return f"recordings/room/{uuid.uuid4().hex}.mp4"


def _put_s3(moto_s3: MotoS3, key: str, body: bytes = BODY) -> None:
    moto_s3.client().put_object(Bucket=moto_s3.bucket, Key=key, Body=body)


def _put_azure(azurite: Azurite, key: str, body: bytes = BODY) -> None:
    azurite.service().get_blob_client(azurite.container, key).upload_blob(body)


def _put_gcs(gcs_emulator: GCSEmulator, key: str, body: bytes = BODY) -> None:
    gcs_emulator.client().bucket(gcs_emulator.bucket).blob(key).upload_from_string(body)


def _put_oss(oss_standin: OSSStandin, key: str, body: bytes = BODY) -> None:
    oss_standin.buckets[OSS_BUCKET][key] = body


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def _tampered(url: str, key: str) -> str:
    other = key.replace(".mp4", "-other.mp4")
    return url.replace(quote(key, safe="/"), quote(other, safe="/"), 1)


@pytest.fixture
def moto_open(moto_s3: MotoS3) -> Any:
    with moto_checks_signatures(moto_s3, False):
        yield


@pytest.fixture
def put(request: pytest.FixtureRequest, moto_s3: MotoS3, oss_standin: OSSStandin) -> Any:
    """The provider's profile and a function that puts an object there with its own SDK."""

    def for_provider(provider: str) -> tuple[dict[str, Any], Any]:
        if provider == "s3":
            request.getfixturevalue("moto_open")
            return request.getfixturevalue("s3_storage"), lambda k, b=BODY: _put_s3(moto_s3, k, b)
        if provider == "azure":
            azurite = request.getfixturevalue("azurite")
            profile = request.getfixturevalue("azure_storage")
            return profile, lambda k, b=BODY: _put_azure(azurite, k, b)
        if provider == "gcp":
            gcs = request.getfixturevalue("gcs_emulator")
            profile = request.getfixturevalue("gcs_storage")
            return profile, lambda k, b=BODY: _put_gcs(gcs, k, b)
        # A bucket of its own: the probe's tests expect the shared one to be left empty.
        oss_standin.buckets.setdefault(OSS_BUCKET, {})
        profile = request.getfixturevalue("alioss_storage")
        profile["config"] = profile["config"] | {"bucket": OSS_BUCKET}
        return profile, lambda k, b=BODY: _put_oss(oss_standin, k, b)

    return for_provider


PROVIDERS = ["s3", "azure", "gcp", "alioss"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_signs_a_url_that_gets_the_objects_bytes(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    key = _key()
    put_object(key)
    url = objects.signed_url(_store(profile), key, seconds=60)
    answer = _get(url)
    assert answer.status_code == 200
    assert answer.content == BODY


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_keeps_every_secret_out_of_the_url(put: Any, provider: str) -> None:
    profile, _put_object = put(provider)
    key = _key()
    url = objects.signed_url(_store(profile), key, seconds=60)
    secrets = [v for name, v in profile["secrets"].items() if v and name != "access_key"]
    for secret in secrets:
        assert secret not in url
        assert quote(secret, safe="") not in url
    if provider == "gcp":
        assert "PRIVATE KEY" not in url


@pytest.mark.parametrize("provider", ["azure", "alioss"])
def test_it_signs_a_url_that_stops_working_after_its_time(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    key = _key()
    put_object(key)
    url = objects.signed_url(_store(profile), key, seconds=1)
    time.sleep(2.2)
    answer = _get(url)
    assert answer.status_code == 403
    assert BODY not in answer.content


@pytest.mark.parametrize("provider", ["azure", "alioss"])
def test_it_signs_a_url_that_does_not_open_another_object(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    key = _key()
    put_object(key)
    put_object(key.replace(".mp4", "-other.mp4"), b"another recording")
    url = objects.signed_url(_store(profile), key, seconds=60)
    answer = _get(_tampered(url, key))
    assert answer.status_code == 403
    assert b"another recording" not in answer.content


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_asks_for_an_attachment_when_downloading(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    key = _key()
    put_object(key)
    url = objects.signed_url(_store(profile), key, seconds=60, download=True)
    answer = _get(url)
    assert answer.status_code == 200
    if provider != "gcp":  # the emulator ignores response-content-disposition
        name = key.rsplit("/", 1)[1]
        assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert "response-content-disposition" in url.lower() or "rscd=" in url


def s3_refusal(url: str, secret: str, now: datetime) -> str | None:
    """Why S3 would refuse this SigV4 presigned GET (its error code), None if it would serve it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    fields = dict(query)
    signed = sorted((k, v) for k, v in query if k != "X-Amz-Signature")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in signed
    )
    canonical = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = fields["X-Amz-Credential"].split("/", 1)[1]
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    text = "\n".join(["AWS4-HMAC-SHA256", fields["X-Amz-Date"], scope, digest])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("X-Amz-Signature", "")):
        return "SignatureDoesNotMatch"
    signed_at = datetime.strptime(fields["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=int(fields["X-Amz-Expires"])):
        return "AccessDenied"  # "Request has expired"
    return None


def test_it_signs_s3_urls_that_verify(s3_storage: dict[str, Any]) -> None:
    url = objects.signed_url(_store(s3_storage), _key(), seconds=60, download=True)
    assert s3_refusal(url, s3_storage["secrets"]["secret"], datetime.now(UTC)) is None


def test_it_signs_s3_urls_that_expire(s3_storage: dict[str, Any]) -> None:
    url = objects.signed_url(_store(s3_storage), _key(), seconds=2)
    later = datetime.now(UTC) + timedelta(seconds=4)
    assert s3_refusal(url, s3_storage["secrets"]["secret"], later) == "AccessDenied"


def test_it_signs_s3_urls_that_do_not_open_another_object(s3_storage: dict[str, Any]) -> None:
    key = _key()
    url = objects.signed_url(_store(s3_storage), key, seconds=60)
    tampered = _tampered(url, key)
    assert tampered != url
    secret = s3_storage["secrets"]["secret"]
    assert s3_refusal(tampered, secret, datetime.now(UTC)) == "SignatureDoesNotMatch"


def gcs_refusal(url: str, accounts: ServiceAccounts, now: datetime) -> str | None:
    """Why GCS would refuse this V4 signed URL (its error code), None if it would serve it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    signature = dict(query).pop("X-Goog-Signature", "")
    fields = dict(query)
    signed = sorted((k, v) for k, v in query if k != "X-Goog-Signature")
    canonical_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in signed)
    canonical = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = fields["X-Goog-Credential"].split("/", 1)[1]
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    text = "\n".join(["GOOG4-RSA-SHA256", fields["X-Goog-Date"], scope, digest]).encode()
    if not any(
        _verifies(key, bytes.fromhex(signature), text) for key in accounts.public_keys.values()
    ):
        return "SignatureDoesNotMatch"
    signed_at = datetime.strptime(fields["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=int(fields["X-Goog-Expires"])):
        return "ExpiredToken"
    return None


def _verifies(public_key: Any, signature: bytes, text: bytes) -> bool:
    try:
        public_key.verify(signature, text, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def test_it_signs_gcs_urls_that_point_at_the_emulator_and_verify(
    gcs_emulator: GCSEmulator, gcs_storage: dict[str, Any]
) -> None:
    key = _key()
    url = objects.signed_url(_store(gcs_storage), key, seconds=60)
    assert url.startswith(f"{gcs_emulator.endpoint}/{gcs_emulator.bucket}/")
    assert gcs_refusal(url, gcs_emulator.accounts, datetime.now(UTC)) is None


def test_it_signs_gcs_urls_that_expire(
    gcs_emulator: GCSEmulator, gcs_storage: dict[str, Any]
) -> None:
    url = objects.signed_url(_store(gcs_storage), _key(), seconds=2)
    later = datetime.now(UTC) + timedelta(seconds=4)
    assert gcs_refusal(url, gcs_emulator.accounts, later) == "ExpiredToken"


def test_it_signs_gcs_urls_that_do_not_open_another_object(
    gcs_emulator: GCSEmulator, gcs_storage: dict[str, Any]
) -> None:
    key = _key()
    url = objects.signed_url(_store(gcs_storage), key, seconds=60)
    tampered = _tampered(url, key)
    assert tampered != url
    assert (
        gcs_refusal(tampered, gcs_emulator.accounts, datetime.now(UTC)) == "SignatureDoesNotMatch"
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_heads_an_object_missing_empty_or_full(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    full, empty, missing = _key(), _key(), _key()
    put_object(full)
    put_object(empty, b"")
    found = objects.heads(_store(profile), [full, empty, missing])
    assert found[full] == objects.Found(len(BODY))
    assert found[empty].empty
    assert not found[empty].missing
    assert found[missing].missing


def test_it_says_in_words_why_a_head_failed_without_the_secret(
    s3_storage: dict[str, Any],
) -> None:
    secrets = s3_storage["secrets"] | {"secret": "not-the-right-secret-at-all"}
    found = objects.heads(Store("s3", s3_storage["config"], secrets), ["a.mp4"])["a.mp4"]
    assert found.error.startswith("The storage service refused access")
    assert "not-the-right-secret-at-all" not in found.error


@pytest.mark.parametrize("provider", ["s3", "azure", "gcp"])
def test_it_lists_the_keys_under_a_prefix(put: Any, provider: str) -> None:
    profile, put_object = put(provider)
    prefix = f"images/{uuid.uuid4().hex}/shot"
    for n in range(3):
        put_object(f"{prefix}_{n:05d}.jpeg", b"jpeg")
    put_object(f"images/elsewhere-{uuid.uuid4().hex}.jpeg", b"jpeg")
    assert objects.keys(_store(profile), prefix, 2) == [
        f"{prefix}_00000.jpeg",
        f"{prefix}_00001.jpeg",
    ]


def test_it_reads_a_small_object(s3_storage: dict[str, Any], moto_s3: MotoS3) -> None:
    key = _key().replace(".mp4", ".m3u8")
    _put_s3(moto_s3, key, b"#EXTM3U\n")
    assert objects.read_small(_store(s3_storage), key) == b"#EXTM3U\n"
    with pytest.raises(objects.ObjectError, match="not in the store"):
        objects.read_small(_store(s3_storage), key + ".gone")


def test_it_gives_up_on_every_key_once_the_store_does_not_answer(
    s3_storage: dict[str, Any], hanging_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(objects, "TIMEOUT", 0.5)
    config = s3_storage["config"] | {"endpoint": hanging_endpoint}
    began = time.monotonic()
    found = objects.heads(Store("s3", config, s3_storage["secrets"]), ["a", "b", "c"])
    assert time.monotonic() - began < 2.5
    assert all("timed out" in result.error for result in found.values())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_logs_no_secret_while_signing_and_looking(
    put: Any, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    profile, put_object = put(provider)
    key = _key()
    put_object(key)
    caplog.set_level(logging.DEBUG)
    objects.signed_url(_store(profile), key, seconds=60, download=True)
    objects.heads(_store(profile), [key, _key()])
    secrets = [v for name, v in profile["secrets"].items() if v and name != "access_key"]
    for secret in secrets:
        assert secret not in caplog.text
    assert "PRIVATE KEY" not in caplog.text
