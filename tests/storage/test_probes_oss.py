"""The Alibaba Cloud OSS connection test.

No OSS emulator can run here. These tests run oss2 for real against a loopback stand-in for OSS
(tests.emulators.oss_standin) that stores objects in memory, checks OSS's V1 signature with its one
key pair and answers with OSS's XML error bodies (InvalidAccessKeyId, SignatureDoesNotMatch,
NoSuchBucket, AccessDenied, RequestTimeTooSkewed), and against a closed port.
Not covered: real OSS behaviour beyond those error bodies (virtual-hosted bucket URLs on
*.aliyuncs.com, RAM policies, STS tokens, signature V4), and DNS failures.
"""

from __future__ import annotations

from typing import Any

import pytest

from egress_app.storage.probes import ProbeResult, run_probe
from tests.emulators import OSSStandin, free_port
from tests.storage import assert_failed_at, assert_no_secrets


def probe(profile: dict[str, Any]) -> ProbeResult:
    return run_probe("alioss", profile["config"], profile["secrets"])


def test_it_writes_reads_back_and_deletes_a_probe_object(
    alioss_storage: dict[str, Any], oss_standin: OSSStandin
) -> None:
    # The stand-in lives for the session: other tests' egress leave their objects in it.
    before = dict(oss_standin.buckets[oss_standin.bucket])
    result = probe(alioss_storage)

    assert result.ok, result
    assert result.message == (
        "Wrote, read back and deleted a probe object in bucket egress-probe-tests."
    )
    assert [s.ok for s in result.steps] == [True, True, True, True]
    assert oss_standin.buckets[oss_standin.bucket] == before


def test_it_names_a_wrong_access_key(alioss_storage: dict[str, Any]) -> None:
    # OSS echoes the access key id in its error body; the message must not repeat it.
    alioss_storage["secrets"]["access_key"] = "LTAI5tWrongKeyId0000"

    result = probe(alioss_storage)

    assert_failed_at(
        result,
        "write",
        "the access key is not known to OSS",
        "(InvalidAccessKeyId: The OSS Access Key Id you provided does not exist in our records.)",
    )
    assert_no_secrets(result, alioss_storage["secrets"])


def test_it_names_a_wrong_secret(alioss_storage: dict[str, Any]) -> None:
    alioss_storage["secrets"]["secret"] = "wrong-secret-0123456789"

    result = probe(alioss_storage)

    assert_failed_at(
        result, "write", "the secret does not match the access key", "(SignatureDoesNotMatch: "
    )
    assert_no_secrets(result, alioss_storage["secrets"])


@pytest.mark.parametrize(
    ("bucket", "words", "code"),
    [
        ("no-such-bucket", "bucket no-such-bucket does not exist", "(NoSuchBucket: "),
        (
            "locked-bucket",
            "not allowed to write objects to bucket locked-bucket",
            "(AccessDenied: ",
        ),
        ("skewed-bucket", "this server's clock is too far from OSS's", "(RequestTimeTooSkewed: "),
    ],
)
def test_it_names_what_oss_refused(
    alioss_storage: dict[str, Any], bucket: str, words: str, code: str
) -> None:
    alioss_storage["config"]["bucket"] = bucket

    result = probe(alioss_storage)

    assert_failed_at(result, "write", words, code)
    assert_no_secrets(result, alioss_storage["secrets"])


def test_it_names_an_unreachable_endpoint(alioss_storage: dict[str, Any]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    alioss_storage["config"]["endpoint"] = endpoint

    result = probe(alioss_storage)

    assert_failed_at(
        result, "write", f"could not connect to {endpoint}", "refused", "(RequestError: "
    )


def test_it_needs_an_endpoint_or_a_region(alioss_storage: dict[str, Any]) -> None:
    alioss_storage["config"] |= {"endpoint": "", "region": ""}

    result = probe(alioss_storage)

    assert_failed_at(result, "connect", "an endpoint or a region is needed")
