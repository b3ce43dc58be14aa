"""The LiveKit request for a launch configuration, built at the moment of the call.

v1 uses the per-type Start* RPCs with the upload embedded in every output; v2 sends one
StartEgressRequest (template, web or media source; `outputs[]`; the upload once, as the
request-level `storage`), mapped as livekit/protocol's proto comments and egress's
pkg/config/pipeline.go describe. The request carries secrets (storage keys, stream keys):
build it just before the call and never store or log it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.urls import reverse
from google.protobuf.message import Message
from livekit.protocol import egress, models

from egress_app.launch.config import (
    STREAM_FAMILIES,
    FileOutput,
    GivenConfig,
    ImagesOutput,
    LaunchConfig,
    Outputs,
    SegmentsOutput,
)
from egress_app.launch.filenames import file_template
from egress_app.launch.normalize import normalize_launch_config, storage_needed
from egress_app.launch.validation import validate_launch_config
from egress_app.models import StorageProfile, StreamDestination
from egress_app.storage.providers import Provider

RPCS = {
    "room_composite": "StartRoomCompositeEgress",
    "web": "StartWebEgress",
    "participant": "StartParticipantEgress",
    "track_composite": "StartTrackCompositeEgress",
    "track": "StartTrackEgress",
}
V2_RPC = "StartEgress"
STREAM_PROTOCOLS = {"rtmp": egress.StreamProtocol.RTMP, "srt": egress.StreamProtocol.SRT}


class Upload(Protocol):
    """Where the files go: a storage profile, or its stand-in with placeholders for the
    secrets (the job page's `lk` command)."""

    @property
    def provider_spec(self) -> Provider: ...

    @property
    def path_template(self) -> str: ...

    def upload(self) -> Message: ...

    def storage_config(self) -> egress.StorageConfig: ...


@dataclass(frozen=True)
class StartCall:
    rpc: str  # "StartRoomCompositeEgress" | ... | "StartEgress"
    request: Message  # secrets included: build it just before the call, never store or log it


@dataclass(frozen=True)
class _Parts:
    """A validated configuration and what the call adds to it: the upload and the real URLs."""

    config: LaunchConfig
    profile: Upload | None
    urls: list[str]

    @property
    def outputs(self) -> Outputs:
        return self.config["outputs"].copy()


def stream_urls(destinations: Sequence[StreamDestination], adhoc_urls: Sequence[str]) -> list[str]:
    """The URLs LiveKit dials, stream keys included, in order: destinations, then ad-hoc."""
    urls = [destination.output_url() for destination in destinations]
    return urls + [url.strip() for url in adhoc_urls if url.strip()]


def build_start_call(
    given: GivenConfig,
    *,
    profile: StorageProfile | None,
    destinations: Sequence[StreamDestination],
    adhoc_urls: Sequence[str],
) -> StartCall:
    """The RPC and its request. ValueError for a configuration validation refuses, or for a
    profile or destinations that are not the ones the configuration names."""
    config = normalize_launch_config(given)
    errors = validate_launch_config(config, adhoc_urls=adhoc_urls)
    if errors:
        raise ValueError("; ".join(f"{path}: {message}" for path, message in errors.items()))
    profile = _checked_profile(config, profile)
    _check_destinations(config, destinations)
    call = built_call(config, profile, stream_urls(destinations, adhoc_urls))
    webhooks: Any = getattr(call.request, "webhooks")  # noqa: B009 - every Start request has it
    webhooks.extend(request_webhooks())
    return call


def request_webhooks() -> list[models.WebhookConfig]:
    """The webhooks every Start request carries: with LIVEKIT_REQUEST_WEBHOOKS on, the
    dashboard's own receiver, so LiveKit sends it the egress's events whatever the project's
    webhooks are. `signing_key` names the API key whose secret LiveKit signs them with (its
    name, never the secret: livekit/protocol webhook/notifier.go looks the secret up), the one
    the receiver verifies with."""
    if not settings.LIVEKIT_REQUEST_WEBHOOKS:
        return []
    url = settings.SITE_ROOT + reverse("egress-webhook")
    return [models.WebhookConfig(url=url, signing_key=settings.LIVEKIT_API_KEY)]


def built_call(config: LaunchConfig, upload: Upload | None, urls: list[str]) -> StartCall:
    """The call for a configuration already checked, given the upload and the URLs to dial."""
    parts = _Parts(config, upload, urls)
    if config["api"] == "v2":
        return StartCall(V2_RPC, _v2_request(parts))
    return StartCall(RPCS[config["kind"]], _V1_BUILDERS[config["kind"]](parts))


def _checked_profile(config: LaunchConfig, profile: StorageProfile | None) -> StorageProfile | None:
    """The profile the uploads go through; None when nothing uploads or LiveKit's own storage
    is meant (`storage_profile_id` empty)."""
    wanted = config["storage_profile_id"]
    if wanted is None or not storage_needed(config):
        return None
    if profile is None or profile.pk != wanted:
        raise ValueError(
            f"storage_profile_id: pass the storage profile {wanted} to build the call."
        )
    return profile


def _check_destinations(config: LaunchConfig, destinations: Sequence[StreamDestination]) -> None:
    stream = config["outputs"]["stream"]
    ids = sorted(stream["destination_ids"]) if stream is not None else []
    if sorted(destination.pk for destination in destinations) != ids:
        raise ValueError("outputs.stream.destination_ids: pass exactly the chosen destinations.")


# --- shared pieces -------------------------------------------------------------------------------
def _encoding(config: LaunchConfig) -> dict[str, Any]:
    """The `preset` or `advanced` keyword of a request (the same names in v1 and v2); enum
    values stay names, which the protobuf classes accept."""
    encoding = config["encoding"]
    if "preset" in encoding:
        return {"preset": encoding["preset"]}
    return {"advanced": egress.EncodingOptions(**encoding["advanced"])}


def _with_upload[Output: Message](output: Output, profile: Upload | None) -> Output:
    """v1: the upload goes into each output (none means LiveKit's own storage)."""
    if profile is not None:
        getattr(output, profile.provider_spec.storage_field).CopyFrom(profile.upload())
    return output


def _filepath(file: FileOutput, profile: Upload | None) -> str:
    return file_template(file, profile.path_template if profile is not None else "")


def _stream_output(urls: list[str]) -> egress.StreamOutput:
    scheme = urls[0].partition("://")[0].lower()
    return egress.StreamOutput(protocol=STREAM_PROTOCOLS[STREAM_FAMILIES[scheme]], urls=urls)


def _segments(segments: SegmentsOutput) -> egress.SegmentedFileOutput:
    return egress.SegmentedFileOutput(
        protocol=egress.SegmentedFileProtocol.HLS_PROTOCOL,
        filename_prefix=segments["filename_prefix"],
        playlist_name=segments["playlist_name"],
        live_playlist_name=segments["live_playlist_name"],
        segment_duration=segments["segment_duration"],
        filename_suffix=segments["filename_suffix"],
        disable_manifest=segments["disable_manifest"],
    )


def _images(images: ImagesOutput) -> egress.ImageOutput:
    return egress.ImageOutput(
        capture_interval=images["capture_interval"],
        width=images["width"],
        height=images["height"],
        filename_prefix=images["filename_prefix"],
        filename_suffix=images["filename_suffix"],
        disable_manifest=images["disable_manifest"],
    )


# --- v1 ------------------------------------------------------------------------------------------
def _v1_outputs(parts: _Parts) -> dict[str, Any]:
    outputs, profile = parts.outputs, parts.profile
    built: dict[str, Any] = {}
    if (file := outputs["file"]) is not None:
        output = egress.EncodedFileOutput(
            file_type=file["file_type"],
            filepath=_filepath(file, profile),
            disable_manifest=file["disable_manifest"],
        )
        built["file_outputs"] = [_with_upload(output, profile)]
    if outputs["stream"] is not None:
        built["stream_outputs"] = [_stream_output(parts.urls)]
    if outputs["segments"] is not None:
        built["segment_outputs"] = [_with_upload(_segments(outputs["segments"]), profile)]
    if outputs["images"] is not None:
        built["image_outputs"] = [_with_upload(_images(outputs["images"]), profile)]
    return built


def _v1_room_composite(parts: _Parts) -> Message:
    section = parts.config["room_composite"]
    return egress.RoomCompositeEgressRequest(
        room_name=parts.config["room_name"],
        layout=section["layout"],
        custom_base_url=section["custom_base_url"],
        audio_only=section["audio_only"],
        video_only=section["video_only"],
        audio_mixing=section["audio_mixing"],
        **_encoding(parts.config),
        **_v1_outputs(parts),
    )


def _v1_web(parts: _Parts) -> Message:
    section = parts.config["web"]
    return egress.WebEgressRequest(
        url=section["url"],
        audio_only=section["audio_only"],
        video_only=section["video_only"],
        await_start_signal=section["await_start_signal"],
        **_encoding(parts.config),
        **_v1_outputs(parts),
    )


def _v1_participant(parts: _Parts) -> Message:
    section = parts.config["participant"]
    return egress.ParticipantEgressRequest(
        room_name=parts.config["room_name"],
        identity=section["identity"],
        screen_share=section["screen_share"],
        **_encoding(parts.config),
        **_v1_outputs(parts),
    )


def _v1_track_composite(parts: _Parts) -> Message:
    section = parts.config["track_composite"]
    return egress.TrackCompositeEgressRequest(
        room_name=parts.config["room_name"],
        audio_track_id=section["audio_track_id"],
        video_track_id=section["video_track_id"],
        **_encoding(parts.config),
        **_v1_outputs(parts),
    )


def _v1_track(parts: _Parts) -> Message:
    section, file = parts.config["track"], parts.outputs["file"]
    request = egress.TrackEgressRequest(
        room_name=parts.config["room_name"], track_id=section["track_id"]
    )
    if file is None:
        request.websocket_url = section["websocket_url"]
        return request
    output = egress.DirectFileOutput(
        filepath=_filepath(file, parts.profile), disable_manifest=file["disable_manifest"]
    )
    request.file.CopyFrom(_with_upload(output, parts.profile))
    return request


_V1_BUILDERS = {
    "room_composite": _v1_room_composite,
    "web": _v1_web,
    "participant": _v1_participant,
    "track_composite": _v1_track_composite,
    "track": _v1_track,
}


# --- v2 ------------------------------------------------------------------------------------------
def _v2_request(parts: _Parts) -> egress.StartEgressRequest:
    config = parts.config
    request = egress.StartEgressRequest(outputs=_v2_outputs(parts))
    if config["kind"] != "web":
        request.room_name = config["room_name"]
    _v2_source(parts, request)
    if config["kind"] == "track":
        if parts.outputs["file"] is not None:
            # A track written as published: egress's passthrough takes exactly one file.
            request.preset = egress.EncodingOptionsPreset.PASSTHROUGH
    else:
        request.MergeFrom(egress.StartEgressRequest(**_encoding(config)))
    if parts.profile is not None:
        request.storage.CopyFrom(parts.profile.storage_config())
    return request


def _v2_source(parts: _Parts, request: egress.StartEgressRequest) -> None:
    kind = parts.config["kind"]
    if kind == "room_composite":
        section = parts.config["room_composite"]
        request.template.CopyFrom(
            egress.TemplateSource(
                layout=section["layout"],
                custom_base_url=section["custom_base_url"],
                audio_only=section["audio_only"],
                video_only=section["video_only"],
            )
        )
    elif kind == "web":
        web = parts.config["web"]
        request.web.CopyFrom(
            egress.WebSource(
                url=web["url"],
                audio_only=web["audio_only"],
                video_only=web["video_only"],
                await_start_signal=web["await_start_signal"],
            )
        )
    else:
        request.media.CopyFrom(_media(parts.config))


def _media(config: LaunchConfig) -> egress.MediaSource:
    """Participant, track composite and track egress as one media source (proto comments)."""
    media = egress.MediaSource()
    if config["kind"] == "participant":
        participant = config["participant"]
        media.participant_video.identity = participant["identity"]
        media.participant_video.prefer_screen_share = participant["screen_share"]
        media.audio.routes.add(participant_identity=participant["identity"])
    elif config["kind"] == "track_composite":
        tracks = config["track_composite"]
        if tracks["video_track_id"]:
            media.video_track_id = tracks["video_track_id"]
        if tracks["audio_track_id"]:
            media.audio.routes.add(track_id=tracks["audio_track_id"])
    elif config["track"]["track_kind"] == "video":
        media.video_track_id = config["track"]["track_id"]
    else:  # an audio track (a websocket only ever carries audio)
        media.audio.routes.add(track_id=config["track"]["track_id"])
    return media


def _v2_outputs(parts: _Parts) -> list[egress.Output]:
    outputs, profile = parts.outputs, parts.profile
    built: list[egress.Output] = []
    if (file := outputs["file"]) is not None:
        file_output = egress.FileOutput(
            file_type=file["file_type"],
            filepath=_filepath(file, profile),
            disable_manifest=file["disable_manifest"],
        )
        built.append(egress.Output(file=file_output))
    if parts.config["kind"] == "track" and file is None:
        websocket = egress.StreamOutput(
            protocol=egress.StreamProtocol.WEBSOCKET, urls=[parts.config["track"]["websocket_url"]]
        )
        built.append(egress.Output(stream=websocket))
    if outputs["stream"] is not None:
        built.append(egress.Output(stream=_stream_output(parts.urls)))
    if outputs["segments"] is not None:
        built.append(egress.Output(segments=_segments(outputs["segments"])))
    if outputs["images"] is not None:
        built.append(egress.Output(images=_images(outputs["images"])))
    return built
