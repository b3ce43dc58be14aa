"""Files the dashboard itself uploads through a storage profile (an audio session's recording),
with the same provider classes as the connection test (`probe_<provider>.py`): the same SDK
settings, the same plain-words errors, the same redaction of secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from egress_app.storage.probe_common import ProbeSettings, explain, redactor, sentence
from egress_app.storage.probes import make_target

# Each request of an upload may take this long to be answered (the connect timeout is the
# probe's); a recording is uploaded in parts, so this bounds each part, not the whole file.
READ_TIMEOUT = 120.0
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Uploaded:
    ok: bool
    where: str  # "bucket b", for people
    error: str  # plain words, secrets hidden; "" when ok


def upload_file(
    provider: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    key: str,
    path: Path,
    content_type: str,
) -> Uploaded:
    """Upload `path` to `key`, streamed from disk; never raises (a failure comes back in words)."""
    redact = redactor(secrets)
    try:
        target = make_target(provider, config, secrets, ProbeSettings.from_django(READ_TIMEOUT))
    except KeyError:
        return Uploaded(False, "", f"Unknown storage provider {provider!r}.")
    step = "connect"
    try:
        target.connect()
        step = "write"
        target.upload_file(key, path, content_type)
    except Exception as exc:
        words = explain(target, exc, step)
        where = target.where if step == "write" else ""
        message = (
            f"Could not upload to {where}: {words}" if where else f"Could not connect: {words}"
        )
        return Uploaded(False, target.where, redact(sentence(message)))
    return Uploaded(True, target.where, "")


def fixed_folder(path_template: str) -> str:
    """The fixed folder a profile's path template starts with ("recordings/" of
    "recordings/{room_name}/{time}"): where the dashboard's own files go too, as bucket
    policies often allow only that prefix. "" when the template starts with a placeholder."""
    fixed = path_template.strip().lstrip("/").split("{", 1)[0]
    return fixed.rpartition("/")[0] + "/" if "/" in fixed else ""


def recording_key(path_template: str, room: str, session_id: int, started: datetime) -> str:
    """`<folder>audio-sessions/<room>/<session>-<UTC start>.wav`, the room made safe for a key."""
    safe_room = UNSAFE.sub("_", room).strip("._") or "room"
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    return f"{fixed_folder(path_template)}audio-sessions/{safe_room}/{session_id}-{stamp}.wav"
