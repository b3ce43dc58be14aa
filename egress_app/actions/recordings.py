"""Recording an audio session's mix: a sink (egress_app/audio/sinks.py) that writes each tick's mix
to a temporary WAV file (egress_app/audio/recorder.py) and, when the session's processing ends,
uploads it through the storage profile chosen at the start and records an `AudioRecording`.

Nothing is lost silently: an upload that fails, a disk that filled up, a profile deleted
meanwhile each leave a failed recording saying so in plain words (secrets hidden), and the
temporary file is removed whatever happened. A processor that stops because its process shuts
down (`ended=False`) uploads what it has: the next processor records the rest in a new file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from egress_app.audio.mixer import Tick
from egress_app.audio.recorder import Recorded, WavRecorder
from egress_app.crypto import SecretKeyError
from egress_app.models import AudioRecording, AudioSession, RecordingState, StorageProfile
from egress_app.storage.uploads import Uploaded, recording_key, upload_file

logger = logging.getLogger(__name__)

CONTENT_TYPE = "audio/wav"
PROFILE_GONE = "The storage profile chosen for this recording was deleted before the upload."


@dataclass
class RecordingSink:
    """One processing run's recording of a session's mix."""

    session_id: int
    room: str
    profile_id: int
    recorder: WavRecorder
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def write(self, tick: Tick) -> None:
        self.recorder.write(tick.mix)

    def close(self, *, ended: bool) -> None:
        try:
            save_recording(self, self.recorder.finish(), ended=ended)
        finally:
            self.recorder.discard()


def recording_sink(session: AudioSession) -> RecordingSink | None:
    """The session's recorder, when a storage profile was chosen for it (session_sinks)."""
    if session.record_to_id is None:
        return None
    try:
        recorder = WavRecorder(settings.AUDIO_RECORDING_MAX_SECONDS)
    except OSError as error:  # no temporary disk to write to: say so on the session page
        words = f"Could not start the recording on this server's disk: {error.strerror or error}."
        profile = session.record_to
        name = profile.name if profile else ""
        AudioRecording.objects.create(
            session=session,
            profile=profile,
            profile_name=name,
            state=RecordingState.FAILED,
            error=words,
        )
        logger.warning("Audio session %s is not recorded: %s", session.pk, words)
        return None
    return RecordingSink(session.pk, session.room_name, session.record_to_id, recorder)


def save_recording(
    sink: RecordingSink, recorded: Recorded, *, ended: bool
) -> AudioRecording | None:
    """Upload what `sink` recorded and keep the outcome; None when nothing was heard at all."""
    if not recorded.frames and not recorded.failure:
        return None
    profile = StorageProfile.objects.filter(pk=sink.profile_id).first()
    row = AudioRecording(
        session_id=sink.session_id,
        profile=profile,
        profile_name=profile.name if profile else "",
        seconds=round(recorded.seconds, 1),
        note=_note(recorded, ended=ended),
    )
    if profile is not None:
        row.key = recording_key(profile.path_template, sink.room, sink.session_id, sink.started)
    outcome = _upload(profile, row.key, recorded)
    row.location, row.error = outcome.where, outcome.error
    row.state = RecordingState.UPLOADED if outcome.ok else RecordingState.FAILED
    row.bytes = recorded.bytes if outcome.ok else 0
    row.save()
    if not outcome.ok:
        logger.warning("Recording of audio session %s not kept: %s", sink.session_id, row.error)
    return row


def _upload(profile: StorageProfile | None, key: str, recorded: Recorded) -> Uploaded:
    if recorded.path is None:
        words = f"Could not write the recording to this server's disk: {recorded.failure}."
        return Uploaded(False, "", words)
    if profile is None:
        return Uploaded(False, "", PROFILE_GONE)
    try:
        secrets = profile.secrets()
    except SecretKeyError as error:
        return Uploaded(False, profile.target, str(error))
    return upload_file(
        profile.provider,
        profile.config,
        secrets,
        key=key,
        path=recorded.path,
        content_type=CONTENT_TYPE,
    )


def _note(recorded: Recorded, *, ended: bool) -> str:
    notes = []
    if recorded.limited:
        limit = settings.AUDIO_RECORDING_MAX_SECONDS
        notes.append(
            f"Stopped at the {_duration(limit)} limit (AUDIO_RECORDING_MAX_SECONDS): the rest "
            "of the session was not recorded."
        )
    if not ended:
        notes.append(
            "The session's processing stopped before the session ended (a restart): the next "
            "recording goes on from there."
        )
    return " ".join(notes)


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
