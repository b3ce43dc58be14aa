"""The Google Cloud Storage connection test against gcp-storage-emulator.

Google's OAuth token endpoint cannot be reached here: the service-account keys the tests make name
a loopback stand-in as their token_uri (tests.emulators), which checks the key's JWT signature and
answers invalid_grant for keys it does not know, as Google does for a deleted key. The emulator
checks no permissions, so the access-denied case uses a loopback server answering every request
with GCS's 403 JSON error body, standing in for Google Cloud Storage. The proxy case goes through
a loopback HTTP proxy with a login. Not covered: HTTPS through a proxy (CONNECT).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from egress_app.storage.probes import ProbeResult, run_probe
from tests.emulators import ForwardProxy, GCSEmulator, QuietHandler, free_port, serve
from tests.storage import assert_failed_at

FORBIDDEN = {
    "error": {
        "code": 403,
        "message": "egress-writer@egress-dashboard-tests.iam.gserviceaccount.com does not have "
        "storage.objects.create access to the Google Cloud Storage object. Permission "
        "'storage.objects.create' denied on resource (or it may not exist).",
        "errors": [{"domain": "global", "reason": "forbidden", "message": "…"}],
    }
}


def probe(profile: dict[str, Any]) -> ProbeResult:
    return run_probe("gcp", profile["config"], profile["secrets"])


def assert_no_secrets(result: ProbeResult, credentials: str) -> None:
    text = " ".join([result.message, *(s.message for s in result.steps)])
    private_key = json.loads(credentials)["private_key"] if credentials.startswith("{") else ""
    body = "".join(private_key.splitlines()[1:-1])
    assert credentials not in text
    assert not body or body[:40] not in text


@pytest.fixture
def forbidding_gcs(settings: Settings) -> Iterator[str]:
    class Forbidden(QuietHandler):
        def do_POST(self) -> None:
            self.body()
            body = json.dumps(FORBIDDEN).encode()
            self.answer(403, body, {"Content-Type": "application/json; charset=UTF-8"})

    server, url = serve(Forbidden)
    settings.GCS_ENDPOINT = url
    yield url
    server.shutdown()
    server.server_close()


def test_it_writes_reads_back_and_deletes_a_probe_object(
    gcs_storage: dict[str, Any], gcs_emulator: GCSEmulator
) -> None:
    result = probe(gcs_storage)

    assert result.ok, result
    assert result.message == (
        "Wrote, read back and deleted a probe object in bucket egress-probe-tests."
    )
    assert [s.ok for s in result.steps] == [True, True, True, True]
    assert result.steps[0].message == (
        "Signed in as service account egress-writer@egress-dashboard-tests.iam.gserviceaccount.com."
    )
    assert not [n for n in gcs_emulator.object_names() if "egress-dashboard-probe-" in n]


def test_it_names_a_missing_bucket(gcs_storage: dict[str, Any]) -> None:
    gcs_storage["config"]["bucket"] = "no-such-bucket-anywhere"

    result = probe(gcs_storage)

    assert_failed_at(
        result, "write", "bucket no-such-bucket-anywhere does not exist", "(404 NotFound: "
    )


def test_it_names_a_deleted_service_account_key(
    gcs_storage: dict[str, Any], gcs_emulator: GCSEmulator
) -> None:
    credentials = gcs_emulator.service_account_json(known=False)
    gcs_storage["secrets"]["credentials"] = credentials

    result = probe(gcs_storage)

    assert_failed_at(
        result,
        "connect",
        "Google did not accept the service-account key",
        "(RefreshError: invalid_grant: Invalid JWT Signature.",
    )
    assert_no_secrets(result, credentials)


def test_it_names_a_service_account_without_access(
    gcs_storage: dict[str, Any], forbidding_gcs: str
) -> None:
    result = probe(gcs_storage)

    assert_failed_at(
        result,
        "write",
        "the service account may not write objects to bucket egress-probe-tests",
        "(403 Forbidden: ",
        "storage.objects.create",
    )
    assert_no_secrets(result, gcs_storage["secrets"]["credentials"])


@pytest.mark.parametrize(
    ("credentials", "words"),
    [
        (
            '{"type": "authorized_user", "client_id": "x", "refresh_token": "1//secret-token"}',
            "the credentials are a 'authorized_user' key, not a service-account JSON key",
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQ", "the credentials are not valid JSON"),
    ],
)
def test_it_rejects_credentials_that_are_not_a_service_account_key(
    gcs_storage: dict[str, Any], credentials: str, words: str
) -> None:
    gcs_storage["secrets"]["credentials"] = credentials

    result = probe(gcs_storage)

    assert_failed_at(result, "connect", words)
    assert "1//secret-token" not in result.message


def test_it_names_an_unreachable_endpoint(gcs_storage: dict[str, Any], settings: Settings) -> None:
    settings.GCS_ENDPOINT = endpoint = f"http://127.0.0.1:{free_port()}"

    result = probe(gcs_storage)

    assert_failed_at(result, "write", f"could not connect to {endpoint}", "refused")


def test_it_goes_through_the_profiles_proxy(
    gcs_storage: dict[str, Any], forward_proxy: ForwardProxy
) -> None:
    gcs_storage["config"] |= {
        "proxy_url": forward_proxy.url,
        "proxy_username": forward_proxy.username,
    }
    gcs_storage["secrets"]["proxy_password"] = forward_proxy.password
    forward_proxy.forwarded.clear()

    result = probe(gcs_storage)

    assert result.ok, result
    # The token exchange too, then the upload, the download and the delete.
    methods = [line.split()[0] for line in forward_proxy.forwarded]
    assert methods == ["POST", "POST", "GET", "DELETE"], forward_proxy.forwarded  # no bucket GET
