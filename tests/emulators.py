"""Storage emulators for the tests, started once per session on free 127.0.0.1 ports and stopped
at the end: moto's S3 server (with IAM auth enforced), Azurite (from npm), a GCS emulator with a
stand-in for Google's token endpoint, and an OSS stand-in.

Session fixtures: `moto_s3`, `azurite`, `gcs_emulator`, `oss_standin`, `forward_proxy` (an HTTP
proxy with a login, forwarding only to 127.0.0.1) and `hanging_endpoint` (a loopback server that
accepts connections and never answers).
Function fixtures giving a working profile (`{"provider", "config", "secrets"}`, the keys
`run_probe` and the storage profile forms use): `s3_storage`, `azure_storage`, `gcs_storage`,
`alioss_storage`. `azure_storage` and `gcs_storage` also point settings.AZURE_BLOB_ENDPOINT /
settings.GCS_ENDPOINT at their emulator for the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_django.fixtures import Settings

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
INSTALL_HINT = "`make install-dev` (which `make test` runs) installs it with `npm ci`"
BUCKET = "egress-probe-tests"
REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # moto's default account id
# Azurite's well-known development account (published in Azure's docs; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
GCS_PROJECT = "egress-dashboard-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, seconds: float, alive: Callable[[], bool] = lambda: True) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Start a loopback HTTP server in a daemon thread; returns it and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, args=(0.05,), name=handler.__name__, daemon=True
    ).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# --- S3: moto's server with IAM authentication enforced ------------------------------------------


@dataclass
class MotoS3:
    endpoint: str
    region: str
    access_key: str  # may read, write and delete in any bucket
    secret: str
    denied_access_key: str  # a real user with no S3 permission: S3 answers AccessDenied
    denied_secret: str
    role_arn: str  # a role with S3 permissions that the denied user may assume...
    role_external_id: str  # ...only with this external id
    admin: tuple[str, str]
    bucket: str = BUCKET

    def client(self, service: str = "s3") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.admin[0],
            aws_secret_access_key=self.admin[1],
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def object_keys(self, bucket: str | None = None) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket or self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]


def _iam_user(iam: Any, name: str, actions: list[str]) -> tuple[str, str]:
    iam.create_user(UserName=name)
    if actions:
        policy = {"Version": "2012-10-17", "Statement": [_allow(actions)]}
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _allow(actions: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*", **extra}


def _moto_auth(endpoint: str, count: str) -> None:
    """Set moto's INITIAL_NO_AUTH_ACTION_COUNT through the server: 0 = check every request."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=5).close()


@contextmanager
def moto_checks_signatures(moto_s3: MotoS3, on: bool) -> Iterator[None]:
    """Switch moto's IAM check off (or on) for a while: moto cannot check a presigned URL's
    query-string signature (with the check on it answers such a GET with a 500), so a test
    that fetches one from moto switches it off and checks the URL's signature itself."""
    _moto_auth(moto_s3.endpoint, "0" if on else "inf")
    try:
        yield
    finally:
        _moto_auth(moto_s3.endpoint, "inf" if on else "0")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    from moto.server import ThreadedMotoServer

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield _setup_moto(endpoint)
    finally:
        _moto_auth(endpoint, "inf")
        server.stop()
        werkzeug.setLevel(level)


def _setup_moto(endpoint: str) -> MotoS3:
    # Until auth is switched on moto accepts any credentials: create the users, then switch it on.
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    admin = _iam_user(iam, "admin", ["*"])
    writer = _iam_user(iam, "egress-writer", ["s3:*"])
    denied = _iam_user(iam, "no-s3", ["sts:AssumeRole"])
    external_id = "egress-external-id"
    trust = _allow(
        ["sts:AssumeRole"],
        Principal={"AWS": f"arn:aws:iam::{MOTO_ACCOUNT}:user/no-s3"},
        Condition={"StringEquals": {"sts:ExternalId": external_id}},
    )
    del trust["Resource"]
    role = iam.create_role(
        RoleName="egress-uploader",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="egress-uploader",
        PolicyName="s3",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [_allow(["s3:*"])]}),
    )
    _moto_auth(endpoint, "0")
    emulator = MotoS3(endpoint, REGION, *writer, *denied, role, external_id, admin=admin)
    emulator.create_bucket(BUCKET)
    return emulator


@pytest.fixture
def s3_storage(moto_s3: MotoS3) -> dict[str, Any]:
    """A working S3 profile against moto: path-style, the writer's keys, the shared bucket."""
    config = {
        "region": moto_s3.region,
        "endpoint": moto_s3.endpoint,
        "bucket": moto_s3.bucket,
        "force_path_style": True,
        "metadata": {},
        "tagging": "",
        "content_disposition": "",
        "assume_role_arn": "",
        "proxy_url": "",
        "proxy_username": "",
    }
    secrets = {
        "access_key": moto_s3.access_key,
        "secret": moto_s3.secret,
        "session_token": "",
        "assume_role_external_id": "",
        "proxy_password": "",
    }
    return {"provider": "s3", "config": config, "secrets": secrets}


# --- Azure: Azurite's blob service ---------------------------------------------------------------


@dataclass
class Azurite:
    port: int
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY
    container: str = BUCKET

    @property
    def endpoint_template(self) -> str:
        """For settings.AZURE_BLOB_ENDPOINT: Azurite puts the account in the path."""
        return f"http://127.0.0.1:{self.port}/{{account_name}}"

    @property
    def endpoint(self) -> str:
        return self.endpoint_template.format(account_name=self.account_name)

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        credential = {"account_name": self.account_name, "account_key": self.account_key}
        return BlobServiceClient(account_url=self.endpoint, credential=credential)

    def create_container(self, name: str) -> str:
        self.service().create_container(name)
        return name

    def blob_names(self, container: str | None = None) -> list[str]:
        client = self.service().get_container_client(container or self.container)
        return [blob.name for blob in client.list_blobs()]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    if not AZURITE.exists():
        pytest.fail(f"Azurite is not installed at {AZURITE.relative_to(ROOT)}: {INSTALL_HINT}.")
    workdir = tmp_path_factory.mktemp("azurite")
    port = free_port()
    command = [
        str(AZURITE),
        *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
        *("--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"),
    ]
    log = (workdir / "azurite.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        if not wait_for_port(port, seconds=30, alive=lambda: process.poll() is None):
            output = (workdir / "azurite.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"Azurite did not start on port {port}:\n{output}")
        emulator = Azurite(port)
        emulator.create_container(emulator.container)
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def azure_storage(azurite: Azurite, settings: Settings) -> dict[str, Any]:
    """A working Azure profile against Azurite; AZURE_BLOB_ENDPOINT points at it for the test."""
    settings.AZURE_BLOB_ENDPOINT = azurite.endpoint_template
    config = {"account_name": azurite.account_name, "container_name": azurite.container}
    return {"provider": "azure", "config": config, "secrets": {"account_key": azurite.account_key}}


# --- GCS: gcp-storage-emulator, plus a stand-in for Google's OAuth token endpoint ---------------


@dataclass
class ServiceAccounts:
    """RSA keys the token stand-in knows, by private_key_id; any other key counts as deleted."""

    public_keys: dict[str, Any] = field(default_factory=dict)


def _token_handler(accounts: ServiceAccounts) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(QuietHandler):
        """Google's token endpoint for the JWT-bearer grant, as the google-auth library uses it."""

        def do_POST(self) -> None:
            form = dict(
                part.split("=", 1) for part in self.body().decode().split("&") if "=" in part
            )
            assertion = unquote(form.get("assertion", ""))
            try:
                kid = jwt.get_unverified_header(assertion).get("kid", "")
                jwt.decode(
                    assertion,
                    accounts.public_keys[kid],
                    algorithms=["RS256"],
                    options={"verify_aud": False},
                )
            except (KeyError, jwt.PyJWTError):
                error = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                self.answer(400, json.dumps(error).encode(), {"Content-Type": "application/json"})
                return
            token = {"access_token": "ya29.emulator", "expires_in": 3600, "token_type": "Bearer"}
            self.answer(200, json.dumps(token).encode(), {"Content-Type": "application/json"})

    return TokenHandler


@dataclass
class GCSEmulator:
    endpoint: str
    token_uri: str
    accounts: ServiceAccounts
    bucket: str = BUCKET
    project: str = GCS_PROJECT

    def client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        # The fixture's own housekeeping; the emulator checks no credentials.
        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(name)
        return name

    def object_names(self, bucket: str | None = None) -> list[str]:
        return [blob.name for blob in self.client().list_blobs(bucket or self.bucket)]

    def service_account_json(self, *, known: bool = True, name: str = "egress-writer") -> str:
        """A service-account JSON key; with known=False the token endpoint rejects it."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = uuid.uuid4().hex
        if known:
            self.accounts.public_keys[key_id] = key.public_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": f"{name}@{self.project}.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
        }
        return json.dumps(info, indent=2)


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GCSEmulator]:
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    accounts = ServiceAccounts()
    tokens, token_url = serve(_token_handler(accounts))
    try:
        emulator = GCSEmulator(f"http://127.0.0.1:{port}", f"{token_url}/token", accounts)
        emulator.create_bucket(emulator.bucket)
        yield emulator
    finally:
        tokens.shutdown()
        tokens.server_close()
        server.stop()


@pytest.fixture(scope="session")
def gcs_credentials(gcs_emulator: GCSEmulator) -> str:
    """One known service-account key for the session (generating an RSA key takes ~50 ms)."""
    return gcs_emulator.service_account_json()


@pytest.fixture
def gcs_storage(
    gcs_emulator: GCSEmulator, gcs_credentials: str, settings: Settings
) -> dict[str, Any]:
    """A working GCS profile against the emulator; GCS_ENDPOINT points at it for the test."""
    settings.GCS_ENDPOINT = gcs_emulator.endpoint
    config = {"bucket": gcs_emulator.bucket, "proxy_url": "", "proxy_username": ""}
    secrets = {"credentials": gcs_credentials, "proxy_password": ""}
    return {"provider": "gcp", "config": config, "secrets": secrets}


# --- OSS: no OSS emulator runs here; a stand-in that checks OSS signature V1 --------------------


@dataclass
class OSSStandin:
    """Answers PUT/GET/DELETE of objects like OSS does, with OSS's XML error bodies.

    It checks the V1 signature (HMAC-SHA1 over verb, Content-MD5, Content-Type, Date, x-oss-*
    headers and /bucket/key) against its one key pair, and knows the buckets it was given.
    """

    endpoint: str
    access_key: str
    secret: str
    buckets: dict[str, dict[str, bytes]]
    bucket: str = BUCKET
    region: str = "cn-hangzhou"
    # Force an error code for every request to a bucket, e.g. {"locked": "AccessDenied"}.
    errors: dict[str, str] = field(default_factory=dict)


OSS_ERRORS = {
    "InvalidAccessKeyId": (
        403,
        "The OSS Access Key Id you provided does not exist in our records.",
    ),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "AccessDenied": (403, "You have no right to access this object because of bucket acl."),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the current time is too large.",
    ),
}


def _oss_handler(state: list[OSSStandin]) -> type[BaseHTTPRequestHandler]:
    class OSSHandler(QuietHandler):
        def do_PUT(self) -> None:
            self.handle_object()

        def do_GET(self) -> None:
            self.handle_object()

        def do_DELETE(self) -> None:
            self.handle_object()

        def do_HEAD(self) -> None:
            self.handle_object()

        def handle_object(self) -> None:
            oss, body = state[0], self.body()
            parts = urlsplit(self.path)
            bucket, _, quoted_key = parts.path.lstrip("/").partition("/")
            key = unquote(quoted_key)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if "Signature" in query:  # a signed URL: the signature and its expiry in the query
                access_key, signature = query.get("OSSAccessKeyId", ""), query["Signature"]
                date = query.get("Expires", "")
                if not date.isdigit() or int(date) < time.time():
                    return self.error("AccessDenied", access_key, "Request has expired.")
            else:
                authorization = self.headers.get("Authorization", "").removeprefix("OSS ")
                access_key, _, signature = authorization.partition(":")
                date = self.headers.get("Date", "")
            if access_key != oss.access_key:
                return self.error("InvalidAccessKeyId", access_key)
            resource = f"/{bucket}/{key}" + _oss_subresources(query)
            if signature != self.signature(oss.secret, resource, date):
                return self.error("SignatureDoesNotMatch", access_key)
            if bucket in oss.errors:
                return self.error(oss.errors[bucket], access_key)
            if bucket not in oss.buckets:
                return self.error("NoSuchBucket", access_key)
            objects = oss.buckets[bucket]
            if self.command == "PUT":
                objects[key] = body
                return self.answer(200, headers={"ETag": '"probe"'})
            if self.command == "DELETE":
                objects.pop(key, None)
                return self.answer(204)
            if key not in objects:
                return self.error("NoSuchKey", access_key)
            headers = {"Content-Type": "text/plain"}
            if disposition := query.get("response-content-disposition"):
                headers["Content-Disposition"] = disposition
            if self.command == "HEAD":
                return self.answer_head(len(objects[key]), headers)
            return self.answer(200, objects[key], headers)

        def answer_head(self, size: int, headers: dict[str, str], status: int = 200) -> None:
            self.send_response(status)
            for name, value in (headers | {"Content-Length": str(size)}).items():
                self.send_header(name, value)
            self.end_headers()

        def signature(self, secret: str, resource: str, date: str) -> str:
            oss_headers = sorted(
                (name.lower(), value.strip())
                for name, value in self.headers.items()
                if name.lower().startswith("x-oss-")
            )
            text = "\n".join(
                [
                    self.command,
                    self.headers.get("Content-MD5", ""),
                    self.headers.get("Content-Type", ""),
                    date,
                    "".join(f"{name}:{value}\n" for name, value in oss_headers) + resource,
                ]
            )
            digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
            return base64.b64encode(digest).decode()

        def error(self, code: str, access_key: str, message: str = "") -> None:
            status, message = OSS_ERRORS[code][0], message or OSS_ERRORS[code][1]
            # Like OSS, echo the access key id back in the body.
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
                f"  <Code>{code}</Code>\n  <Message>{message}</Message>\n"
                "  <RequestId>5C3D9175B6FC201293AD4890</RequestId>\n"
                "  <HostId>127.0.0.1</HostId>\n"
                f"  <OSSAccessKeyId>{access_key}</OSSAccessKeyId>\n</Error>\n"
            ).encode()
            headers = {
                "Content-Type": "application/xml",
                "x-oss-request-id": "5C3D9175B6FC201293AD4890",
                "Date": formatdate(usegmt=True),
            }
            if self.command == "HEAD":  # OSS answers a HEAD's error in headers only
                return self.answer_head(0, headers | {"x-oss-ec": code}, status)
            self.answer(status, body, headers)
            return None

    return OSSHandler


# The query parameters OSS signs with the resource (oss2's `_subresource_key_set`, in part).
_OSS_SUBRESOURCES = ("response-content-disposition", "response-content-type", "acl", "uploadId")


def _oss_subresources(query: dict[str, str]) -> str:
    signed = sorted((name, value) for name, value in query.items() if name in _OSS_SUBRESOURCES)
    text = "&".join(f"{name}={value}" if value else name for name, value in signed)
    return f"?{text}" if text else ""


@pytest.fixture(scope="session")
def oss_standin() -> Iterator[OSSStandin]:
    state: list[OSSStandin] = []
    server, url = serve(_oss_handler(state))
    errors = {"locked-bucket": "AccessDenied", "skewed-bucket": "RequestTimeTooSkewed"}
    standin = OSSStandin(url, "LTAI5tStandinKeyId01", "standin-secret-0123456789", {BUCKET: {}})
    state.append(standin)
    standin.errors.update(errors)
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alioss_storage(oss_standin: OSSStandin) -> dict[str, Any]:
    """A working OSS profile against the stand-in."""
    config = {"region": oss_standin.region, "endpoint": oss_standin.endpoint, "bucket": BUCKET}
    secrets = {"access_key": oss_standin.access_key, "secret": oss_standin.secret}
    return {"provider": "alioss", "config": config, "secrets": secrets}


# --- An endpoint that accepts connections and never answers -------------------------------------


@pytest.fixture(scope="session")
def hanging_endpoint() -> Iterator[str]:
    """http://127.0.0.1:PORT of a listening socket nobody reads from: requests to it time out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # the kernel completes the handshakes; nothing ever answers
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- An HTTP forward proxy with a login, for the storage profiles' proxy settings ----------------


@dataclass
class ForwardProxy:
    url: str
    username: str
    password: str
    forwarded: list[str] = field(default_factory=list)  # "METHOD URL" of each forwarded request


def _proxy_handler(state: list[ForwardProxy]) -> type[BaseHTTPRequestHandler]:
    class ProxyHandler(QuietHandler):
        def do_GET(self) -> None:
            self.forward()

        do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_GET

        def forward(self) -> None:
            proxy, body = state[0], self.body()
            login = f"{proxy.username}:{proxy.password}".encode()
            expected = "Basic " + base64.b64encode(login).decode()
            if self.headers.get("Proxy-Authorization") != expected:
                return self.answer(407, b"", {"Proxy-Authenticate": 'Basic realm="tests"'})
            target = urlsplit(self.path)
            if target.hostname != "127.0.0.1":  # the tests' proxy never leaves this machine
                return self.answer(403)
            proxy.forwarded.append(f"{self.command} {self.path}")
            headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
            connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
            path = target.path + (f"?{target.query}" if target.query else "")
            connection.request(self.command, path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            skip = {"transfer-encoding", "connection", "content-length"}
            kept = {k: v for k, v in response.getheaders() if k.lower() not in skip}
            connection.close()
            return self.answer(response.status, data, kept)

    return ProxyHandler


@pytest.fixture(scope="session")
def forward_proxy() -> Iterator[ForwardProxy]:
    state: list[ForwardProxy] = []
    server, url = serve(_proxy_handler(state))
    state.append(ForwardProxy(url, "egress-proxy", "proxy-pass-0123456789"))
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
