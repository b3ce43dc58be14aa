"""The file name egress will write, previewed from a configuration (livekit/egress
pkg/config/output_file.go and the SDK source's placeholders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from egress_app.launch.filenames import preview_filename, written_names

NOW = datetime(2026, 3, 14, 9, 26, 53, 589_000, tzinfo=UTC)
TIME = "2026-03-14T092653"


def room(**outputs: Any) -> dict[str, Any]:
    return {
        "kind": "room_composite",
        "room_name": "town-hall",
        "outputs": outputs or {"file": {}},
    }


PARTICIPANT = {
    "kind": "participant",
    "room_name": "town-hall",
    "participant": {"identity": "alice"},
    "outputs": {"file": {}},
}
TRACK = {
    "kind": "track",
    "room_name": "podcast",
    "track": {
        "track_id": "TR_AbCd",
        "track_kind": "audio",
        "publisher_identity": "guest",
        "track_source": "MICROPHONE",
        "mime_type": "audio/opus",
    },
    "outputs": {"file": {}},
}
WEB = {"kind": "web", "web": {"url": "https://example.com"}, "outputs": {"file": {}}}


@pytest.mark.parametrize(
    ("template", "config", "expected"),
    [
        ("rec/{room_name}.mp4", room(), "rec/town-hall.mp4"),
        ("rec/{room_id}.mp4", room(), "rec/RM_….mp4"),
        ("rec/{time}.mp4", room(), f"rec/{TIME}.mp4"),
        ("rec/{utc}.mp4", room(), "rec/20260314092653589.mp4"),
        ("rec/{retry}x.mp4", room(), "rec/x.mp4"),
        ("{publisher_identity}/{room_name}", PARTICIPANT, "alice/town-hall.mp4"),
        (
            "{room_name}/{publisher_identity}-{track_type}-{track_source}-{track_id}",
            TRACK,
            "podcast/guest-audio-microphone-TR_AbCd.ogg",
        ),
    ],
)
def test_it_fills_each_placeholder(template: str, config: dict[str, Any], expected: str) -> None:
    assert preview_filename(template, config, now=NOW) == expected


def test_it_fills_the_publisher_of_a_track_composite_when_the_form_knows_it() -> None:
    config = {
        "kind": "track_composite",
        "room_name": "town-hall",
        "track_composite": {"video_track_id": "TR_v", "publisher_identity": "bob"},
        "outputs": {"file": {}},
    }

    assert preview_filename("{publisher_identity}", config, now=NOW) == "bob.mp4"


def test_it_shows_what_it_cannot_know_yet() -> None:
    config = {"kind": "track", "room_name": "podcast", "track": {"track_id": "TR_x"}}

    shown = preview_filename("{publisher_identity}-{track_type}-{track_source}", config, now=NOW)

    assert shown == "publisher-track-unknown"


def test_it_leaves_room_placeholders_of_a_web_egress_as_written() -> None:
    assert preview_filename("{room_name}-{time}", WEB, now=NOW) == f"{{room_name}}-{TIME}.mp4"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (room(), f"town-hall-{TIME}.mp4"),
        (PARTICIPANT, f"alice-{TIME}.mp4"),
        (TRACK, f"TR_AbCd-{TIME}.ogg"),
        (WEB, f"web-{TIME}.mp4"),
    ],
)
def test_it_names_an_empty_path_after_the_egress(config: dict[str, Any], expected: str) -> None:
    assert preview_filename("", config, now=NOW) == expected


def test_it_names_a_folder_path_after_the_room() -> None:
    assert preview_filename("rec/{room_name}/", room(), now=NOW) == (
        f"rec/town-hall/town-hall-{TIME}.mp4"
    )


@pytest.mark.parametrize(
    ("template", "file_type", "expected"),
    [
        ("rec/show.ogg", "MP4", "rec/show.mp4"),
        ("rec/show", "MP4", "rec/show.mp4"),
        ("rec/show.mov", "MP4", "rec/show.mov.mp4"),  # not an extension egress knows
        ("rec/show.mp4", "OGG", "rec/show.ogg"),
        ("rec/show.m3u8", "MP3", "rec/show.mp3"),
        ("rec/v1.2/show", "MP4", "rec/v1.2/show.mp4"),
    ],
)
def test_it_fixes_a_wrong_or_missing_extension(
    template: str, file_type: str, expected: str
) -> None:
    config = room(file={"file_type": file_type})
    if file_type != "MP4":
        config["room_composite"] = {"audio_only": True}

    assert preview_filename(template, config, now=NOW) == expected


@pytest.mark.parametrize(
    ("config", "extension"),
    [
        (room(), ".mp4"),
        ({**room(), "room_composite": {"audio_only": True}}, ".ogg"),
        ({**room(file={}, segments={}), "room_composite": {"audio_only": True}}, ".mp4"),
        (
            {
                **room(),
                "room_composite": {"audio_only": True},
                "encoding": {"advanced": {"audio_codec": "AAC"}},
            },
            ".mp4",
        ),
        ({**TRACK, "track": {"track_id": "TR_v", "mime_type": "video/H264"}}, ".mp4"),
        ({**TRACK, "track": {"track_id": "TR_v", "track_kind": "video"}}, ".webm"),
    ],
)
def test_it_picks_the_container_egress_picks(config: dict[str, Any], extension: str) -> None:
    assert preview_filename("rec/out", config, now=NOW) == f"rec/out{extension}"


def test_it_cleans_the_path_like_egress() -> None:
    assert preview_filename("../../rec//./{room_name}", room(), now=NOW) == "rec/town-hall.mp4"


def test_it_shows_the_time_in_utc() -> None:
    paris = datetime(2026, 3, 14, 10, 26, 53, tzinfo=timezone(timedelta(hours=1)))

    assert preview_filename("{time}", room(), now=paris) == f"{TIME}.mp4"


def test_it_uses_the_current_time_by_default() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    shown = preview_filename("", room())

    stamp = datetime.strptime(shown[len("town-hall-") : -len(".mp4")], "%Y-%m-%dT%H%M%S")
    assert stamp.replace(tzinfo=UTC) >= before


# --- every name an egress writes, with the storage profile's default path -------------------
def names(config: dict[str, Any], templates: dict[int, str] | None = None) -> list[tuple[str, str]]:
    return [(n.label, n.path) for n in written_names(config, templates=templates, now=NOW)]


TRACK_COMPOSITE = {
    "kind": "track_composite",
    "room_name": "town-hall",
    "track_composite": {"audio_track_id": "TR_a", "video_track_id": "TR_v"},
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (room(), f"town-hall-{TIME}.mp4"),
        (WEB, f"web-{TIME}.mp4"),
        (PARTICIPANT, f"alice-{TIME}.mp4"),
        ({**TRACK_COMPOSITE, "outputs": {"file": {}}}, f"town-hall-{TIME}.mp4"),
        (TRACK, f"TR_AbCd-{TIME}.ogg"),
    ],
)
def test_it_names_the_file_of_each_kind(config: dict[str, Any], expected: str) -> None:
    assert names(config) == [("File", expected)]


def test_it_names_the_room_in_a_profile_template_with_no_path_typed() -> None:
    config = {**room(), "storage_profile_id": 7}

    shown = names(config, {7: "recordings/{room_name}/{time}", 8: "other/"})

    assert shown == [("File", f"recordings/town-hall/{TIME}.mp4")]


def test_it_puts_the_file_in_a_profile_folder() -> None:
    config = {**PARTICIPANT, "storage_profile_id": 7}

    assert names(config, {7: "recordings/"}) == [("File", f"recordings/alice-{TIME}.mp4")]


def test_it_prefers_the_path_typed_to_the_profile_template() -> None:
    config = {**room(file={"filepath": "mine/{room_name}"}), "storage_profile_id": 7}

    assert names(config, {7: "recordings/"}) == [("File", "mine/town-hall.mp4")]


def test_it_ignores_the_profile_template_for_livekit_storage() -> None:
    config = {**room(), "storage_profile_id": None, "server_storage": True}

    assert names(config, {7: "recordings/"}) == [("File", f"town-hall-{TIME}.mp4")]


def test_it_writes_nothing_for_a_stream_or_a_websocket() -> None:
    stream = room(stream={"adhoc": ["rtmp://…"]})
    websocket = {**TRACK, "outputs": {}, "track": {**TRACK["track"], "websocket_url": "wss://x"}}

    assert names(stream) == []
    assert names(websocket) == []


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ({}, [f"town-hall-{TIME}.m3u8", f"town-hall-{TIME}_00000.ts"]),
        (
            {"filename_prefix": "hls/{room_name}/seg"},
            ["hls/town-hall/seg.m3u8", "hls/town-hall/seg_00000.ts"],
        ),
        (
            {"playlist_name": "hls/{room_name}.m3u8", "filename_prefix": "hls/part"},
            ["hls/town-hall.m3u8", "hls/part_00000.ts"],
        ),
        (
            {"playlist_name": "hls/show.v1", "filename_prefix": "hls/seg/part"},
            ["hls/show.m3u8", "hls/hls/seg/part_00000.ts"],  # egress keeps the folder under
        ),
        (
            {"filename_prefix": "seg", "filename_suffix": "TIMESTAMP"},
            ["seg.m3u8", "seg_20260314092653589.ts"],
        ),
    ],
)
def test_it_names_the_playlist_and_segments_as_egress(
    segments: dict[str, Any], expected: list[str]
) -> None:
    shown = names(room(segments=segments))

    assert shown == [("Playlist", expected[0]), ("Segments", expected[1])]


def test_it_names_the_live_playlist_beside_the_playlist() -> None:
    segments = {"playlist_name": "hls/{room_name}", "live_playlist_name": "hls/live.m3u8"}

    assert names(room(segments=segments)) == [
        ("Playlist", "hls/town-hall.m3u8"),
        ("Live playlist", "hls/live.m3u8"),
        ("Segments", "hls/town-hall_00000.ts"),
    ]


def test_it_names_the_segments_of_a_track_composite_after_its_room() -> None:
    config = {**TRACK_COMPOSITE, "outputs": {"segments": {}}}

    assert names(config)[0] == ("Playlist", f"town-hall-{TIME}.m3u8")


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ({}, f"town-hall-{TIME}_00000.jpeg"),
        ({"filename_prefix": "img/{room_name}/"}, f"img/town-hall/town-hall-{TIME}_00000.jpeg"),
        ({"filename_prefix": "img/frame"}, "img/frame_00000.jpeg"),
        (
            {"filename_prefix": "frame", "filename_suffix": "IMAGE_SUFFIX_TIMESTAMP"},
            "frame_20260314092653589.jpeg",
        ),
        (
            {"filename_prefix": "thumb", "filename_suffix": "IMAGE_SUFFIX_NONE_OVERWRITE"},
            "thumb.jpeg",
        ),
    ],
)
def test_it_names_the_images_as_egress(images: dict[str, Any], expected: str) -> None:
    assert names(room(images=images)) == [("Images", expected)]


def test_it_names_every_output_of_one_egress() -> None:
    config = {**room(file={}, segments={"filename_prefix": "hls/x"}, images={}), "web": {}}

    assert [label for label, _ in names(config)] == ["File", "Playlist", "Segments", "Images"]


def test_it_marks_what_the_form_has_not_chosen_yet() -> None:
    config = {**room(), "room_name": ""}

    assert names(config) == [("File", f"<room>-{TIME}.mp4")]
    assert names({**PARTICIPANT, "participant": {}}) == [("File", f"<participant>-{TIME}.mp4")]
