"""LiveKit's rules for where a launch goes: a file, HLS segments, snapshots, stream URLs
(livekit/egress pkg/config/output*.go, urls.go)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from egress_app.launch.config import (
    FILE_TYPES,
    IMAGE_SUFFIXES,
    OUTPUTS,
    SEGMENT_SUFFIXES,
    STREAM_FAMILIES,
    WHOLE_NUMBER,
    Errors,
    FileOutput,
    ImagesOutput,
    LaunchConfig,
    OutputName,
    SegmentsOutput,
    StreamOutput,
    is_int,
    is_row_id,
    merge_errors,
)
from egress_app.launch.normalize import has_media
from egress_app.launch.paths import clean_path, split_path, without_extension
from egress_app.models import StreamDestination
from egress_app.storage import destinations
from egress_app.storage.providers import path_template_error

NO_OUTPUT = "Choose at least one output."
ADHOC_RTMP = "RTMP URLs look like rtmp://host/app/stream-key."
ADHOC_NO_KEY = f"This URL has no stream key at the end: {ADHOC_RTMP}"
ADHOC_NO_APP = f"This URL has no application path before the stream key: {ADHOC_RTMP}"
ADHOC_SHORTHAND = "Put the stream key after the scheme: mux://KEY or twitch://KEY."


# --- outputs -------------------------------------------------------------------------------------
def _output_errors(config: LaunchConfig) -> Errors:
    outputs = config["outputs"]
    if config["kind"] == "track":
        errors = _track_output_errors(config)
    elif not any(outputs[name] is not None for name in OUTPUTS):
        return {"outputs": NO_OUTPUT}
    else:
        errors = {}
    if outputs["file"] is not None:
        merge_errors(errors, _file_errors(outputs["file"]))
    if outputs["segments"] is not None:
        merge_errors(errors, _segments_errors(outputs["segments"]))
    if outputs["images"] is not None:
        merge_errors(errors, _images_errors(outputs["images"], video=has_media(config)[1]))
    return errors


def _track_output_errors(config: LaunchConfig) -> Errors:
    outputs, websocket = config["outputs"], config["track"]["websocket_url"]
    errors: Errors = {}
    refused: dict[OutputName, str] = {
        "stream": "A track egress does not stream: record a track composite instead.",
        "segments": "A track egress writes no HLS segments: record a track composite instead.",
        "images": "A track egress takes no snapshots: record a track composite instead.",
    }
    for name, message in refused.items():
        if outputs[name] is not None:
            errors[f"outputs.{name}"] = message
    file = outputs["file"]
    if file is not None and websocket:
        errors["outputs.file"] = "A track egress writes a file or a WebSocket stream, not both."
    elif file is None and not websocket:
        errors["outputs"] = "Choose a file output or a WebSocket address for the track."
    if file is not None and file["file_type"] != "DEFAULT_FILETYPE":
        errors["outputs.file.file_type"] = (
            "A track is saved in the container of its own codec: leave the file type on default."
        )
    return errors


def _path_errors(output: Mapping[str, Any], prefix: str, names: Sequence[str]) -> Errors:
    errors: Errors = {}
    for name in names:
        if message := path_template_error(output[name]):
            errors[f"{prefix}.{name}"] = message
    return errors


def _file_errors(file: FileOutput) -> Errors:
    errors = _path_errors(file, "outputs.file", ("filepath",))
    if file["file_type"] not in FILE_TYPES:
        errors["outputs.file.file_type"] = "Choose a file type."
    return errors


def _segments_errors(segments: SegmentsOutput) -> Errors:
    names = ("filename_prefix", "playlist_name", "live_playlist_name")
    errors = _path_errors(segments, "outputs.segments", names)
    duration = segments["segment_duration"]
    if not is_int(duration):
        errors["outputs.segments.segment_duration"] = WHOLE_NUMBER
    elif duration < 1:
        errors["outputs.segments.segment_duration"] = "Segments last at least 1 second."
    if segments["filename_suffix"] not in SEGMENT_SUFFIXES:
        errors["outputs.segments.filename_suffix"] = "Choose index or timestamp."
    if message := live_playlist_error(segments):
        errors.setdefault("outputs.segments.live_playlist_name", message)
    return errors


def live_playlist_error(segments: SegmentsOutput) -> str | None:
    """egress's rules for the live playlist (pkg/config/output_segment.go)."""
    live_dir, live_name = split_path(clean_path(segments["live_playlist_name"]))
    if not live_name:
        return None
    playlist_dir, playlist_name = split_path(clean_path(segments["playlist_name"]))
    if live_dir and live_dir != playlist_dir:
        return "The live playlist must be in the same folder as the playlist."
    prefix_name = split_path(clean_path(segments["filename_prefix"]))[1]
    if without_extension(live_name) == without_extension(playlist_name or prefix_name):
        return "The live playlist needs a name of its own, not the playlist's."
    return None


def _images_errors(images: ImagesOutput, *, video: bool) -> Errors:
    errors = _path_errors(images, "outputs.images", ("filename_prefix",))
    if not video:
        errors["outputs.images"] = "Snapshots need video, and this recording has none."
    interval = images["capture_interval"]
    if not is_int(interval):
        errors["outputs.images.capture_interval"] = WHOLE_NUMBER
    elif interval < 1:
        errors["outputs.images.capture_interval"] = "Take a snapshot at most once a second."
    for name in ("width", "height"):
        if not is_int(images[name]):
            errors[f"outputs.images.{name}"] = WHOLE_NUMBER
        elif images[name] < 0:
            errors[f"outputs.images.{name}"] = "Leave it at 0 for the video's size, or more."
    if images["filename_suffix"] not in IMAGE_SUFFIXES:
        errors["outputs.images.filename_suffix"] = "Choose index, timestamp or overwrite."
    return errors


# --- stream URLs ---------------------------------------------------------------------------------
def _stream_errors(stream: StreamOutput, adhoc_urls: list[str]) -> Errors:
    ids, shown = stream["destination_ids"], stream["adhoc"]
    if not ids and not shown and not adhoc_urls:
        return {"outputs.stream": "Choose a destination or enter a stream URL."}
    errors: Errors = {}
    families = set()
    if not all(is_row_id(pk) for pk in ids):
        errors["outputs.stream.destination_ids"] = "Choose destinations from the list."
    elif ids:
        found = dict(StreamDestination.objects.filter(pk__in=ids).values_list("pk", "protocol"))
        if len(found) < len(set(ids)):
            errors["outputs.stream.destination_ids"] = "A chosen destination no longer exists."
        families |= {STREAM_FAMILIES.get(protocol, protocol) for protocol in found.values()}
    # The display list can only name URLs the caller still has (the dashboard keeps none).
    if shown and len(adhoc_urls) != len(shown):
        errors["outputs.stream.adhoc"] = (
            "Enter the ad-hoc stream URLs again: the dashboard does not keep them."
        )
    for index, url in enumerate(adhoc_urls):
        if message := adhoc_url_error(url):
            errors[f"outputs.stream.adhoc.{index}"] = message
        else:
            families.add(STREAM_FAMILIES[destinations.protocol_of(_lower_scheme(url))])
    if len(families) > 1:
        errors["outputs.stream"] = "One stream output carries RTMP or SRT URLs, not both."
    return errors


def _lower_scheme(url: str) -> str:
    scheme, sep, rest = url.strip().partition("://")
    return f"{scheme.lower()}{sep}{rest}"


def _split_stream_url(url: str) -> tuple[str, str]:
    """A whole RTMP URL as the server URL and the stream key a destination would store."""
    url = _lower_scheme(url)
    scheme, _, rest = url.partition("://")
    if scheme in ("rtmp", "rtmps") and "/" in rest:
        server_url, _, key = url.rpartition("/")
        return server_url, key
    return url, ""


ADHOC_MESSAGES = {
    destinations.REQUIRED_KEY: ADHOC_NO_KEY,
    destinations.NO_APP: ADHOC_NO_APP,
    destinations.RTMP_SHAPE: ADHOC_RTMP,
    destinations.SPACE_IN_PATH: "The part after the host has a space in it: URLs cannot "
    "contain spaces.",
}


def adhoc_url_error(url: str) -> str | None:
    """What LiveKit would say of a whole stream URL typed once (destinations' rules)."""
    errors = destinations.validate(*_split_stream_url(url))
    if not errors:
        return None
    message = next(iter(errors.values()))
    scheme = _lower_scheme(url).partition("://")[0]
    if scheme in destinations.SHORTHANDS and message == destinations.REQUIRED_KEY:
        return ADHOC_SHORTHAND
    # The destination form's words name its two fields; a whole URL has one.
    return ADHOC_MESSAGES.get(message, message)
