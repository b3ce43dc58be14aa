"""Captions into the room end to end (issue 15, SendData): the podcast room transcribed with the
built-in engine as in test_transcription_end_to_end.py, publishing asked for at the start; the
sandbox records a data packet on our topic for every stored final, its payload that final."""

from __future__ import annotations

import json

from egress_app import actions
from egress_app.actions.room_captions import TOPIC
from egress_app.models import Transcription, Utterance
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.conftest import AudioServer, mixer_running
from tests.audio_sessions.test_endpoint import until
from tests.audio_sessions.test_transcription_end_to_end import HEARING

SPEAKERS = {"host", "guest"}


def stored(server: AudioServer) -> list[dict[str, object]]:
    def read() -> list[dict[str, object]]:
        rows = Utterance.objects.order_by("pk")
        return [
            {"id": u.pk, "identity": u.speaker_identity, "name": u.speaker_name, "text": u.text}
            for u in rows
        ]

    return server.read(read)


def test_it_publishes_every_final_of_the_podcast_room_into_it(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    with mixer_running():
        session = audio_server.run(
            actions.start_audio_session,
            producer,
            "podcast",
            transcribe_with="default",
            publish_captions=True,
        )
        until(
            lambda: {u["identity"] for u in stored(audio_server)},
            lambda speakers: speakers == SPEAKERS,
            "a final of each speaker",
            timeout=HEARING,
        )
        audio_server.run(actions.stop_audio_session, producer, session)
        until(
            lambda: audio_server.read(Transcription.objects.get, session=session),
            lambda row: row.ended_at is not None,
            "the transcription ended",
            timeout=20,
        )
        finals = stored(audio_server)
        packets = until(
            lambda: sandbox.control.data_packets("podcast"),
            lambda packets: len(packets) >= len(finals),
            "a data packet per final",
        )

    assert len(packets) == len(finals)
    assert {(p.topic, p.kind) for p in packets} == {(TOPIC, "RELIABLE")}
    payloads = [json.loads(p.payload) for p in packets]
    assert [{k: p[k] for k in ("id", "identity", "name", "text")} for p in payloads] == finals
    assert all(p["final"] is True and p["type"] == "caption" for p in payloads)
    transcription = audio_server.read(Transcription.objects.get, session=session)
    assert (transcription.error, transcription.room_error) == ("", "")
