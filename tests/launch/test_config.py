"""Launch configurations: normalizing, and each of LiveKit's rules named next to its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.contrib.auth.models import User

from egress_app import actions
from egress_app.launch.normalize import normalize_launch_config, storage_needed
from egress_app.launch.validation import validate_launch_config

BASES: dict[str, dict[str, Any]] = {
    "room_composite": {"kind": "room_composite", "room_name": "town-hall"},
    "web": {"kind": "web", "web": {"url": "https://example.com/show"}},
    "participant": {
        "kind": "participant",
        "room_name": "town-hall",
        "participant": {"identity": "alice"},
    },
    "track_composite": {
        "kind": "track_composite",
        "room_name": "town-hall",
        "track_composite": {"audio_track_id": "TR_audio", "video_track_id": "TR_video"},
    },
    "track": {
        "kind": "track",
        "room_name": "podcast",
        "track": {"track_id": "TR_audio", "track_kind": "audio"},
    },
}
KINDS = list(BASES)


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and value:
            merge(base[key], value)
        else:
            base[key] = value
    return base


def make(kind: str = "room_composite", api: str = "v1", **patch: Any) -> dict[str, Any]:
    """A valid configuration of `kind` (a file output to LiveKit's storage) with `patch` merged;
    `outputs` replaces the file output."""
    config = copy.deepcopy(BASES[kind]) | {"api": api, "server_storage": True}
    config["outputs"] = patch.pop("outputs", {"file": {}})  # replaced, not merged
    return merge(config, patch)


def errors(config: dict[str, Any], adhoc_urls: tuple[str, ...] = ()) -> dict[str, str]:
    return validate_launch_config(config, adhoc_urls=adhoc_urls)


# --- valid configurations ------------------------------------------------------------------------
@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("kind", KINDS)
def test_it_accepts_a_file_recording_of_every_kind(kind: str, api: str) -> None:
    assert errors(make(kind, api)) == {}


@pytest.mark.parametrize("kind", ["room_composite", "web", "participant", "track_composite"])
def test_it_accepts_every_output_at_once(kind: str) -> None:
    outputs = {
        "file": {"file_type": "MP4"},
        "stream": {"adhoc": ["rtmp://live.example.com/app/{str...y42}"]},
        "segments": {"live_playlist_name": "live"},
        "images": {},
    }
    config = make(kind, outputs=outputs)

    assert errors(config, ("rtmp://live.example.com/app/stream-key42",)) == {}


def test_it_accepts_a_track_to_a_websocket() -> None:
    config = make("track", outputs={}, track={"websocket_url": "wss://ingest.example.com/in?t=1"})

    assert errors(config) == {}


def test_it_accepts_audio_mixing_on_an_audio_only_v1_room_composite() -> None:
    config = make(room_composite={"audio_only": True, "audio_mixing": "DUAL_CHANNEL_AGENT"})

    assert errors(config) == {}


def test_it_accepts_any_layout_with_a_custom_template() -> None:
    config = make(room_composite={"layout": "stage", "custom_base_url": "https://t.example.com/"})

    assert errors(config) == {}


@pytest.mark.parametrize(
    ("file_type", "audio_codec"),
    [("MP3", "AC_MP3"), ("MP3", "DEFAULT_AC"), ("OGG", "OPUS"), ("MP4", "AAC"), ("MP4", "OPUS")],
)
def test_it_accepts_the_audio_codecs_each_container_holds(file_type: str, audio_codec: str) -> None:
    config = make(
        room_composite={"audio_only": True},
        encoding={"advanced": {"audio_codec": audio_codec}},
        outputs={"file": {"file_type": file_type}},
    )

    assert errors(config) == {}


# --- each rule, next to its field ----------------------------------------------------------------
RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("no output", make(outputs={}), "outputs", "Choose at least one output."),
    (
        "unknown api",
        make(api="v3"),
        "api",
        "Choose the v1 (per-type) or v2 (unified) API.",
    ),
    (
        "unknown kind",
        make(kind="room_composite") | {"kind": "ingress"},
        "kind",
        "Choose what to record.",
    ),
    ("no room", make(room_name=""), "room_name", "Choose a room."),
    (
        "web with a room",
        make("web", room_name="town-hall"),
        "room_name",
        "A web egress records a page, not a room: leave the room empty.",
    ),
    (
        "audio only and video only",
        make(room_composite={"audio_only": True, "video_only": True}),
        "room_composite.audio_only",
        "Choose audio only or video only, not both.",
    ),
    (
        "web audio only and video only",
        make("web", web={"audio_only": True, "video_only": True}),
        "web.audio_only",
        "Choose audio only or video only, not both.",
    ),
    (
        "unknown layout",
        make(room_composite={"layout": "mosaic"}),
        "room_composite.layout",
        "Choose grid, speaker or single-speaker (each also in -light), or give a custom "
        "template address for other layouts.",
    ),
    (
        "template over ftp",
        make(room_composite={"custom_base_url": "ftp://t.example.com/"}),
        "room_composite.custom_base_url",
        "The template address must start with http:// or https://.",
    ),
    (
        "mixing with video",
        make(room_composite={"audio_mixing": "DUAL_CHANNEL_ALTERNATE"}),
        "room_composite.audio_mixing",
        "Dual-channel mixing applies to audio-only recordings: tick audio only, or use default "
        "mixing.",
    ),
    (
        "mixing in v2",
        make(api="v2", room_composite={"audio_only": True, "audio_mixing": "DUAL_CHANNEL_AGENT"}),
        "room_composite.audio_mixing",
        "The unified API (v2) has no audio mixing option: use the v1 API for dual-channel audio, "
        "or default mixing.",
    ),
    (
        "unknown mixing",
        make(room_composite={"audio_mixing": "SURROUND"}),
        "room_composite.audio_mixing",
        "Choose how to mix the audio.",
    ),
    (
        "web page not over http",
        make("web", web={"url": "file:///etc/passwd"}),
        "web.url",
        "Enter the page's address, starting with http:// or https://.",
    ),
    (
        "web page missing",
        make("web", web={"url": ""}),
        "web.url",
        "Enter the page's address, starting with http:// or https://.",
    ),
    (
        "no participant",
        make("participant", participant={"identity": ""}),
        "participant.identity",
        "Choose the participant to record.",
    ),
    (
        "no track in a composite",
        make("track_composite", track_composite={"audio_track_id": "", "video_track_id": ""}),
        "track_composite.audio_track_id",
        "Choose an audio track, a video track or both.",
    ),
    (
        "no track",
        make("track", track={"track_id": ""}),
        "track.track_id",
        "Choose the track to record.",
    ),
    (
        "unknown track kind",
        make("track", track={"track_kind": "data"}),
        "track.track_kind",
        "Choose audio or video.",
    ),
    (
        "v2 track file of unknown kind",
        make("track", api="v2", track={"track_kind": ""}),
        "track.track_kind",
        "Say whether the track is audio or video: the unified API (v2) asks for it.",
    ),
    (
        "track to a file and a websocket",
        make("track", track={"websocket_url": "wss://ingest.example.com/in"}),
        "outputs.file",
        "A track egress writes a file or a WebSocket stream, not both.",
    ),
    (
        "track to nowhere",
        make("track", outputs={}),
        "outputs",
        "Choose a file output or a WebSocket address for the track.",
    ),
    (
        "track websocket over http",
        make("track", outputs={}, track={"websocket_url": "https://ingest.example.com/in"}),
        "track.websocket_url",
        "WebSocket addresses start with ws:// or wss://.",
    ),
    (
        "video track to a websocket",
        make("track", outputs={}, track={"track_kind": "video", "websocket_url": "ws://h/in"}),
        "track.websocket_url",
        "A WebSocket carries audio only: choose an audio track.",
    ),
    (
        "track with encoding",
        make("track", encoding={"preset": "H264_720P_30"}),
        "encoding",
        "A track egress keeps the track as published: no encoding options.",
    ),
    (
        "track with a file type",
        make("track", outputs={"file": {"file_type": "MP4"}}),
        "outputs.file.file_type",
        "A track is saved in the container of its own codec: leave the file type on default.",
    ),
    (
        "track streaming",
        make("track", outputs={"file": {}, "stream": {"adhoc": []}}),
        "outputs.stream",
        "A track egress does not stream: record a track composite instead.",
    ),
    (
        "track to segments",
        make("track", outputs={"file": {}, "segments": {}}),
        "outputs.segments",
        "A track egress writes no HLS segments: record a track composite instead.",
    ),
    (
        "track snapshots",
        make("track", outputs={"file": {}, "images": {}}),
        "outputs.images",
        "A track egress takes no snapshots: record a track composite instead.",
    ),
    (
        "preset and advanced",
        make(encoding={"preset": "H264_1080P_30", "advanced": {"width": 1280}}),
        "encoding",
        "Choose a preset or advanced settings, not both.",
    ),
    (
        "unknown preset",
        make(encoding={"preset": "H265_4K"}),
        "encoding.preset",
        "Choose one of LiveKit's presets.",
    ),
    (
        "passthrough preset",
        make(encoding={"preset": "PASSTHROUGH"}),
        "encoding.preset",
        "Choose one of LiveKit's presets.",
    ),
    (
        "odd width",
        make(encoding={"advanced": {"width": 1281}}),
        "encoding.advanced.width",
        "Width must be even and at least 16.",
    ),
    (
        "tiny width",
        make(encoding={"advanced": {"width": 8}}),
        "encoding.advanced.width",
        "Width must be even and at least 16.",
    ),
    (
        "odd height",
        make(encoding={"advanced": {"height": 721}}),
        "encoding.advanced.height",
        "Height must be even and at least 16.",
    ),
    (
        "width not a number",
        make(encoding={"advanced": {"width": "wide"}}),
        "encoding.advanced.width",
        "Enter a whole number.",
    ),
    (
        "depth",
        make(encoding={"advanced": {"depth": 12}}),
        "encoding.advanced.depth",
        "Depth must be 8, 16 or 24.",
    ),
    (
        "framerate too high",
        make(encoding={"advanced": {"framerate": 61}}),
        "encoding.advanced.framerate",
        "Frame rate must be between 1 and 60.",
    ),
    (
        "negative framerate",
        make(encoding={"advanced": {"framerate": -1}}),
        "encoding.advanced.framerate",
        "Frame rate must be between 1 and 60.",
    ),
    (
        "negative video bitrate",
        make(encoding={"advanced": {"video_bitrate": -3000}}),
        "encoding.advanced.video_bitrate",
        "Bitrate must be more than 0.",
    ),
    (
        "negative audio bitrate",
        make(encoding={"advanced": {"audio_bitrate": -1}}),
        "encoding.advanced.audio_bitrate",
        "Bitrate must be more than 0.",
    ),
    (
        "negative sample rate",
        make(encoding={"advanced": {"audio_frequency": -44100}}),
        "encoding.advanced.audio_frequency",
        "Sample rate must be more than 0.",
    ),
    (
        "negative key frame interval",
        make(encoding={"advanced": {"key_frame_interval": -2}}),
        "encoding.advanced.key_frame_interval",
        "The key frame interval cannot be negative.",
    ),
    (
        "key frame interval not a number",
        make(encoding={"advanced": {"key_frame_interval": "often"}}),
        "encoding.advanced.key_frame_interval",
        "Enter a number of seconds.",
    ),
    (
        "unknown audio codec",
        make(encoding={"advanced": {"audio_codec": "FLAC"}}),
        "encoding.advanced.audio_codec",
        "Choose an audio codec.",
    ),
    (
        "unknown video codec",
        make(encoding={"advanced": {"video_codec": "AV1"}}),
        "encoding.advanced.video_codec",
        "Choose a video codec.",
    ),
    (
        "VP8",
        make(encoding={"advanced": {"video_codec": "VP8"}}),
        "encoding.advanced.video_codec",
        "LiveKit Egress does not encode VP8 (it ignores the choice and records H.264): choose an "
        "H.264 profile.",
    ),
    (
        "MP3 with video",
        make(outputs={"file": {"file_type": "MP3"}}),
        "outputs.file.file_type",
        "An MP3 file holds audio only: tick audio only, or choose MP4.",
    ),
    (
        "OGG with video",
        make("web", outputs={"file": {"file_type": "OGG"}}),
        "outputs.file.file_type",
        "An OGG file holds audio only: tick audio only, or choose MP4.",
    ),
    (
        "OGG of a participant",
        make("participant", outputs={"file": {"file_type": "OGG"}}),
        "outputs.file.file_type",
        "An OGG file holds audio only: a participant recording includes video, choose MP4.",
    ),
    (
        "OGG of a video track",
        make("track_composite", outputs={"file": {"file_type": "OGG"}}),
        "outputs.file.file_type",
        "An OGG file holds audio only: leave the video track out, or choose MP4.",
    ),
    (
        "MP3 file with Opus",
        make(
            room_composite={"audio_only": True},
            encoding={"advanced": {"audio_codec": "OPUS"}},
            outputs={"file": {"file_type": "MP3"}},
        ),
        "encoding.advanced.audio_codec",
        "An MP3 file needs the MP3 codec (or the default).",
    ),
    (
        "MP3 codec in MP4",
        make(
            room_composite={"audio_only": True},
            encoding={"advanced": {"audio_codec": "AC_MP3"}},
            outputs={"file": {"file_type": "MP4"}},
        ),
        "encoding.advanced.audio_codec",
        "The MP3 codec goes only into an MP3 file.",
    ),
    (
        "OGG with AAC",
        make(
            room_composite={"audio_only": True},
            encoding={"advanced": {"audio_codec": "AAC"}},
            outputs={"file": {"file_type": "OGG"}},
        ),
        "encoding.advanced.audio_codec",
        "OGG files need Opus audio: choose Opus or the default.",
    ),
    (
        "stream with Opus",
        make(
            encoding={"advanced": {"audio_codec": "OPUS"}},
            outputs={"stream": {"adhoc": ["rtmp://h/app/{key...y42}"]}},
        ),
        "encoding.advanced.audio_codec",
        "Live streams and HLS segments carry AAC audio: choose AAC or the default.",
    ),
    (
        "segments with Opus",
        make(encoding={"advanced": {"audio_codec": "OPUS"}}, outputs={"segments": {}}),
        "encoding.advanced.audio_codec",
        "Live streams and HLS segments carry AAC audio: choose AAC or the default.",
    ),
    (
        "OGG file beside segments",
        make(
            room_composite={"audio_only": True},
            outputs={"file": {"file_type": "OGG"}, "segments": {}},
        ),
        "outputs.file.file_type",
        "An OGG file cannot share its audio with a live stream or HLS segments (they carry AAC): "
        "choose MP4 for the file.",
    ),
    (
        "short segments",
        make(outputs={"segments": {"segment_duration": 0}}),
        "outputs.segments.segment_duration",
        "Segments last at least 1 second.",
    ),
    (
        "segment duration not a number",
        make(outputs={"segments": {"segment_duration": "4.5"}}),
        "outputs.segments.segment_duration",
        "Enter a whole number.",
    ),
    (
        "unknown segment suffix",
        make(outputs={"segments": {"filename_suffix": "RANDOM"}}),
        "outputs.segments.filename_suffix",
        "Choose index or timestamp.",
    ),
    (
        "live playlist in another folder",
        make(
            outputs={"segments": {"playlist_name": "hls/main", "live_playlist_name": "live/main"}}
        ),
        "outputs.segments.live_playlist_name",
        "The live playlist must be in the same folder as the playlist.",
    ),
    (
        "live playlist named as the playlist",
        make(
            outputs={
                "segments": {"playlist_name": "hls/main.m3u8", "live_playlist_name": "hls/main"}
            }
        ),
        "outputs.segments.live_playlist_name",
        "The live playlist needs a name of its own, not the playlist's.",
    ),
    (
        "segment prefix with an unknown placeholder",
        make(outputs={"segments": {"filename_prefix": "{room}/seg"}}),
        "outputs.segments.filename_prefix",
        "Unknown placeholder {room}; LiveKit fills {room_name}, {room_id}, {time}, {utc}, "
        "{publisher_identity}, {track_id}, {track_type}, {track_source}, {retry}.",
    ),
    (
        "snapshots of audio only",
        make(room_composite={"audio_only": True}, outputs={"images": {}}),
        "outputs.images",
        "Snapshots need video, and this recording has none.",
    ),
    (
        "snapshots of an audio track",
        make("track_composite", track_composite={"video_track_id": ""}, outputs={"images": {}}),
        "outputs.images",
        "Snapshots need video, and this recording has none.",
    ),
    (
        "snapshots too often",
        make(outputs={"images": {"capture_interval": 0}}),
        "outputs.images.capture_interval",
        "Take a snapshot at most once a second.",
    ),
    (
        "negative snapshot width",
        make(outputs={"images": {"width": -640}}),
        "outputs.images.width",
        "Leave it at 0 for the video's size, or more.",
    ),
    (
        "unknown image suffix",
        make(outputs={"images": {"filename_suffix": "IMAGE_SUFFIX_RANDOM"}}),
        "outputs.images.filename_suffix",
        "Choose index, timestamp or overwrite.",
    ),
    (
        "unknown file type",
        make(outputs={"file": {"file_type": "MKV"}}),
        "outputs.file.file_type",
        "Choose a file type.",
    ),
    (
        "filepath climbing out",
        make(outputs={"file": {"filepath": "../../etc/{room_name}.mp4"}}),
        "outputs.file.filepath",
        "A path cannot climb out of its folder with '..'.",
    ),
    (
        "stream without a URL",
        make(outputs={"stream": {}}),
        "outputs.stream",
        "Choose a destination or enter a stream URL.",
    ),
    (
        "stream ad-hoc URLs forgotten",
        make(outputs={"stream": {"adhoc": ["rtmp://h/app/{key...y42}"]}}),
        "outputs.stream.adhoc",
        "Enter the ad-hoc stream URLs again: the dashboard does not keep them.",
    ),
    (
        "no storage",
        make(server_storage=False),
        "storage_profile_id",
        "Choose a storage profile for the recording, or LiveKit's own storage.",
    ),
    (
        "storage not an id",
        make(storage_profile_id="s3-main"),
        "storage_profile_id",
        "Choose a storage profile from the list.",
    ),
]


@pytest.mark.parametrize(
    ("config", "path", "message"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_it_names_the_broken_rule_next_to_its_field(
    config: dict[str, Any], path: str, message: str
) -> None:
    assert errors(config).get(path) == message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "rtmp://live.example.com/key-only",
            "This URL has no application path before the stream key: "
            "RTMP URLs look like rtmp://host/app/stream-key.",
        ),
        (
            "rtmp://live.example.com/app/",
            "This URL has no stream key at the end: RTMP URLs look like rtmp://host/app/stream-key.",
        ),
        ("rtmp://bad url/app/key", "The host name has a space in it: URLs cannot contain spaces."),
        (
            "rtmp://live.example.com/my app/key",
            "The part after the host has a space in it: URLs cannot contain spaces.",
        ),
        ("mux://", "Put the stream key after the scheme: mux://KEY or twitch://KEY."),
        (
            "https://live.example.com/app/key",
            "https:// is not a streaming scheme: use rtmp://, rtmps://, srt://, mux:// or twitch://.",
        ),
        ("srt://ingest.example.com", "SRT URLs look like srt://host:port."),
    ],
)
def test_it_judges_an_ad_hoc_stream_url_as_livekit_does(url: str, message: str) -> None:
    config = make(outputs={"stream": {"adhoc": ["shown"]}})

    assert errors(config, (url,)) == {"outputs.stream.adhoc.0": message}


@pytest.mark.parametrize(
    "url",
    [
        "rtmp://a.rtmp.youtube.com/live2/abcd-efgh",
        "rtmps://live.example.com:443/path/app/key live=1",
        "srt://ingest.example.com:9000?streamid=cam1",
        "mux://live_abc",
        "twitch://live_123",
    ],
)
def test_it_accepts_the_stream_urls_livekit_accepts(url: str) -> None:
    config = make(outputs={"stream": {"adhoc": ["shown"]}})

    assert errors(config, (url,)) == {}


def test_it_refuses_rtmp_and_srt_in_one_stream_output() -> None:
    config = make(outputs={"stream": {"adhoc": ["a", "b"]}})
    urls = ("rtmp://h/app/key", "srt://h:9000")

    assert errors(config, urls) == {
        "outputs.stream": "One stream output carries RTMP or SRT URLs, not both."
    }


# --- what it looks up ----------------------------------------------------------------------------
@pytest.fixture
def profile(admin: User) -> int:
    created = actions.create_storage_profile(
        admin,
        name="Recordings",
        provider="s3",
        config={"bucket": "recordings", "region": "eu-west-1"},
        secrets={"access_key": "AKIAEXAMPLE", "secret": "example-secret"},
    )
    return int(created.pk)


@pytest.mark.django_db
def test_it_accepts_an_existing_storage_profile(profile: int) -> None:
    assert errors(make(server_storage=False, storage_profile_id=profile)) == {}


@pytest.mark.django_db
def test_it_refuses_a_storage_profile_that_is_gone(profile: int) -> None:
    config = make(server_storage=False, storage_profile_id=profile + 1)

    assert errors(config) == {"storage_profile_id": "The chosen storage profile no longer exists."}


@pytest.mark.django_db
def test_it_refuses_a_destination_that_is_gone(admin: User) -> None:
    youtube = actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-1"
    )
    config = make(outputs={"stream": {"destination_ids": [youtube.pk, youtube.pk + 1]}})

    assert errors(config) == {
        "outputs.stream.destination_ids": "A chosen destination no longer exists."
    }


@pytest.mark.parametrize("room", ["town\x00hall", "town\nhall", "\x7f"])
def test_it_refuses_a_room_name_with_a_control_character(room: str) -> None:
    # PostgreSQL refused a NUL when the job row was written: a 500 (issue 13, section 4).
    assert errors(make(room_name=room)) == {"room_name": "Room names hold no control characters."}


def test_it_leaves_a_room_name_s_length_to_livekit() -> None:
    # The job keeps it in a text column; LiveKit's limit is the server's to set.
    assert errors(make(room_name="r" * 5000)) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("pk", [0, -1, 2**63, 10**30])
def test_it_refuses_an_id_no_row_can_have(pk: int) -> None:
    # 2**63 and more raised OverflowError on SQLite's `pk__in` (issue 13, section 4).
    stream = make(outputs={"stream": {"destination_ids": [pk]}})
    profile = make(server_storage=False, storage_profile_id=pk)

    assert errors(stream) == {
        "outputs.stream.destination_ids": "Choose destinations from the list."
    }
    assert errors(profile) == {"storage_profile_id": "Choose a storage profile from the list."}


@pytest.mark.django_db
def test_it_refuses_an_srt_url_beside_an_rtmp_destination(admin: User) -> None:
    youtube = actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-1"
    )
    config = make(outputs={"stream": {"destination_ids": [youtube.pk], "adhoc": ["srt"]}})

    assert errors(config, ("srt://h:9000",)) == {
        "outputs.stream": "One stream output carries RTMP or SRT URLs, not both."
    }


def test_it_needs_no_storage_for_a_stream_only_recording() -> None:
    config = make(server_storage=False, outputs={"stream": {"adhoc": ["x"]}})

    assert errors(config, ("rtmp://h/app/key",)) == {}
    assert storage_needed(config) is False


# --- normalizing ---------------------------------------------------------------------------------
def test_it_fills_the_defaults() -> None:
    normalized = normalize_launch_config(
        {"kind": "room_composite", "room_name": " town-hall ", "outputs": {"segments": {}}}
    )

    assert normalized == {
        "api": "v1",
        "kind": "room_composite",
        "room_name": "town-hall",
        "room_composite": {
            "layout": "",
            "custom_base_url": "",
            "audio_only": False,
            "video_only": False,
            "audio_mixing": "DEFAULT_MIXING",
        },
        "encoding": {"preset": "H264_720P_30"},
        "outputs": {
            "file": None,
            "stream": None,
            "segments": {
                "filename_prefix": "",
                "playlist_name": "",
                "live_playlist_name": "",
                "segment_duration": 4,
                "filename_suffix": "INDEX",
                "disable_manifest": False,
            },
            "images": None,
        },
        "storage_profile_id": None,
        "server_storage": False,
    }


def test_it_coerces_what_a_form_posts() -> None:
    normalized = normalize_launch_config(
        {
            "kind": "web",
            "api": "V2",
            "web": {"url": "https://example.com", "audio_only": "on", "video_only": "false"},
            "encoding": {
                "advanced": {"width": "1280", "key_frame_interval": "2", "audio_codec": "aac"}
            },
            "outputs": {"file": {"file_type": 2}, "stream": {"destination_ids": ["3", ""]}},
            "storage_profile_id": "7",
        }
    )

    assert normalized["api"] == "v2"
    assert normalized["web"]["audio_only"] is True
    assert normalized["web"]["video_only"] is False
    advanced = normalized["encoding"]["advanced"]
    assert (advanced["width"], advanced["key_frame_interval"]) == (1280, 2.0)
    assert advanced["audio_codec"] == "AAC"
    assert normalized["outputs"]["file"]["file_type"] == "OGG"
    assert normalized["outputs"]["stream"] == {"destination_ids": [3], "adhoc": []}
    assert normalized["storage_profile_id"] == 7


def test_it_keeps_only_the_section_of_the_kind_and_drops_absent_outputs() -> None:
    normalized = normalize_launch_config(
        {
            "kind": "participant",
            "participant": {"identity": "alice"},
            "room_composite": {"layout": "grid"},
            "outputs": {"file": None, "images": False, "stream": {"adhoc": []}},
            "secret": "dropped",
        }
    )

    assert "room_composite" not in normalized
    assert "secret" not in normalized
    assert normalized["outputs"]["file"] is None
    assert normalized["outputs"]["images"] is None
    assert normalized["outputs"]["stream"] is not None


def test_it_gives_a_track_no_encoding() -> None:
    assert normalize_launch_config(make("track"))["encoding"] == {}


def test_it_is_idempotent() -> None:
    once = normalize_launch_config(make(encoding={"advanced": {"width": "640"}}))

    assert normalize_launch_config(once) == once


def test_it_shows_ad_hoc_urls_by_their_display_form() -> None:
    config = make(outputs={"stream": {"adhoc": []}})

    normalized = normalize_launch_config(
        config, adhoc_urls=["rtmp://live.example.com/app/stream-key42", " "]
    )

    assert normalized["outputs"]["stream"]["adhoc"] == ["rtmp://live.example.com/app/{str...y42}"]


def test_it_knows_which_outputs_upload() -> None:
    assert storage_needed(make()) is True
    assert storage_needed(make(outputs={"images": {}})) is True
    assert storage_needed(make(outputs={"segments": {}})) is True
    assert storage_needed(make(outputs={"stream": {}})) is False
    assert storage_needed(make("track", outputs={})) is False
