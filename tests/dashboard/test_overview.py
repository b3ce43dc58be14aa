"""How LiveKit's messages read on the live overview (plain protobuf messages, no LiveKit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from livekit.protocol import egress, models

from dashboard.overview import egress_kind, egress_row, participant_row, track_row


@pytest.mark.parametrize(
    ("info", "kind"),
    [
        (egress.EgressInfo(room_composite=egress.RoomCompositeEgressRequest()), "Room composite"),
        (egress.EgressInfo(web=egress.WebEgressRequest()), "Web page"),
        (egress.EgressInfo(participant=egress.ParticipantEgressRequest()), "Participant"),
        (
            egress.EgressInfo(track_composite=egress.TrackCompositeEgressRequest()),
            "Track composite",
        ),
        (egress.EgressInfo(track=egress.TrackEgressRequest()), "Track"),
        (
            egress.EgressInfo(egress=egress.StartEgressRequest(template=egress.TemplateSource())),
            "Room composite",
        ),
        (
            egress.EgressInfo(egress=egress.StartEgressRequest(media=egress.MediaSource())),
            "Media",
        ),
        (egress.EgressInfo(), "Unknown"),
    ],
)
def test_it_names_the_kind_of_egress_from_its_request(info, kind):
    assert egress_kind(info) == kind


def test_it_reads_egress_times_as_nanoseconds():
    info = egress.EgressInfo(
        egress_id="EG_1",
        status=egress.EgressStatus.EGRESS_LIMIT_REACHED,
        started_at=1_700_000_000_123_000_000,
    )
    row = egress_row(info)
    assert row.started_at == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert row.status == "limit reached"


def test_it_leaves_an_unstarted_egress_without_a_start_time():
    assert egress_row(egress.EgressInfo(egress_id="EG_2")).started_at is None


def test_it_describes_a_track_in_words():
    track = models.TrackInfo(
        type=models.TrackType.VIDEO,
        source=models.TrackSource.SCREEN_SHARE,
        width=1920,
        height=1080,
        codecs=[models.SimulcastCodecInfo(mime_type="video/VP8")],
    )
    row = track_row(track)
    assert (row.type, row.source, row.resolution, row.mime_type) == (
        "video",
        "screen share",
        "1920x1080",
        "video/VP8",
    )


def test_it_gives_audio_no_resolution():
    track = models.TrackInfo(type=models.TrackType.AUDIO, mime_type="audio/opus", muted=True)
    assert track_row(track).resolution == ""
    assert track_row(track).muted


def test_it_only_labels_participants_that_are_not_people():
    person = models.ParticipantInfo(identity="a", kind=models.ParticipantInfo.Kind.STANDARD)
    agent = models.ParticipantInfo(identity="b", kind=models.ParticipantInfo.Kind.AGENT)
    assert participant_row(person).kind == ""
    assert participant_row(agent).kind == "agent"


def test_it_shows_a_status_livekit_added_since_as_unknown_with_its_number():
    row = egress_row(egress.EgressInfo(egress_id="EG_1", status=7))

    assert row.status == "unknown (7)"
