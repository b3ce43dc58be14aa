"""The Azure Blob connection test against Azurite, which checks shared-key signatures.

Not covered here: Azure's AuthorizationPermissionMismatch (Azurite grants the account key
everything) and "Request date header too old" (Azurite does not check the request time).
"""

from __future__ import annotations

import base64
from typing import Any

from pytest_django.fixtures import Settings

from egress_app.storage.probes import ProbeResult, run_probe
from tests.emulators import Azurite, free_port
from tests.storage import assert_failed_at, assert_no_secrets


def probe(profile: dict[str, Any]) -> ProbeResult:
    return run_probe("azure", profile["config"], profile["secrets"])


def test_it_writes_reads_back_and_deletes_a_probe_blob(
    azure_storage: dict[str, Any], azurite: Azurite
) -> None:
    result = probe(azure_storage)

    assert result.ok, result
    assert result.message == (
        "Wrote, read back and deleted a probe object in container egress-probe-tests."
    )
    assert [s.ok for s in result.steps] == [True, True, True, True]
    assert not [b for b in azurite.blob_names() if "egress-dashboard-probe-" in b]


def test_it_names_a_wrong_account_key(azure_storage: dict[str, Any]) -> None:
    azure_storage["secrets"]["account_key"] = base64.b64encode(b"not the account key" * 3).decode()

    result = probe(azure_storage)

    # Azure says AuthenticationFailed; Azurite says AuthorizationFailure with the same text.
    assert_failed_at(
        result,
        "write",
        "the account key is not the key of storage account devstoreaccount1",
        "(AuthorizationFailure: Server failed to authenticate the request.",
    )
    assert_no_secrets(result, azure_storage["secrets"])


def test_it_names_an_account_key_that_is_not_base64(azure_storage: dict[str, Any]) -> None:
    azure_storage["secrets"]["account_key"] = "pasted the wrong thing!"

    result = probe(azure_storage)

    assert_failed_at(result, "connect", "the account key is not valid base64")
    assert_no_secrets(result, azure_storage["secrets"])


def test_it_names_a_missing_container(azure_storage: dict[str, Any]) -> None:
    azure_storage["config"]["container_name"] = "no-such-container"

    result = probe(azure_storage)

    assert_failed_at(
        result,
        "write",
        "container no-such-container does not exist in storage account devstoreaccount1",
        "(ContainerNotFound: The specified container does not exist.",
    )


def test_it_names_an_unreachable_endpoint(
    azure_storage: dict[str, Any], settings: Settings
) -> None:
    port = free_port()  # nothing listens there
    settings.AZURE_BLOB_ENDPOINT = f"http://127.0.0.1:{port}/{{account_name}}"

    result = probe(azure_storage)

    assert_failed_at(
        result,
        "write",
        f"could not connect to http://127.0.0.1:{port}/devstoreaccount1",
        "refused",
        "(ServiceRequestError: ",
    )
