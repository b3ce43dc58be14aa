"""A transcript's downloads (issue 15, section 4): SRT and WebVTT read back by their parsers
(`srt`, `webvtt-py`) in timing order, JSON with its speakers and times, plain text by turns;
every one streamed, named after its room and UTC day, and whole whatever an utterance says."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
import srt
import webvtt
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.test import Client
from django.urls import reverse

from egress_app import transcript_files
from egress_app.models import Transcription
from tests.conftest import make_user
from tests.transcripts.conftest import make_transcript, say

pytestmark = pytest.mark.django_db

# Text that would break a subtitle file written naively: a timing arrow, a blank line, markup.
TRICKY = "Look --> there.\n\nAnd <b>here</b> & now"


def download(client, transcription: Transcription, form: str):
    url = reverse("dashboard-transcript-download", args=[transcription.pk, form])
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    with pytest.warns(Warning, match="consume asynchronous iterators"):
        # The test client is WSGI-like: it buffers what an ASGI server streams.
        body = b"".join(response).decode()
    return response, body


@pytest.fixture
def tricky(producer) -> Transcription:
    transcription = make_transcript(room="town hall/1", started_by=producer)
    say(transcription, [("host", "Hello."), ("guest", TRICKY), ("host", "Bye.")])
    return transcription


def test_it_writes_srt_a_parser_reads_in_order(client, support, tricky):
    client.force_login(support)
    response, body = download(client, tricky, "srt")
    assert response["Content-Type"].startswith("application/x-subrip")
    cues = list(srt.parse(body))
    assert [cue.content for cue in cues] == [
        "Host: Hello.",
        "Guest: Look -> there. And <b>here</b> & now",
        "Host: Bye.",
    ]
    assert [cue.index for cue in cues] == [1, 2, 3]
    assert all(cue.start <= cue.end for cue in cues)
    assert [cue.start for cue in cues] == sorted(cue.start for cue in cues)
    assert cues[1].start == timedelta(seconds=2.5)
    assert cues[1].end == timedelta(seconds=4.5)


def test_it_writes_webvtt_a_parser_reads_in_order(client, support, tricky):
    client.force_login(support)
    response, body = download(client, tricky, "vtt")
    assert response["Content-Type"].startswith("text/vtt")
    captions = webvtt.from_string(body).captions
    assert [html.unescape(caption.text) for caption in captions] == [
        "Hello.",
        "Look --> there. And <b>here</b> & now",
        "Bye.",
    ]
    assert [caption.voice for caption in captions] == ["Host", "Guest", "Host"]
    starts = [caption.start_in_seconds for caption in captions]
    assert starts == sorted(starts)
    assert all(c.start_in_seconds <= c.end_in_seconds for c in captions)
    assert "-->" not in captions[1].raw_text


def test_it_writes_json_with_speakers_and_times(client, support, tricky):
    client.force_login(support)
    _, body = download(client, tricky, "json")
    document = json.loads(body)
    assert document["room"] == "town hall/1"
    assert document["engine"] == "builtin"
    assert document["started_at"] == "2026-12-05T16:00:00Z"
    assert document["speakers"] == [
        {"identity": "host", "name": "Host"},
        {"identity": "guest", "name": "Guest"},
    ]
    second = document["utterances"][1]
    assert second["text"] == TRICKY  # JSON keeps the words exactly as said
    assert (second["speaker_identity"], second["start_seconds"], second["end_seconds"]) == (
        "guest",
        2.5,
        4.5,
    )
    assert second["started_at"] == "2026-12-05T16:00:02.500000Z"


def test_it_writes_text_by_turns_in_utc(client, support, tricky, settings):
    settings.TIME_ZONE = "Europe/Paris"  # the file says UTC whatever the server's zone
    client.force_login(support)
    response, body = download(client, tricky, "txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "times are from the audio start, and in UTC" in body
    assert (
        "[00:02, 2026-12-05T16:00:02.500000Z] Guest:\nLook --> there. And <b>here</b> & now\n"
        in body
    )


def test_it_names_the_file_after_the_room_and_its_utc_start(client, support, tricky):
    client.force_login(support)
    response, _ = download(client, tricky, "srt")
    expected = "town-hall-1-transcript-2026-12-05-1600-UTC.srt"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'


def test_it_streams_a_long_transcript_in_order_across_chunks(client, support, monkeypatch):
    monkeypatch.setattr("egress_app.transcripts.CHUNK", 7)
    monkeypatch.setattr(transcript_files, "PIECES_AT_ONCE", 3)
    transcription = make_transcript()
    # Two utterances at the same second across a chunk's end: the pk breaks the tie.
    say(transcription, [("host" if n % 3 else "guest", f"line {n}") for n in range(40)])
    transcription.utterances.filter(text="line 7").update(start_seconds=15.0)  # as line 6
    client.force_login(support)
    _, body = download(client, transcription, "srt")
    cues = list(srt.parse(body))
    assert len(cues) == 40
    assert sorted(cue.content.split(": ")[1] for cue in cues) == sorted(
        f"line {n}" for n in range(40)
    )
    assert [cue.start for cue in cues] == sorted(cue.start for cue in cues)
    _, text = download(client, transcription, "json")
    assert len(json.loads(text)["utterances"]) == 40


def test_it_downloads_an_empty_transcript(client, support):
    client.force_login(support)
    quiet = make_transcript()
    assert list(srt.parse(download(client, quiet, "srt")[1])) == []
    assert webvtt.from_string(download(client, quiet, "vtt")[1]).captions == []
    assert json.loads(download(client, quiet, "json")[1])["utterances"] == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_it_streams_a_download_under_asgi(monkeypatch):
    """Served by Django's ASGI handler: the file leaves in several messages as its utterances
    are read, instead of being held whole."""
    monkeypatch.setattr("egress_app.transcripts.CHUNK", 10)
    monkeypatch.setattr(transcript_files, "PIECES_AT_ONCE", 10)
    pk, session = await sync_to_async(_support_and_transcript)(utterances=45)
    scope = {
        "type": "http",
        "method": "GET",
        "path": reverse("dashboard-transcript-download", args=[pk, "vtt"]),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"cookie", f"sessionid={session}".encode())],
    }
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    bodies = []
    while True:
        message = await communicator.receive_output(timeout=10)
        bodies.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    assert start["status"] == 200
    assert len(webvtt.from_string(b"".join(bodies).decode()).captions) == 45
    assert len([body for body in bodies if body]) > 4  # streamed, not one buffered body


def _support_and_transcript(*, utterances: int) -> tuple[int, str]:
    transcription = make_transcript()
    say(transcription, [("host", f"line {n}") for n in range(utterances)])
    browser = Client()
    browser.force_login(make_user("sam-support", "support"))
    return transcription.pk, browser.cookies["sessionid"].value
