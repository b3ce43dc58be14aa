"""The object stores the sandbox really writes to, with the request's own credentials.

After livekit/storage (s3.go, gcp.go, azure.go, alioss.go), which egress's uploader uses
(E:pkg/pipeline/sink/uploader/uploader.go): one PutObject per object, and a failure worded
`<S3|GCP|Azure|AliOSS> upload failed: <the provider's error>` (E:pkg/errors/errors.go
`ErrUploadFailed`).

The rule (no public cloud can be reached from here): a store is written to for real when it is
not a public cloud, i.e.
- S3: the request names an `endpoint` whose host is not under amazonaws.com (MinIO, moto, ...);
- Alibaba OSS: the request's `endpoint` host is not under aliyuncs.com;
- GCS: the sandbox is configured with a `gcs_endpoint` (egress always talks to Google);
- Azure: the sandbox is configured with an `azure_blob_endpoint` not under blob.core.windows.net
  (egress always talks to `https://{account}.blob.core.windows.net`).
Any other store is simulated, as before: nothing is written and the sizes are estimates.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from livekit.protocol import egress

from egress_app.sandbox.config import StorageEndpoints

PUBLIC_CLOUDS = {
    "s3": "amazonaws.com",
    "gcp": "googleapis.com",
    "azure": "blob.core.windows.net",
    "aliOSS": "aliyuncs.com",
}
NAMES = {"s3": "S3", "gcp": "GCP", "azure": "Azure", "aliOSS": "AliOSS"}
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 15.0


class UploadFailed(Exception):
    """The provider's own words, without any secret of the request."""


class Store(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...


def _public(url: str, provider: str) -> bool:
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return not host or host.endswith(PUBLIC_CLOUDS[provider])


def store_for(storage: egress.StorageConfig | None, endpoints: StorageEndpoints) -> Store | None:
    """The store to write to for real, or None when it is a public cloud (simulated)."""
    provider = storage.WhichOneof("provider") if storage is not None else None
    if storage is None or provider is None:
        return None
    if provider == "s3" and not _public(storage.s3.endpoint, "s3"):
        return S3Store(storage.s3)
    if provider == "aliOSS" and not _public(storage.aliOSS.endpoint, "aliOSS"):
        return OSSStore(storage.aliOSS)
    if provider == "gcp" and endpoints.gcs and not _public(endpoints.gcs, "gcp"):
        return GCSStore(storage.gcp, endpoints.gcs)
    azure = endpoints.azure_blob
    if provider == "azure" and azure and not _public(azure, "azure"):
        return AzureStore(
            storage.azure, azure.replace("{account_name}", storage.azure.account_name)
        )
    return None


def _proxy_url(proxy: egress.ProxyConfig) -> str:
    if not proxy.url or not proxy.username:
        return proxy.url
    parts = urlsplit(proxy.url)
    login = f"{quote(proxy.username, safe='')}:{quote(proxy.password, safe='')}"
    return parts._replace(netloc=f"{login}@{parts.netloc}").geturl()


# --- S3 (s3.go) ----------------------------------------------------------------------------------
class S3Store:
    name = "S3"

    def __init__(self, conf: egress.S3Upload) -> None:
        self.conf = conf

    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        conf = self.conf
        proxy = _proxy_url(conf.proxy) if conf.HasField("proxy") else ""
        config = Config(
            region_name=conf.region or "us-east-1",
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path" if conf.force_path_style else "auto"},
            proxies={"http": proxy, "https": proxy} if proxy else None,
        )
        keys = {
            "aws_access_key_id": conf.access_key or None,
            "aws_secret_access_key": conf.secret or None,
            "aws_session_token": conf.session_token or None,
        }
        if conf.assume_role_arn:
            # egress assumes the role with STS first; the sandbox asks STS at the same endpoint.
            sts = boto3.client("sts", endpoint_url=conf.endpoint, config=config, **keys)
            extra = (
                {"ExternalId": conf.assume_role_external_id} if conf.assume_role_external_id else {}
            )
            role = sts.assume_role(RoleArn=conf.assume_role_arn, RoleSessionName="egress", **extra)
            credentials = role["Credentials"]
            keys = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        return boto3.client("s3", endpoint_url=conf.endpoint, config=config, **keys)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        conf = self.conf
        extra: dict[str, Any] = {"ContentDisposition": conf.content_disposition or "inline"}
        if conf.metadata:
            extra["Metadata"] = dict(conf.metadata)
        if conf.tagging:
            extra["Tagging"] = conf.tagging
        try:
            self._client().put_object(
                Bucket=conf.bucket, Key=key, Body=data, ContentType=content_type, **extra
            )
        except ClientError as exc:
            raise UploadFailed(_s3_api_error(exc)) from exc
        except BotoCoreError as exc:
            # aws-sdk-go-v2's words for a request that never got an answer.
            raise UploadFailed(
                "operation error S3: PutObject, https response error StatusCode: 0, "
                f"RequestID: , HostID: , request send failed, {exc}"
            ) from exc


def _s3_api_error(exc: Any) -> str:
    """aws-sdk-go-v2's wording of an S3 error answer (what egress reports)."""
    response = exc.response
    meta = response.get("ResponseMetadata", {})
    error = response.get("Error", {})
    operation = "AssumeRole" if exc.operation_name == "AssumeRole" else "PutObject"
    service = "STS" if operation == "AssumeRole" else "S3"
    return (
        f"operation error {service}: {operation}, https response error StatusCode: "
        f"{meta.get('HTTPStatusCode', 0)}, RequestID: {meta.get('RequestId', '')}, "
        f"HostID: {meta.get('HostId', '')}, api error {error.get('Code', '')}: "
        f"{error.get('Message', '')}"
    )


# --- Google Cloud Storage (gcp.go) ---------------------------------------------------------------
class GCSStore:
    name = "GCP"
    scope = "https://www.googleapis.com/auth/devstorage.read_write"

    def __init__(self, conf: egress.GCPUpload, endpoint: str) -> None:
        self.conf, self.endpoint = conf, endpoint

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from google.api_core.exceptions import GoogleAPICallError
        from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError

        try:
            blob = self._client().bucket(self.conf.bucket).blob(key)
            blob.upload_from_string(
                data,
                content_type=content_type,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                retry=None,
            )
        except RefreshError as exc:
            raise UploadFailed(_oauth_error(exc)) from exc
        except GoogleAPICallError as exc:
            reason = exc.reason or ""
            raise UploadFailed(
                f"googleapi: Error {exc.code}: {exc.message}" + (f", {reason}" if reason else "")
            ) from exc
        except (GoogleAuthError, TransportError, ValueError, OSError) as exc:
            raise UploadFailed(str(exc)) from exc

    def _client(self) -> Any:
        import requests
        from google.auth.transport.requests import AuthorizedSession, Request
        from google.cloud import storage
        from google.oauth2 import service_account

        try:
            info = json.loads(self.conf.credentials)
        except ValueError as exc:
            raise UploadFailed(f"google: invalid credentials JSON: {exc}") from exc
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[self.scope]
        )
        session = requests.Session()
        if self.conf.HasField("proxy"):
            proxy = _proxy_url(self.conf.proxy)
            session.proxies.update({"http": proxy, "https": proxy})
        http = AuthorizedSession(credentials, auth_request=Request(session))
        http.proxies.update(session.proxies)
        client = storage.Client(
            project=info.get("project_id"),
            credentials=credentials,
            _http=http,
            client_options={"api_endpoint": self.endpoint},
        )
        client._bucket_metadata_cache = None  # no background metadata fetch
        return client


def _oauth_error(exc: Any) -> str:
    """golang.org/x/oauth2's wording of a refused token request."""
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    if details.get("error"):
        return f'oauth2: "{details["error"]}" "{details.get("error_description", "")}"'
    return f"oauth2: cannot fetch token: {exc.args[0] if exc.args else exc}"


# --- Azure Blob Storage (azure.go) ---------------------------------------------------------------
class AzureStore:
    name = "Azure"

    def __init__(self, conf: egress.AzureBlobUpload, account_url: str) -> None:
        self.conf, self.account_url = conf, account_url

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from azure.core.exceptions import AzureError, HttpResponseError
        from azure.storage.blob import BlobServiceClient, ContentSettings

        conf = self.conf
        credential = {"account_name": conf.account_name, "account_key": conf.account_key}
        try:
            service = BlobServiceClient(
                account_url=self.account_url,
                credential=credential,
                retry_total=0,
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )
            service.get_blob_client(conf.container_name, key).upload_blob(
                data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
        except HttpResponseError as exc:
            # azcore's ResponseError: "RESPONSE <status>: <status text>" and "ERROR CODE: <code>".
            status = exc.status_code or 0
            reason, code = exc.reason or "", getattr(exc, "error_code", None) or ""
            code = getattr(code, "value", code)  # the blob SDK's StorageErrorCode enum
            raise UploadFailed(f"RESPONSE {status}: {status} {reason}\nERROR CODE: {code}") from exc
        except (AzureError, ValueError) as exc:
            raise UploadFailed(str(exc).splitlines()[0]) from exc


# --- Alibaba Cloud OSS (alioss.go) ---------------------------------------------------------------
class OSSStore:
    name = "AliOSS"

    def __init__(self, conf: egress.AliOSSUpload) -> None:
        self.conf = conf

    def put(self, key: str, data: bytes, content_type: str) -> None:
        import oss2

        conf = self.conf
        endpoint = conf.endpoint if "//" in conf.endpoint else f"https://{conf.endpoint}"
        try:
            bucket = oss2.Bucket(
                oss2.Auth(conf.access_key, conf.secret),
                endpoint,
                conf.bucket,
                connect_timeout=CONNECT_TIMEOUT,
            )
            bucket.put_object(key, data, headers={"Content-Type": content_type})
        except oss2.exceptions.OssError as exc:
            if exc.status < 0:  # no answer (RequestError) or refused before sending (ClientError)
                raise UploadFailed(str(exc.body).split(": ", 1)[-1]) from exc
            # aliyun-oss-go-sdk's ServiceError wording.
            raise UploadFailed(
                f"oss: service returned error: StatusCode={exc.status}, ErrorCode={exc.code}, "
                f'ErrorMessage="{exc.message}", RequestId={exc.request_id}'
            ) from exc
