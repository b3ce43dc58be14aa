"""The S3 (and S3-compatible) probe, with boto3: the same fields LiveKit Egress uploads with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from egress_app.storage.probe_common import (
    ProbeSettings,
    ProbeSetupError,
    quiet_sdk_logs,
    with_code,
)

DEFAULT_REGION = "us-east-1"  # what Egress and the AWS SDKs assume when no region is set
GRANTS = "s3:PutObject, s3:GetObject and s3:DeleteObject"

quiet_sdk_logs("botocore", "boto3")


class S3Target:
    def __init__(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], probe: ProbeSettings
    ) -> None:
        self.config, self.secrets, self.probe = config, secrets, probe
        self.bucket = str(config.get("bucket") or "")
        self.region = str(config.get("region") or DEFAULT_REGION)
        self.endpoint = (
            str(config.get("endpoint") or "") or f"https://s3.{self.region}.amazonaws.com"
        )
        self.where = f"bucket {self.bucket}"
        self.role_arn = str(config.get("assume_role_arn") or "")
        self.client: Any = None

    def connect(self) -> str:
        if not self.bucket:
            raise ProbeSetupError("no bucket is set")
        if not (self.secrets.get("access_key") and self.secrets.get("secret")):
            raise ProbeSetupError("the access key and the secret are both needed")
        credentials = self._credentials()
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self._endpoint_url(), config=self._config(), **credentials
        )
        if self.role_arn:
            return f"Assumed role {self.role_arn}; S3 client ready for {self.endpoint}."
        return f"S3 client ready for {self.endpoint} (region {self.region})."

    def write(self, key: str, body: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="text/plain", **self._extra()
        )

    def upload_file(self, key: str, path: Path, content_type: str) -> None:
        """A file of any size, streamed from disk (multipart above 8 MB), never all in memory."""
        extra = self._extra() | {"ContentType": content_type}
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        except S3UploadFailedError as failed:
            # boto3 wraps S3's own answer (and names the local file): word the answer itself.
            if isinstance(failed.__context__, ClientError):
                raise failed.__context__ from None
            raise

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        # Egress stores these with every upload, so the probe does too: a tag the policy does not
        # allow (s3:PutObjectTagging) fails here rather than at the end of a recording.
        if isinstance(metadata := self.config.get("metadata"), Mapping) and metadata:
            extra["Metadata"] = {str(k): str(v) for k, v in metadata.items()}
        if tagging := self.config.get("tagging"):
            extra["Tagging"] = str(tagging)
        if disposition := self.config.get("content_disposition"):
            extra["ContentDisposition"] = str(disposition)
        return extra

    def read(self, key: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        return bytes(response["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def sign(self, key: str, seconds: int, disposition: str) -> str:
        """A presigned GET; `disposition` (if any) overrides the answer's Content-Disposition."""
        if self.client is None:
            self.connect()
        params = {"Bucket": self.bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        url = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        return str(url)

    def head(self, key: str) -> int | None:
        """The object's size, None when there is no such object."""
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(answer["ContentLength"])

    def keys(self, prefix: str, limit: int) -> list[str]:
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit)
        return [str(item["Key"]) for item in page.get("Contents", [])]

    def explain(self, exc: BaseException, step: str) -> str | None:
        if isinstance(exc, ClientError):
            return self._client_error(exc, step)
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return with_code(
                "the access key or the secret is missing", type(exc).__name__, str(exc)
            )
        if isinstance(exc, ParamValidationError):
            return with_code("a setting is not accepted by S3", type(exc).__name__, str(exc))
        return None

    def _credentials(self) -> dict[str, str]:
        credentials = {
            "aws_access_key_id": self.secrets["access_key"],
            "aws_secret_access_key": self.secrets["secret"],
        }
        if token := self.secrets.get("session_token"):
            credentials["aws_session_token"] = token
        if not self.role_arn:
            return credentials
        # S3-compatible services that support AssumeRole (MinIO, Ceph) serve STS at the same
        # endpoint; without a custom endpoint boto3 uses AWS's regional STS.
        sts = boto3.session.Session().client(
            "sts", endpoint_url=self._endpoint_url(), config=self._config(), **credentials
        )
        args = {"RoleArn": self.role_arn, "RoleSessionName": "egress-dashboard-probe"}
        if external_id := self.secrets.get("assume_role_external_id"):
            args["ExternalId"] = external_id
        assumed = sts.assume_role(**args)["Credentials"]
        return {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }

    def _endpoint_url(self) -> str | None:
        return str(self.config.get("endpoint") or "") or None

    def _config(self) -> Config:
        options: dict[str, Any] = {
            "region_name": self.region,
            "connect_timeout": self.probe.connect_timeout,
            "read_timeout": self.probe.read_timeout,
            "retries": {"max_attempts": 1, "mode": "standard"},
            # boto3 presigns with the legacy SigV2 otherwise, which newer regions refuse.
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path" if self.config.get("force_path_style") else "auto"},
        }
        if self._endpoint_url():
            # Many S3-compatible services reject the CRC checksums boto3 adds by default.
            options["request_checksum_calculation"] = "when_required"
            options["response_checksum_validation"] = "when_required"
        if proxy := self._proxy_url():
            options["proxies"] = {"http": proxy, "https": proxy}
        return Config(**options)

    def _proxy_url(self) -> str:
        url = str(self.config.get("proxy_url") or "")
        username = str(self.config.get("proxy_username") or "")
        if not (url and username):
            return url
        password = self.secrets.get("proxy_password", "")
        parts = urlsplit(url)
        login = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
        return urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc}"))

    def _client_error(self, exc: ClientError, step: str) -> str:
        error = exc.response.get("Error", {})
        code = str(
            error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        )
        words = self._words(code, exc.operation_name, step)
        return with_code(words, code, str(error.get("Message") or exc))

    def _words(self, code: str, operation: str, step: str) -> str:
        if operation == "AssumeRole":
            return _assume_role_words(code, self.role_arn)
        verb = {"write": "write objects to", "read": "read objects from"}.get(
            step, "delete objects in"
        )
        return {
            "InvalidAccessKeyId": "the access key is not known to the storage service; check the "
            "access key",
            "SignatureDoesNotMatch": "the secret does not match the access key; check the secret",
            "InvalidToken": "the session token is not valid; check or clear the session token",
            "ExpiredToken": "the session token has expired; get new temporary credentials",
            "NoSuchBucket": f"bucket {self.bucket} does not exist at {self.endpoint}; check the "
            "bucket name, the region and the endpoint",
            "AccessDenied": f"the credentials are valid but not allowed to {verb} bucket "
            f"{self.bucket}; the key or role needs {GRANTS}",
            "AllAccessDisabled": f"all access to bucket {self.bucket} is disabled",
            "RequestTimeTooSkewed": "this server's clock is too far from the storage service's; "
            "set the server's clock right (NTP)",
            "AuthorizationHeaderMalformed": "the region does not match the bucket's region; "
            "check the region",
            "PermanentRedirect": f"bucket {self.bucket} is in another region or needs another "
            "endpoint; check the region",
            "InvalidBucketName": f"{self.bucket} is not a valid bucket name",
            "NoSuchKey": "the probe object vanished between writing and reading it",
            "InvalidTag": "the object tags are not accepted; check the tagging field",
            "404": f"nothing was found at {self.endpoint}; check the endpoint and the bucket",
            "407": "the proxy refused the login; check the proxy username and password",
            "403": f"the storage service refused access to bucket {self.bucket}",
        }.get(code, "the storage service refused the request")


def _assume_role_words(code: str, role_arn: str) -> str:
    if code in ("InvalidClientTokenId", "InvalidAccessKeyId"):
        return "the access key is not known to AWS STS; check the access key"
    if code == "SignatureDoesNotMatch":
        return "the secret does not match the access key; check the secret"
    if code == "AccessDenied":
        return (
            f"the access key may not assume role {role_arn}: check the role's trust policy, the "
            "external ID and the key's sts:AssumeRole permission"
        )
    return f"could not assume role {role_arn}"
