"""A transcribed session end to end (issue 15, Proof): the sandbox's podcast room into the audio
endpoint, mixed by the session's processor, each tap's track sent to the built-in engine; the
stored utterances hold most of each participant's known sentences, attributed to them, while
the taps keep running; stopping the session ends its transcription."""

from __future__ import annotations

from egress_app import actions
from egress_app.models import AudioSession, TapState, Transcription, Utterance
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.conftest import AudioServer, mixer_running
from tests.audio_sessions.test_endpoint import taps, until
from tests.transcribe.speech import recognised

SPEAKERS = ("host", "guest")
HEARING = 90  # seconds at most: the sentences loop every ~6 s; the engine's worker must start


def said(server: AudioServer, session: AudioSession) -> dict[str, str]:
    def read() -> dict[str, str]:
        rows = Utterance.objects.filter(transcription__session=session)
        return {
            name: " ".join(rows.filter(speaker_identity=name).values_list("text", flat=True))
            for name in SPEAKERS
        }

    return server.read(read)


def test_it_transcribes_each_participant_of_the_podcast_room(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    with mixer_running():
        session = audio_server.run(
            actions.start_audio_session, producer, "podcast", transcribe_with="default"
        )
        heard = until(
            lambda: said(audio_server, session),
            lambda text: all(recognised(name, text[name]) >= 0.7 for name in SPEAKERS),
            "70% of each speaker's sentence words",
            timeout=HEARING,
        )
        assert all(tap.state == TapState.CONNECTED for tap in taps(audio_server, session))
        audio_server.run(actions.stop_audio_session, producer, session)
        transcription = until(
            lambda: audio_server.read(Transcription.objects.get, session=session),
            lambda row: row.ended_at is not None,
            "the transcription ended",
            timeout=20,
        )

    assert transcription.error == "", transcription.error
    assert all(heard[name] for name in SPEAKERS)
    assert sandbox.control.data_packets() == []  # captions go into the room only when asked
