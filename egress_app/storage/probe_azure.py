"""The Azure Blob Storage probe, with azure-storage-blob and the account's shared key."""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    generate_blob_sas,
)

from egress_app.storage.probe_common import (
    ProbeSettings,
    ProbeSetupError,
    quiet_sdk_logs,
    with_code,
)

GRANTS = "Storage Blob Data Contributor"

quiet_sdk_logs("azure.core.pipeline.policies.http_logging_policy")


class AzureTarget:
    def __init__(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], probe: ProbeSettings
    ) -> None:
        self.account = str(config.get("account_name") or "")
        self.container = str(config.get("container_name") or "")
        self.key = secrets.get("account_key", "")
        self.probe = probe
        self.endpoint = probe.azure_blob_endpoint.format(account_name=self.account)
        self.where = f"container {self.container}"
        self.service: Any = None

    def connect(self) -> str:
        if not (self.account and self.container):
            raise ProbeSetupError("the account name and the container name are both needed")
        try:
            b64decode(self.key, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProbeSetupError(
                "the account key is not valid base64; copy key1 or key2 again from the storage "
                "account's Access keys page"
            ) from exc
        self.service = BlobServiceClient(
            account_url=self.endpoint,
            credential={"account_name": self.account, "account_key": self.key},
            retry_total=0,
            connection_timeout=self.probe.connect_timeout,
            read_timeout=self.probe.read_timeout,
        )
        return f"Blob client ready for {self.endpoint}."

    def write(self, key: str, body: bytes) -> None:
        self._blob(key).upload_blob(body, overwrite=True)

    def upload_file(self, key: str, path: Path, content_type: str) -> None:
        """Streamed from disk in blocks, never all in memory."""
        with path.open("rb") as body:
            self._blob(key).upload_blob(
                body,
                length=path.stat().st_size,
                overwrite=True,
                content_settings=ContentSettings(content_type=content_type),
            )

    def read(self, key: str) -> bytes:
        return bytes(self._blob(key).download_blob().readall())

    def delete(self, key: str) -> None:
        self._blob(key).delete_blob()

    def sign(self, key: str, seconds: int, disposition: str) -> str:
        """The blob's URL with a read-only SAS made with the account key."""
        if self.service is None:
            self.connect()
        now = datetime.now(UTC)
        sas = generate_blob_sas(
            self.account,
            self.container,
            key,
            account_key=self.key,
            permission=BlobSasPermissions(read=True),
            expiry=now + timedelta(seconds=seconds),
            content_disposition=disposition or None,
        )
        return f"{self._blob(key).url}?{sas}"

    def head(self, key: str) -> int | None:
        try:
            return int(self._blob(key).get_blob_properties().size)
        except ResourceNotFoundError:
            return None

    def keys(self, prefix: str, limit: int) -> list[str]:
        container = self.service.get_container_client(self.container)
        blobs = container.list_blobs(name_starts_with=prefix, results_per_page=limit)
        return [str(blob.name) for blob in islice(blobs, limit)]

    def _blob(self, key: str) -> Any:
        return self.service.get_blob_client(self.container, key)

    def explain(self, exc: BaseException, step: str) -> str | None:
        if not isinstance(exc, HttpResponseError) or exc.status_code is None:
            return None
        error_code = getattr(exc, "error_code", None)  # set by the storage SDK, not azure-core
        code = str(getattr(error_code, "value", error_code) or exc.status_code)
        message = exc.message or str(exc)
        return with_code(self._words(code, message, step), code, _detail(message))

    def _words(self, code: str, message: str, step: str) -> str:
        text = message.lower()
        if "date header too old" in text or "date header too far" in text:
            return "this server's clock is too far from Azure's; set the server's clock right (NTP)"
        # Azure answers a wrong key with AuthenticationFailed; Azurite with AuthorizationFailure
        # and the same "failed to authenticate" text.
        if code == "AuthenticationFailed" or "failed to authenticate" in text:
            return (
                f"the account key is not the key of storage account {self.account}; copy key1 "
                "or key2 again from the storage account's Access keys page"
            )
        verb = {"write": "write blobs to", "read": "read blobs from"}.get(step, "delete blobs in")
        return {
            "ContainerNotFound": f"container {self.container} does not exist in storage account "
            f"{self.account}; create it or check the name",
            "AuthorizationPermissionMismatch": f"the credentials may not {verb} container "
            f"{self.container}; they need the {GRANTS} role",
            "AuthorizationFailure": f"storage account {self.account} refused the request (a "
            "firewall or network rule may block this server)",
            "InsufficientAccountPermissions": f"the credentials may not {verb} container "
            f"{self.container}",
            "AccountIsDisabled": f"storage account {self.account} is disabled",
            "ResourceNotFound": f"storage account {self.account} was not found at {self.endpoint}",
            "BlobNotFound": "the probe blob vanished between writing and reading it",
            "InvalidResourceName": f"{self.container} is not a valid container name",
        }.get(code, "Azure refused the request")


def _detail(message: str) -> str:
    """Azure's first line, plus its AuthenticationErrorDetail line when there is one."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    extra = [line for line in lines[1:] if line.startswith("AuthenticationErrorDetail:")]
    return " ".join(lines[:1] + extra)
