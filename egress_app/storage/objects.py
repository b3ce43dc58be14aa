"""Objects a job wrote, reached through its storage profile's provider SDK: short-lived signed
GET URLs (Play, Download, HLS segments, thumbnails), HEADs (is it there, is it empty) and
listings (an image output's files).

A signed URL is made by the SDK with the profile's credentials (S3 presigned GET, GCS V4 signed
URL, Azure read-only SAS, OSS signed URL): it carries a signature, never a secret. Every call
here is bounded by the SDKs' own timeouts and returns or raises plain words with the profile's
secrets hidden, as the connection test does (`probe_<provider>.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.utils.http import content_disposition_header

from egress_app.storage.probe_common import ProbeSettings, Target, explain, redactor, sentence
from egress_app.storage.probes import make_target

# Each request of a HEAD, a listing or a playlist read may take this long: the job page asks
# for them lazily, so a slow store delays only that part of the page.
TIMEOUT = 5.0
# A playlist the dashboard reads and rewrites; a real one is a few kB per hour of video.
PLAYLIST_LIMIT = 2_000_000


class ObjectError(Exception):
    """The store could not be asked, in plain words with the secrets hidden."""


@dataclass(frozen=True)
class Store:
    """Where a job's outputs are and the credentials to reach them: a storage profile's."""

    provider: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str]

    def target(self) -> Target:
        try:
            return make_target(
                self.provider, self.config, self.secrets, ProbeSettings.from_django(TIMEOUT)
            )
        except KeyError:
            raise ObjectError(f"Unknown storage provider {self.provider!r}.") from None


@dataclass(frozen=True)
class Found:
    """What a HEAD found: the size (None: no such object), or why it could not tell."""

    size: int | None
    error: str = ""

    @property
    def missing(self) -> bool:
        return not self.error and self.size is None

    @property
    def empty(self) -> bool:
        return not self.error and self.size == 0


def attachment(filename: str) -> str:
    """The Content-Disposition a download asks the store to answer with."""
    return content_disposition_header(True, filename.rsplit("/", 1)[-1] or "download") or ""


def signed_url(store: Store, key: str, *, seconds: int, download: bool = False) -> str:
    """A GET URL for `key` valid for `seconds`; with `download`, answered as an attachment."""
    target = store.target()
    disposition = attachment(key) if download else ""
    return _asked(store, target, "read", lambda: target.sign(key, seconds, disposition))


def heads(store: Store, keys: Iterable[str]) -> dict[str, Found]:
    """Each key's HEAD, with one client; never raises (a failure is each key's `error`)."""
    keys = list(dict.fromkeys(keys))
    try:
        target = store.target()
        _asked(store, target, "connect", target.connect)
    except ObjectError as error:
        return {key: Found(None, str(error)) for key in keys}
    found: dict[str, Found] = {}
    for key in keys:
        try:
            found[key] = Found(_asked(store, target, "read", partial(target.head, key)))
        except ObjectError as error:
            # A refused or unanswered HEAD is the store's or the credentials' doing, not one
            # object's: the other keys would wait as long for the same answer.
            return found | {k: Found(None, str(error)) for k in keys if k not in found}
    return found


def origin(store: Store) -> str | None:
    """Where the store's signed URLs point (scheme://host[:port]), None if it cannot tell.
    Signed locally: an S3 role is not assumed for it (the URL's host does not depend on it)."""
    config = {**store.config, "assume_role_arn": ""} if store.provider == "s3" else store.config
    try:
        url = signed_url(Store(store.provider, config, store.secrets), "origin", seconds=60)
    except ObjectError:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def keys(store: Store, prefix: str, limit: int) -> list[str]:
    """Up to `limit` keys that start with `prefix`, in the store's (name) order."""
    target = store.target()
    _asked(store, target, "connect", target.connect)
    return _asked(store, target, "read", lambda: target.keys(prefix, limit))


def read_small(store: Store, key: str) -> bytes:
    """A small object's bytes (a playlist): ObjectError if it is missing or too large."""
    found = heads(store, [key])[key]
    if found.error:
        raise ObjectError(found.error)
    if found.size is None:
        raise ObjectError(f"{key} is not in the store.")
    if found.size > PLAYLIST_LIMIT:
        raise ObjectError(f"{key} is larger than {PLAYLIST_LIMIT} bytes.")
    target = store.target()
    _asked(store, target, "connect", target.connect)
    return _asked(store, target, "read", lambda: target.read(key))


def _asked[T](store: Store, target: Target, step: str, call: Callable[[], T]) -> T:
    try:
        result = call()
    except Exception as exc:
        words = sentence(explain(target, exc, step))
        raise ObjectError(redactor(store.secrets)(words)) from None
    return result
