"""LiveKit's rules for a launch configuration, each reported next to the field it concerns.

The rules are egress's own (livekit/egress pkg/config: pipeline.go, encoding.go, output*.go,
urls.go; pkg/types/types.go for codec and container compatibility), so that a producer learns
before the call what LiveKit would refuse. This module runs them all and holds those of what to
record and of storage; `encoding` and `outputs` hold the others.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from egress_app.launch import stop_after
from egress_app.launch.config import (
    APIS,
    KINDS,
    LAYOUTS,
    MIXINGS,
    TRACK_KINDS,
    Errors,
    GivenConfig,
    LaunchConfig,
    RoomCompositeSection,
    WebSection,
    is_row_id,
    merge_errors,
)
from egress_app.launch.encoding import _codec_errors, _encoding_errors
from egress_app.launch.normalize import normalize_launch_config, storage_needed
from egress_app.launch.numbers import number_errors
from egress_app.launch.outputs import _output_errors, _stream_errors
from egress_app.models import StorageProfile


# --- validation ----------------------------------------------------------------------------------
def validate_launch_config(given: GivenConfig, *, adhoc_urls: Sequence[str] = ()) -> Errors:
    """Field path -> plain message for each broken rule; {} when LiveKit would accept it.

    `adhoc_urls` are the real ad-hoc stream URLs, the ones `outputs.stream.adhoc` shows.
    Looks up the storage profile and stream destinations the configuration names.
    """
    config = normalize_launch_config(given)
    errors: Errors = {}
    if config["api"] not in APIS:
        errors["api"] = "Choose the v1 (per-type) or v2 (unified) API."
    if config["kind"] not in KINDS:
        errors["kind"] = "Choose what to record."
        return errors
    checks: tuple[Callable[[LaunchConfig], Errors], ...] = (
        _source_errors,
        _encoding_errors,
        _output_errors,
        _codec_errors,
        _storage_errors,
        # Last: a rule of LiveKit's own (a width even and at least 16) says it better.
        number_errors,
    )
    for check in checks:
        merge_errors(errors, check(config))
    stream = config["outputs"]["stream"]
    if stream is not None and config["kind"] != "track":
        merge_errors(errors, _stream_errors(stream, list(adhoc_urls)))
    if message := stop_after.error(config.get("stop_after")):
        errors["stop_after"] = message
    return errors


# --- what to record ------------------------------------------------------------------------------
def _source_errors(config: LaunchConfig) -> Errors:
    kind = config["kind"]
    errors = _room_errors(config)
    section_checks: dict[str, Callable[[LaunchConfig], Errors]] = {
        "room_composite": _room_composite_errors,
        "web": _web_errors,
        "participant": _participant_errors,
        "track_composite": _track_composite_errors,
        "track": _track_errors,
    }
    merge_errors(errors, section_checks[kind](config))
    return errors


def _room_errors(config: LaunchConfig) -> Errors:
    if config["kind"] == "web":
        if config["room_name"]:
            return {"room_name": "A web egress records a page, not a room: leave the room empty."}
        return {}
    name = config["room_name"]
    if not name:
        return {"room_name": "Choose a room."}
    # Only a forged post names such a room (the select lists LiveKit's live rooms), and the
    # job row could not keep it: PostgreSQL's text columns refuse NUL.
    if any(unicodedata.category(char) == "Cc" for char in name):
        return {"room_name": "Room names hold no control characters."}
    return {}


def _both_only_flags(section: RoomCompositeSection | WebSection, kind: str) -> Errors:
    if section["audio_only"] and section["video_only"]:
        return {f"{kind}.audio_only": "Choose audio only or video only, not both."}
    return {}


def _not_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("http", "https") or not parts.netloc or bool(re.search(r"\s", url))


def _room_composite_errors(config: LaunchConfig) -> Errors:
    section = config["room_composite"]
    errors = _both_only_flags(section, "room_composite")
    if section["custom_base_url"]:
        if _not_http_url(section["custom_base_url"]):
            errors["room_composite.custom_base_url"] = (
                "The template address must start with http:// or https://."
            )
    elif section["layout"] and section["layout"] not in LAYOUTS:
        errors["room_composite.layout"] = (
            "Choose grid, speaker or single-speaker (each also in -light), "
            "or give a custom template address for other layouts."
        )
    merge_errors(errors, _audio_mixing_errors(config))
    return errors


def _audio_mixing_errors(config: LaunchConfig) -> Errors:
    section = config["room_composite"]
    mixing = section["audio_mixing"]
    if mixing not in MIXINGS:
        return {"room_composite.audio_mixing": "Choose how to mix the audio."}
    if mixing == "DEFAULT_MIXING":
        return {}
    if config["api"] == "v2":
        return {
            "room_composite.audio_mixing": (
                "The unified API (v2) has no audio mixing option: use the v1 API for "
                "dual-channel audio, or default mixing."
            )
        }
    if not section["audio_only"]:
        return {
            "room_composite.audio_mixing": (
                "Dual-channel mixing applies to audio-only recordings: tick audio only, "
                "or use default mixing."
            )
        }
    return {}


def _web_errors(config: LaunchConfig) -> Errors:
    section = config["web"]
    errors = _both_only_flags(section, "web")
    if _not_http_url(section["url"]):
        errors["web.url"] = "Enter the page's address, starting with http:// or https://."
    return errors


def _participant_errors(config: LaunchConfig) -> Errors:
    if not config["participant"]["identity"]:
        return {"participant.identity": "Choose the participant to record."}
    return {}


def _track_composite_errors(config: LaunchConfig) -> Errors:
    section = config["track_composite"]
    if not section["audio_track_id"] and not section["video_track_id"]:
        return {"track_composite.audio_track_id": "Choose an audio track, a video track or both."}
    return {}


def _track_errors(config: LaunchConfig) -> Errors:
    section = config["track"]
    errors: Errors = {}
    if not section["track_id"]:
        errors["track.track_id"] = "Choose the track to record."
    if section["track_kind"] not in TRACK_KINDS:
        errors["track.track_kind"] = "Choose audio or video."
    url = section["websocket_url"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc or re.search(r"\s", url):
            errors["track.websocket_url"] = "WebSocket addresses start with ws:// or wss://."
        elif section["track_kind"] == "video":
            errors["track.websocket_url"] = "A WebSocket carries audio only: choose an audio track."
    elif config["api"] == "v2" and config["outputs"]["file"] and not section["track_kind"]:
        errors["track.track_kind"] = (
            "Say whether the track is audio or video: the unified API (v2) asks for it."
        )
    return errors


# --- storage -------------------------------------------------------------------------------------
def _storage_errors(config: LaunchConfig) -> Errors:
    if not storage_needed(config):
        return {}
    profile_id = config["storage_profile_id"]
    if profile_id is None:
        if config["server_storage"]:
            return {}
        return {
            "storage_profile_id": (
                "Choose a storage profile for the recording, or LiveKit's own storage."
            )
        }
    if not is_row_id(profile_id):
        return {"storage_profile_id": "Choose a storage profile from the list."}
    if not StorageProfile.objects.filter(pk=profile_id).exists():
        return {"storage_profile_id": "The chosen storage profile no longer exists."}
    return {}
