"""The S3 connection test against moto's S3 server, which checks signatures and IAM policies.

The timeout case uses a loopback socket that accepts connections and never answers, standing in
for a storage service that hangs. The proxy cases go through a loopback HTTP proxy
with a login (tests.emulators.forward_proxy). Not covered here: RequestTimeTooSkewed (moto does not
check the request time) and HTTPS through a proxy (CONNECT).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from egress_app.storage.probes import ProbeResult, run_probe
from tests.emulators import ForwardProxy, MotoS3, free_port
from tests.storage import assert_failed_at, assert_no_secrets


def probe(profile: dict[str, Any], **timeout: float) -> ProbeResult:
    return run_probe("s3", profile["config"], profile["secrets"], **timeout)


def test_it_writes_reads_back_and_deletes_a_probe_object(
    s3_storage: dict[str, Any], moto_s3: MotoS3
) -> None:
    result = probe(s3_storage)

    assert result.ok, result
    assert (
        result.message
        == "Wrote, read back and deleted a probe object in bucket egress-probe-tests."
    )
    assert [(s.name, s.ok) for s in result.steps] == [
        ("connect", True),
        ("write", True),
        ("read", True),
        ("delete", True),
    ]
    assert "egress-dashboard-probe-" in result.steps[1].message
    assert not [k for k in moto_s3.object_keys() if "egress-dashboard-probe-" in k]


def test_it_puts_the_probe_object_under_the_path_prefix(s3_storage: dict[str, Any]) -> None:
    s3_storage["config"]["path_prefix"] = "recordings/demo"

    result = probe(s3_storage)

    assert result.ok, result
    assert " recordings/demo/egress-dashboard-probe-" in result.steps[1].message


def test_it_writes_with_the_profiles_metadata_tags_and_content_disposition(
    s3_storage: dict[str, Any],
) -> None:
    s3_storage["config"] |= {
        "metadata": {"project": "demo"},
        "tagging": "team=video&env=test",
        "content_disposition": 'attachment; filename="probe.txt"',
    }

    assert probe(s3_storage).ok


def test_it_names_a_wrong_access_key(s3_storage: dict[str, Any]) -> None:
    s3_storage["secrets"]["access_key"] = "AKIAWRONGWRONGWRONG1"

    result = probe(s3_storage)

    assert_failed_at(result, "write", "access key is not known", "(InvalidAccessKeyId: ")
    assert [s.message for s in result.steps[2:]] == ["skipped", "skipped"]
    assert_no_secrets(result, s3_storage["secrets"])


def test_it_names_a_wrong_secret(s3_storage: dict[str, Any]) -> None:
    s3_storage["secrets"]["secret"] = "wrong-secret-wrong-secret-wrong-secret"

    result = probe(s3_storage)

    assert_failed_at(result, "write", "secret does not match", "(SignatureDoesNotMatch: ")
    assert_no_secrets(result, s3_storage["secrets"])


def test_it_names_a_missing_bucket(s3_storage: dict[str, Any]) -> None:
    s3_storage["config"]["bucket"] = "no-such-bucket-anywhere"

    result = probe(s3_storage)

    assert_failed_at(
        result, "write", "bucket no-such-bucket-anywhere does not exist", "(NoSuchBucket: "
    )


def test_it_names_a_key_without_s3_permissions(s3_storage: dict[str, Any], moto_s3: MotoS3) -> None:
    s3_storage["secrets"] |= {
        "access_key": moto_s3.denied_access_key,
        "secret": moto_s3.denied_secret,
    }

    result = probe(s3_storage)

    assert_failed_at(result, "write", "not allowed to write objects to", "(AccessDenied: ")
    assert "s3:PutObject" in result.message
    assert_no_secrets(result, s3_storage["secrets"])


def test_it_assumes_the_role_with_the_external_id(
    s3_storage: dict[str, Any], moto_s3: MotoS3
) -> None:
    # The denied user may not touch S3 itself, only assume the role that may.
    s3_storage["config"]["assume_role_arn"] = moto_s3.role_arn
    s3_storage["secrets"] |= {
        "access_key": moto_s3.denied_access_key,
        "secret": moto_s3.denied_secret,
        "assume_role_external_id": moto_s3.role_external_id,
    }

    result = probe(s3_storage)

    assert result.ok, result
    assert result.steps[0].message.startswith(f"Assumed role {moto_s3.role_arn}")


def test_it_names_a_role_it_may_not_assume(s3_storage: dict[str, Any], moto_s3: MotoS3) -> None:
    s3_storage["config"]["assume_role_arn"] = moto_s3.role_arn
    s3_storage["secrets"] |= {
        "access_key": moto_s3.denied_access_key,
        "secret": moto_s3.denied_secret,
        "assume_role_external_id": "not-the-external-id",
    }

    result = probe(s3_storage)

    assert_failed_at(result, "connect", "may not assume role", "external ID", "(AccessDenied: ")
    assert_no_secrets(result, s3_storage["secrets"])


def test_it_names_an_unreachable_endpoint(s3_storage: dict[str, Any]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    s3_storage["config"]["endpoint"] = endpoint

    result = probe(s3_storage)

    assert_failed_at(
        result, "write", f"could not connect to {endpoint}", "refused", "(EndpointConnectionError: "
    )


def test_it_stops_waiting_at_the_deadline(
    s3_storage: dict[str, Any], hanging_endpoint: str
) -> None:
    s3_storage["config"]["endpoint"] = hanging_endpoint
    began = time.monotonic()

    result = probe(s3_storage, timeout=1.0)

    assert time.monotonic() - began < 1.5
    assert_failed_at(result, "write", "timed out after 1 s")
    assert result.steps[1].message == (
        "Timed out after 1 s: the storage service did not answer in time."
    )


def test_it_takes_its_deadline_from_the_settings(
    s3_storage: dict[str, Any], hanging_endpoint: str, settings: Settings
) -> None:
    settings.STORAGE_TEST_TIMEOUT = 0.5
    s3_storage["config"]["endpoint"] = hanging_endpoint

    result = probe(s3_storage)

    # At "write" mostly; at "connect" on a loaded machine, where building the boto3 client
    # alone can outlast half a second. Either way the deadline is the setting's.
    failed = next(step for step in result.steps if not step.ok)
    assert failed.name in ("connect", "write")
    assert_failed_at(result, failed.name, "timed out after 0.5 s")


def test_it_says_what_is_missing_without_calling_s3(s3_storage: dict[str, Any]) -> None:
    s3_storage["config"]["bucket"] = ""

    result = probe(s3_storage)

    assert_failed_at(result, "connect", "no bucket is set")
    assert result.message == "Could not connect: no bucket is set."


def test_it_reports_an_unknown_provider() -> None:
    result = run_probe("dropbox", {}, {})

    assert not result.ok
    assert result.message == "Unknown storage provider 'dropbox'."


@pytest.mark.parametrize("secret_field", ["secret", "session_token"])
def test_it_hides_secret_values_the_sdk_repeats(
    s3_storage: dict[str, Any], secret_field: str
) -> None:
    # A bucket name botocore rejects before sending, echoing the value in its message.
    leaked = "s3cr3t-value-that-must-not-show"
    s3_storage["secrets"][secret_field] = leaked
    s3_storage["config"]["bucket"] = leaked + "/x"

    result = probe(s3_storage)

    assert not result.ok
    assert "[hidden]" in result.message
    assert_no_secrets(result, s3_storage["secrets"])


def test_it_goes_through_the_profiles_proxy(
    s3_storage: dict[str, Any], forward_proxy: ForwardProxy
) -> None:
    s3_storage["config"] |= {
        "proxy_url": forward_proxy.url,
        "proxy_username": forward_proxy.username,
    }
    s3_storage["secrets"]["proxy_password"] = forward_proxy.password
    forward_proxy.forwarded.clear()

    result = probe(s3_storage)

    assert result.ok, result
    assert [line.split()[0] for line in forward_proxy.forwarded] == ["PUT", "GET", "DELETE"]


def test_it_names_a_proxy_that_refuses_the_login(
    s3_storage: dict[str, Any], forward_proxy: ForwardProxy
) -> None:
    s3_storage["config"] |= {
        "proxy_url": forward_proxy.url,
        "proxy_username": forward_proxy.username,
    }
    s3_storage["secrets"]["proxy_password"] = "wrong proxy password"

    result = probe(s3_storage)

    assert_failed_at(result, "write", "the proxy refused the login", "(407: ")
    assert_no_secrets(result, s3_storage["secrets"])
