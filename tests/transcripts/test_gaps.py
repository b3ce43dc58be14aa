"""A transcript's gaps (audio its engine never heard), made with the models: each in its place
between the turns of the page, on one page only, and in every download without breaking it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import srt
import webvtt
from django.urls import reverse

from dashboard import transcripts as pages
from egress_app.models import TranscriptGap, Transcription
from tests.transcripts.conftest import PODCAST, make_transcript
from tests.transcripts.test_exports import download

pytestmark = pytest.mark.django_db

TRICKY = "Gladia said --> no.\n\n<b>bold</b> & gone"


def gap(
    transcription: Transcription, start: float, reason: str, speaker: str = ""
) -> TranscriptGap:
    at = transcription.created_at + timedelta(seconds=start)
    return TranscriptGap.objects.create(
        transcription=transcription,
        speaker_identity=speaker,
        speaker_name=speaker.title(),
        start_seconds=start,
        end_seconds=start + 1.5,
        started_at=at,
        ended_at=at + timedelta(seconds=1.5),
        reason=reason,
        engine="Gladia live (v2)",
    )


@pytest.fixture
def interrupted(producer) -> Transcription:
    """Host says two lines (0 s, 2.5 s), a gap at 3 s, then host again and the guest."""
    transcription = make_transcript(started_by=producer, lines=PODCAST[:2] + PODCAST[1:])
    gap(transcription, 3.0, "Gladia was away longer than the 10 s buffer")
    return transcription


def test_it_ends_a_turn_at_a_gap_and_goes_on_after_it(client, support, interrupted):
    client.force_login(support)
    html = client.get(reverse("dashboard-transcript-detail", args=[interrupted.pk])).content
    text = html.decode()
    assert text.count('class="turn"') == 4  # host, [gap], host, guest, host
    at = text.index('class="transcript-gap"')
    assert (
        text.index("Today we talk about rivers.") < at < text.rindex("Today we talk about rivers.")
    )
    assert "<strong>No transcript</strong>" in text
    assert "16:00:03" in text
    assert "16:00:04 UTC" in text
    assert "Gladia was away longer than the 10 s buffer" in text


def test_it_shows_each_gap_on_one_page_only(client, support, interrupted, monkeypatch):
    monkeypatch.setattr(pages, "TURNS_PAGE", 2)
    late = gap(interrupted, 20.0, "Gladia failed")  # after every utterance: the last page
    client.force_login(support)
    url = reverse("dashboard-transcript-detail", args=[interrupted.pk])
    first = client.get(url).context
    second = client.get(url, {"after": first["later"]}).context
    third = client.get(url, {"after": second["later"]}).context
    shown = [
        [entry.pk for entry in page["turns"] if isinstance(entry, TranscriptGap)]
        for page in (first, second, third)
    ]
    early = TranscriptGap.objects.exclude(pk=late.pk).get()  # at 3 s: after the first page's
    assert shown == [[], [early.pk], [late.pk]]  # last line (2.5 s), before the next's first


def test_it_writes_a_gap_that_cannot_break_a_subtitle_file(client, support, producer):
    transcription = make_transcript(started_by=producer, lines=PODCAST)
    gap(transcription, 4.0, TRICKY, speaker="guest")
    client.force_login(support)
    cues = list(srt.parse(download(client, transcription, "srt")[1]))
    assert "[No transcript of Guest: Gladia said -> no. <b>bold</b> & gone]" in [
        cue.content for cue in cues
    ]
    assert [cue.index for cue in cues] == [1, 2, 3, 4, 5]
    assert [cue.start for cue in cues] == sorted(cue.start for cue in cues)
    vtt = download(client, transcription, "vtt")[1]
    assert len(webvtt.from_string(vtt).captions) == len(PODCAST)
    assert "NOTE 00:00:04.000 to 00:00:05.500 No transcript of Guest: Gladia said -> no." in vtt
    data = json.loads(download(client, transcription, "json")[1])
    assert data["gaps"][0]["reason"] == TRICKY
    assert data["gaps"][0]["speaker_name"] == "Guest"
    text = download(client, transcription, "txt")[1]
    assert "[00:04-00:05, 2026-12-05T16:00:04Z to 2026-12-05T16:00:05.500000Z]" in text
