"""The Google Cloud Storage probe, with google-cloud-storage and a service-account JSON key.

With settings.GCS_ENDPOINT set (the tests' emulator) the probe still signs in with the real
service-account credentials rather than AnonymousCredentials: the emulator ignores the bearer
token, and a key whose token_uri points at a local token endpoint lets the tests exercise the
token exchange and its errors too. A key whose token_uri is Google's needs Google to be reachable.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from google.api_core.exceptions import GoogleAPICallError
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import AuthorizedSession, Request
from google.cloud import storage
from google.oauth2 import service_account

from egress_app.storage.probe_common import ProbeSettings, ProbeSetupError, with_code

GOOGLE_ENDPOINT = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
GRANTS = "roles/storage.objectUser (storage.objects.create, get and delete)"


class GCSTarget:
    def __init__(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], probe: ProbeSettings
    ) -> None:
        self.config, self.probe = config, probe
        self.bucket = str(config.get("bucket") or "")
        self.credentials_text = secrets.get("credentials", "")
        self.proxy_password = secrets.get("proxy_password", "")
        self.endpoint = probe.gcs_endpoint or GOOGLE_ENDPOINT
        self.where = f"bucket {self.bucket}"
        self.timeouts = (probe.connect_timeout, probe.read_timeout)
        self.client: Any = None

    def connect(self) -> str:
        if not self.bucket:
            raise ProbeSetupError("no bucket is set")
        info, credentials = self._credentials()
        session = requests.Session()
        session.proxies.update(self._proxies())
        token_request = Request(session)
        # Fetch the token now, bounded, so a revoked key fails the connect step in plain words.
        credentials.refresh(functools.partial(token_request, timeout=self.timeouts))
        http = AuthorizedSession(credentials, auth_request=token_request)
        http.proxies.update(self._proxies())
        self.client = self._client(info, credentials, http)
        # The client otherwise fetches the bucket's metadata in a background thread for tracing:
        # one more request, needing storage.buckets.get, that outlives the probe.
        self.client._bucket_metadata_cache = None
        return f"Signed in as service account {info.get('client_email')}."

    def _credentials(self) -> tuple[dict[str, Any], service_account.Credentials]:
        info = _service_account_info(self.credentials_text)
        try:
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=[SCOPE]
            )
        except ValueError as exc:
            raise ProbeSetupError(
                with_code(
                    "the service-account key is incomplete or unreadable", "ValueError", str(exc)
                )
            ) from exc
        return info, credentials

    def _client(self, info: Mapping[str, Any], credentials: Any, http: Any = None) -> Any:
        options = {"api_endpoint": self.probe.gcs_endpoint} if self.probe.gcs_endpoint else None
        return storage.Client(
            project=info.get("project_id"),
            credentials=credentials,
            _http=http,
            client_options=options,
        )

    def sign(self, key: str, seconds: int, disposition: str) -> str:
        """A V4 signed URL, signed here with the service account's private key: no request to
        Google (a HEAD needs `connect` first; signing does not)."""
        if not self.bucket:
            raise ProbeSetupError("no bucket is set")
        info, credentials = self._credentials()
        blob = self._client(info, credentials).bucket(self.bucket).blob(key)
        return str(
            blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=seconds),
                method="GET",
                api_access_endpoint=self.endpoint,
                credentials=credentials,
                response_disposition=disposition or None,
            )
        )

    def head(self, key: str) -> int | None:
        blob = self.client.bucket(self.bucket).get_blob(key, timeout=self.timeouts, retry=None)
        return None if blob is None else int(blob.size or 0)

    def keys(self, prefix: str, limit: int) -> list[str]:
        blobs = self.client.list_blobs(
            self.bucket, prefix=prefix, max_results=limit, timeout=self.timeouts, retry=None
        )
        return [str(blob.name) for blob in islice(blobs, limit)]

    def write(self, key: str, body: bytes) -> None:
        self._blob(key).upload_from_string(
            body, content_type="text/plain", timeout=self.timeouts, retry=None
        )

    def upload_file(self, key: str, path: Path, content_type: str) -> None:
        """Streamed from disk (a resumable upload above 8 MB), never all in memory."""
        self._blob(key).upload_from_filename(
            str(path), content_type=content_type, timeout=self.timeouts, retry=None
        )

    def read(self, key: str) -> bytes:
        return bytes(self._blob(key).download_as_bytes(timeout=self.timeouts, retry=None))

    def delete(self, key: str) -> None:
        self._blob(key).delete(timeout=self.timeouts, retry=None)

    def _blob(self, key: str) -> Any:
        return self.client.bucket(self.bucket).blob(key)

    def _proxies(self) -> dict[str, str]:
        url = str(self.config.get("proxy_url") or "")
        if not url:
            return {}
        username = str(self.config.get("proxy_username") or "")
        if username:
            scheme, _, rest = url.partition("://")
            login = quote(username, safe="")
            if self.proxy_password:
                login += ":" + quote(self.proxy_password, safe="")
            url = f"{scheme}://{login}@{rest}"
        return {"http": url, "https": url}

    def explain(self, exc: BaseException, step: str) -> str | None:
        if isinstance(exc, RefreshError):
            detail = str(exc.args[0] if exc.args else exc)
            return with_code(_refresh_words(detail), "RefreshError", detail)
        if isinstance(exc, GoogleAPICallError) and exc.code:
            code = f"{exc.code} {type(exc).__name__}"
            return with_code(self._words(int(exc.code), step), code, _api_message(exc))
        return None

    def _words(self, status: int, step: str) -> str:
        verb = {"write": "write objects to", "read": "read objects from"}.get(
            step, "delete objects in"
        )
        if status == 404 and step == "write":
            return f"bucket {self.bucket} does not exist; check the bucket name"
        if status == 404:
            return "the probe object vanished between writing and reading it"
        if status == 403:
            return (
                f"the service account may not {verb} bucket {self.bucket}; it needs {GRANTS} on "
                "the bucket"
            )
        if status == 407:
            return "the proxy refused the login; check the proxy username and password"
        if status == 401:
            return "Google did not accept the service-account credentials"
        return "Google Cloud Storage refused the request"


def _service_account_info(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise ProbeSetupError(
            "the credentials are not valid JSON; paste the whole JSON key file of a service account"
        ) from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else None
        raise ProbeSetupError(
            f"the credentials are {'a ' + repr(kind) if kind else 'not a service-account'} key, "
            "not a service-account JSON key; create a JSON key for a service account in Google "
            "Cloud IAM"
        )
    return info


def _refresh_words(text: str) -> str:
    lowered = text.lower()
    if "invalid_grant" in lowered and ("timeframe" in lowered or "iat and exp" in lowered):
        return "this server's clock is too far from Google's; set the server's clock right (NTP)"
    if "invalid_grant" in lowered or "invalid_client" in lowered or "disabled" in lowered:
        return (
            "Google did not accept the service-account key: the key may have been deleted or the "
            "service account disabled; create a new JSON key"
        )
    return "could not get an access token for the service account"


def _api_message(exc: GoogleAPICallError) -> str:
    """GCS's own error message: uploads put the whole response body in `exc.message`."""
    try:
        body = exc.response.json() if exc.response is not None else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc.message)
