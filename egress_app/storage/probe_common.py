"""What the per-provider probe targets share: settings, the `Target` shape, plain-words errors for
network failures, and redaction of secret values from anything an SDK says."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from egress_app import redact

STEPS = ("connect", "write", "read", "delete")
# The SDK's own connect timeout; the read timeout is the whole probe's budget.
CONNECT_TIMEOUT = 5.0
DETAIL_LIMIT = 300


@dataclass(frozen=True)
class ProbeSettings:
    timeout: float
    azure_blob_endpoint: str
    gcs_endpoint: str

    @classmethod
    def from_django(cls, timeout: float) -> ProbeSettings:
        return cls(timeout, settings.AZURE_BLOB_ENDPOINT, settings.GCS_ENDPOINT)

    @property
    def connect_timeout(self) -> float:
        return min(CONNECT_TIMEOUT, self.timeout)

    @property
    def read_timeout(self) -> float:
        return self.timeout


class Target(Protocol):
    """One provider's probe. Each method may raise; `explain` turns what it raised into words."""

    where: str  # "bucket b" or "container c", for messages
    endpoint: str  # the URL the SDK talks to, for network errors

    def connect(self) -> str: ...
    def write(self, key: str, body: bytes) -> None: ...
    def upload_file(self, key: str, path: Path, content_type: str) -> None: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    # Objects a job wrote (storage/objects.py): a signed GET, a HEAD (size, None if missing)
    # and a listing. `sign` connects when it must (GCS signs with no request); the others need
    # `connect` first.
    def sign(self, key: str, seconds: int, disposition: str) -> str: ...
    def head(self, key: str) -> int | None: ...
    def keys(self, prefix: str, limit: int) -> list[str]: ...
    def explain(self, exc: BaseException, step: str) -> str | None: ...


class ProbeSetupError(Exception):
    """A setting the probe cannot work with, already in plain words."""


class ProbeMismatch(Exception):
    """The object read back is not the one written."""

    def __init__(self, wrote: int, got: int) -> None:
        super().__init__(
            f"the object read back is not the one written (wrote {wrote} bytes, "
            f"read back {got} different bytes)"
        )


def quiet_sdk_logs(*names: str) -> None:
    """Keep SDK loggers at WARNING unless the logging settings chose a level for them.

    botocore and oss2 log request headers at DEBUG (access key, session token, external id) and
    azure-core logs every request at INFO: a connection test must not put those in the logs.
    """
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def explain(target: Target, exc: BaseException, step: str) -> str:
    if isinstance(exc, ProbeSetupError | ProbeMismatch):
        return str(exc)
    return (
        target.explain(exc, step)
        or network_words(exc, target.endpoint)
        or with_code("the storage service returned an error", type(exc).__name__, str(exc))
    )


def with_code(words: str, code: str, detail: str) -> str:
    """Plain words followed by the provider's own code and message in parentheses."""
    detail = " ".join(detail.split())
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    return f"{words} ({code}: {detail})" if detail else f"{words} ({code})"


def network_words(exc: BaseException, endpoint: str, code: str = "") -> str | None:
    """Plain words for a failure to reach the endpoint, or None if `exc` is something else."""
    causes = list(_causes(exc))
    names = " ".join(type(c).__name__ for c in causes)
    text = " ".join(str(c) for c in causes)
    where = endpoint or "the storage endpoint"
    if "Proxy" in names:
        words = f"could not connect through the proxy to {where}; check the proxy URL and login"
    elif any(isinstance(c, ConnectionRefusedError) for c in causes) or "Connection refused" in text:
        words = (
            f"could not connect to {where}: the connection was refused; check the endpoint URL "
            "and that the storage service is running and reachable from this server"
        )
    elif any(isinstance(c, socket.gaierror) for c in causes) or "NameResolution" in names:
        words = f"could not find the host of {where} (the DNS lookup failed); check the endpoint"
    elif "Timeout" in names or any(isinstance(c, TimeoutError) for c in causes):
        words = f"{where} timed out: it did not answer in time"
    elif any(isinstance(c, ssl.SSLError) for c in causes) or "SSL" in names:
        words = f"the secure (TLS) connection to {where} failed; check the endpoint's certificate"
    elif any(isinstance(c, ConnectionError) for c in causes) or "Connection" in names:
        words = f"could not connect to {where}; check the endpoint URL and the network"
    else:
        return None
    return with_code(words, code or type(exc).__name__, str(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: SDKs keep the socket error in different attributes."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        kwargs = getattr(current, "kwargs", None)
        todo += [current.__cause__, current.__context__, *current.args]
        todo += [
            getattr(current, name, None) for name in ("reason", "exception", "inner_exception")
        ]
        todo += [kwargs.get("error")] if isinstance(kwargs, dict) else []


def sentence(text: str) -> str:
    """Capitalized, and ending in a full stop unless it ends with the provider's (code: message)."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", ")")) else text + "."


def step_failure(step: str, where: str, explanation: str) -> str:
    """The probe's one-sentence outcome when `step` was the first to fail."""
    return sentence(
        {
            "connect": f"Could not connect: {explanation}",
            "write": f"Could not write the probe object to {where}: {explanation}",
            "read": f"Wrote the probe object but could not read it back: {explanation}",
            "delete": (
                f"Wrote and read back the probe object but could not delete it from {where}: "
                f"{explanation}"
            ),
        }[step]
    )


def redactor(secrets: Mapping[str, str]) -> Callable[[str], str]:
    """A function that hides every secret value in a message (egress_app.redact's rule), and
    of a service-account JSON key its private parts too."""
    return redact.redactor(part for value in secrets.values() for part in _secret_parts(value))


def _secret_parts(value: str) -> set[str]:
    """The value, and for a service-account JSON key its private parts and key lines too."""
    parts = {value, value.strip()}
    try:
        info = json.loads(value)
    except ValueError:
        return parts
    if isinstance(info, dict):
        for name in ("private_key", "private_key_id", "client_secret", "refresh_token"):
            secret = info.get(name)
            if isinstance(secret, str) and secret:
                parts.add(secret)
                parts |= {line for line in secret.splitlines() if len(line) >= 16}
    return parts
