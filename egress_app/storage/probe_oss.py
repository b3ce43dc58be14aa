"""The Alibaba Cloud OSS probe, with oss2 (signature V1, as `oss2.Auth`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import oss2
from oss2.exceptions import ClientError, NoSuchKey, NotFound, RequestError, ServerError

from egress_app.storage.probe_common import (
    ProbeSettings,
    ProbeSetupError,
    network_words,
    quiet_sdk_logs,
    with_code,
)

GRANTS = "oss:PutObject, oss:GetObject and oss:DeleteObject"

quiet_sdk_logs("oss2")


class OSSTarget:
    def __init__(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], probe: ProbeSettings
    ) -> None:
        self.bucket_name = str(config.get("bucket") or "")
        self.region = str(config.get("region") or "")
        default = f"https://oss-{self.region}.aliyuncs.com" if self.region else ""
        self.endpoint = str(config.get("endpoint") or "") or default
        self.secrets, self.probe = secrets, probe
        self.where = f"bucket {self.bucket_name}"
        self.bucket: Any = None

    def connect(self) -> str:
        if not self.bucket_name:
            raise ProbeSetupError("no bucket is set")
        if not self.endpoint:
            raise ProbeSetupError("an endpoint or a region is needed")
        if not (self.secrets.get("access_key") and self.secrets.get("secret")):
            raise ProbeSetupError("the access key and the secret are both needed")
        auth = oss2.Auth(self.secrets["access_key"], self.secrets["secret"])
        # oss2 gives this one number to requests as both the connect and the read timeout, and
        # does not retry single-object calls.
        self.bucket = oss2.Bucket(
            auth, self.endpoint, self.bucket_name, connect_timeout=self.probe.read_timeout
        )
        return f"OSS client ready for {self.endpoint}."

    def write(self, key: str, body: bytes) -> None:
        self.bucket.put_object(key, body, headers={"Content-Type": "text/plain"})

    def upload_file(self, key: str, path: Path, content_type: str) -> None:
        """Streamed from disk, never all in memory."""
        self.bucket.put_object_from_file(key, str(path), headers={"Content-Type": content_type})

    def read(self, key: str) -> bytes:
        return bytes(self.bucket.get_object(key).read())

    def delete(self, key: str) -> None:
        self.bucket.delete_object(key)

    def sign(self, key: str, seconds: int, disposition: str) -> str:
        if self.bucket is None:
            self.connect()
        params = {"response-content-disposition": disposition} if disposition else None
        return str(self.bucket.sign_url("GET", key, seconds, slash_safe=True, params=params))

    def head(self, key: str) -> int | None:
        try:
            return int(self.bucket.head_object(key).content_length)
        except (NoSuchKey, NotFound):
            return None

    def keys(self, prefix: str, limit: int) -> list[str]:
        listing = self.bucket.list_objects(prefix=prefix, max_keys=limit)
        return [str(item.key) for item in listing.object_list]

    def explain(self, exc: BaseException, step: str) -> str | None:
        if isinstance(exc, ClientError):
            return with_code("the OSS settings are not valid", "ClientError", str(exc.body))
        if isinstance(exc, RequestError):  # oss2's wrapper around the requests exception
            return network_words(exc.exception, self.endpoint, "RequestError")
        if not isinstance(exc, ServerError):
            return None
        code = str(exc.code or exc.status)
        return with_code(self._words(code, step), code, str(exc.message or exc.body))

    def _words(self, code: str, step: str) -> str:
        verb = {"write": "write objects to", "read": "read objects from"}.get(
            step, "delete objects in"
        )
        return {
            "InvalidAccessKeyId": "the access key is not known to OSS; check the access key",
            "SignatureDoesNotMatch": "the secret does not match the access key; check the secret",
            "NoSuchBucket": f"bucket {self.bucket_name} does not exist at {self.endpoint}; check "
            "the bucket name, the region and the endpoint",
            "AccessDenied": f"the credentials are valid but not allowed to {verb} bucket "
            f"{self.bucket_name}; the key needs {GRANTS}",
            "RequestTimeTooSkewed": "this server's clock is too far from OSS's; set the server's "
            "clock right (NTP)",
            "InvalidBucketName": f"{self.bucket_name} is not a valid bucket name",
            "NoSuchKey": "the probe object vanished between writing and reading it",
            "SecurityTokenExpired": "the security token has expired",
        }.get(code, "OSS refused the request")
