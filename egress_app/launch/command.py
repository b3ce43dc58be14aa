"""A job's request as LiveKit's CLI takes it: `lk egress start [--type TYPE] request.json`.

The JSON is the request our Start sent, built again from the job's kept configuration, with a
placeholder wherever it carried a secret: storage credentials (`<S3_SECRET>`), the stream URLs
with their keys (`rtmp://<STREAM_URL_1>`), a track egress websocket URL (`<WEBSOCKET_URL>`).
Nothing is decrypted for it but the names of a profile's secrets that are set. The CLI reads
the file with protojson (livekit-cli cmd/lk/proto.go `ReadRequestFileOrLiteral`); without
`--type` it is a v2 StartEgressRequest, with one a v1 per-type request (cmd/lk/egress.go
`handleEgressStart`).
"""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.crypto import SecretKeyError
from egress_app.launch.config import LaunchConfig
from egress_app.launch.requests import built_call
from egress_app.models import EgressJob, StorageProfile
from egress_app.storage.providers import Provider

# Our kinds -> the CLI's `--type` values for the v1 requests (cmd/lk/egress.go `egressType`).
CLI_TYPES = {
    "room_composite": "room-composite",
    "web": "web",
    "participant": "participant",
    "track_composite": "track-composite",
    "track": "track",
}
REQUEST_FILE = "request.json"
WEBSOCKET_PLACEHOLDER = "<WEBSOCKET_URL>"


@dataclass(frozen=True)
class LkCommand:
    command: str  # the shell line
    request_json: str  # what goes in request.json
    placeholders: list[tuple[str, str]]  # (placeholder, what to put there)


def placeholder(provider: str, secret: str) -> str:
    """`<S3_SECRET>`, `<GCP_CREDENTIALS>`: the provider and the secret's name."""
    return f"<{provider}_{secret}>".upper()


class _PlaceholderUpload:
    """A storage profile's upload with each secret it holds replaced by a placeholder."""

    def __init__(self, profile: StorageProfile) -> None:
        self._profile = profile
        spec = profile.provider_spec
        self.secrets = {name: placeholder(spec.key, name) for name in _secrets_set(profile)}

    @property
    def provider_spec(self) -> Provider:
        return self._profile.provider_spec

    @property
    def path_template(self) -> str:
        return self._profile.path_template

    def upload(self) -> Message:
        return self.provider_spec.upload(self._profile.config, self.secrets)

    def storage_config(self) -> egress.StorageConfig:
        return self.provider_spec.storage_config(self._profile.config, self.secrets)


def _secrets_set(profile: StorageProfile) -> list[str]:
    """The names of the profile's secrets that have a value (the required ones when the key
    that reads them is gone): only the names, never the values, leave this function."""
    spec = profile.provider_spec
    names = [field.name for field in spec.secret_fields if field.required]
    with contextlib.suppress(SecretKeyError):
        names = [name for name, value in profile.secrets().items() if value]
    order = [field.name for field in spec.secret_fields]
    return sorted(set(names) & set(order), key=order.index)


def _stream_placeholders(job: EgressJob) -> tuple[list[str], list[tuple[str, str]]]:
    """Placeholder URLs in the order the call dials them: destinations, then ad-hoc URLs; each
    keeps its scheme (it chooses RTMP or SRT) and hides the rest."""
    config = cast(LaunchConfig, job.config)
    stream = config["outputs"].get("stream")
    if stream is None:
        return [], []
    found = {d.pk: d for d in job.destinations.all()}
    urls: list[str] = []
    legend: list[tuple[str, str]] = []
    for pk in stream["destination_ids"]:
        destination = found.get(pk)
        scheme = destination.protocol if destination is not None else "rtmp"
        name = f"<STREAM_URL_{len(urls) + 1}>"
        urls.append(f"{scheme}://{name}")
        what = f"destination {destination.name}" if destination is not None else "a deleted one"
        legend.append((name, f"the stream URL, key included, of {what}"))
    for url in job.adhoc_outputs:
        if not url:
            continue
        name = f"<STREAM_URL_{len(urls) + 1}>"
        urls.append(f"{url.partition('://')[0].lower() or 'rtmp'}://{name}")
        legend.append((name, "an ad-hoc stream URL, key included"))
    return urls, legend


def lk_command(job: EgressJob) -> LkCommand | None:
    """The `lk` command that starts this job's egress again; None for a job not launched here
    (no configuration of ours) or one whose configuration no longer builds."""
    if not job.launched_here:
        return None
    try:
        return _built(job)
    except (AttributeError, KeyError, TypeError, ValueError):  # a configuration kept by an
        return None  # older release, or written by hand: no command rather than a broken page


def _built(job: EgressJob) -> LkCommand:
    config = cast(LaunchConfig, copy.deepcopy(job.config))
    legend: list[tuple[str, str]] = []
    if (track := config.get("track")) and track.get("websocket_url"):
        track["websocket_url"] = WEBSOCKET_PLACEHOLDER
        legend.append((WEBSOCKET_PLACEHOLDER, "the websocket URL, token included"))
    upload = None
    if job.storage_profile is not None:
        upload = _PlaceholderUpload(job.storage_profile)
        legend += [
            (name, f"the storage profile's {secret}") for secret, name in upload.secrets.items()
        ]
    urls, streams = _stream_placeholders(job)
    call = built_call(config, upload, urls)
    return LkCommand(_command_line(config), _json(call.request), legend + streams)


def _command_line(config: LaunchConfig) -> str:
    if config.get("api") == "v2":
        return f"lk egress start {REQUEST_FILE}"
    return f"lk egress start --type {CLI_TYPES[config['kind']]} {REQUEST_FILE}"


def _json(request: Message) -> str:
    """protojson as LiveKit's CLI reads it: camelCase names, enums by name."""
    document: dict[str, Any] = json_format.MessageToDict(request)
    return json.dumps(document, indent=2)
