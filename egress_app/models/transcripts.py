"""Live transcription: the engines admins configure, and the utterances a session's engine said."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from egress_app.models.audio import AudioSession, AudioSessionState, AudioTap
from egress_app.models.base import Profile, one_default


class EngineKind(models.TextChoices):
    BUILTIN = "builtin", "Built-in (PocketSphinx: offline, English only, low accuracy)"
    GLADIA = "gladia", "Gladia live (v2)"
    DEEPGRAM = "deepgram", "Deepgram live"
    ASSEMBLYAI = "assemblyai", "AssemblyAI streaming (v3)"
    FORWARD = "forward", "Forward the audio to your own websocket"


class EngineProfile(Profile):
    """A speech-to-text engine as an admin set it up: its kind, non-secret `config` (region,
    model, languages, options; the URL for Forward) and encrypted secrets (an API key or bearer
    token), which no page, log, export or frame ever shows."""

    kind = models.CharField(max_length=16, choices=EngineKind.choices)

    class Meta(Profile.Meta):
        constraints = [one_default("one_default_engine_profile")]


class Transcription(models.Model):
    """A session transcribed by one engine profile: started with the session (or later), its
    engine's state in plain words while it runs (connecting, live, reconnecting, failed: the
    engine's own words), and the utterances it produced."""

    session = models.ForeignKey(
        AudioSession, on_delete=models.CASCADE, related_name="transcriptions"
    )
    profile = models.ForeignKey(
        EngineProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    engine = models.CharField(max_length=16, choices=EngineKind.choices)  # kept if deleted
    profile_name = models.CharField(max_length=100)
    language = models.CharField(max_length=32, blank=True)
    state = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    # Each final caption also goes into the room with RoomService SendData (asked at the start);
    # `room_error` is LiveKit's last refusal, in plain words with its Twirp code, until a send
    # succeeds again.
    publish_to_room = models.BooleanField(default=False)
    room_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The Transcripts list's keyset pages, newest first.
        indexes = [models.Index(fields=["created_at", "id"], name="egress_transcript_created_id")]

    def __str__(self) -> str:
        return f"transcript {self.pk} of {self.session.room_name}"

    @property
    def name(self) -> str:
        """How the audit log names it."""
        return f"transcript {self.pk} ({self.session.room_name})"

    @property
    def is_over(self) -> bool:
        """Ended by its engine, or its session ended (a session whose processor never took it
        up, or stopped with it, leaves the engine's last words, "waiting for audio", behind)."""
        return self.ended_at is not None or not self.session.is_running


def being_written() -> models.Q:
    """Transcriptions whose engine may still add utterances: not ended, their session running
    (none may be deleted or purged, nor the engine profile they talk to the engine with)."""
    return models.Q(ended_at__isnull=True, session__state=AudioSessionState.RUNNING)


class Utterance(models.Model):
    """One final result of the engine (partials are never stored): who spoke, when (seconds from
    the session's audio start, and wall-clock), what, how sure the engine was."""

    transcription = models.ForeignKey(
        Transcription, on_delete=models.CASCADE, related_name="utterances"
    )
    tap = models.ForeignKey(
        AudioTap, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    speaker_identity = models.TextField(blank=True)  # blank: the mix, nobody in particular
    speaker_name = models.TextField(blank=True)
    start_seconds = models.FloatField()
    end_seconds = models.FloatField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    text = models.TextField()
    confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["transcription", "start_seconds", "id"]
        # No index on started_at for the search's order: PostgreSQL has no statistics on
        # the words' vector, so with one it would walk every utterance newest first looking for
        # a rare word (1.8 s in 200,000) instead of reading the few the GIN index names (24 ms).
        indexes = [models.Index(fields=["transcription", "start_seconds"])]

    def __str__(self) -> str:
        return f"{self.speaker_name or self.speaker_identity or 'mix'}: {self.text[:40]}"


class TranscriptGap(models.Model):
    """Audio the engine never heard (a reconnect that outlasted the buffer, a full buffer, an
    engine that failed, a switch of engine stream): where the transcript has no words, and why
    in plain words (never a secret: scrubbed before it is stored). Kept apart from utterances,
    so searching, speakers and counts of what was said never meet one."""

    transcription = models.ForeignKey(Transcription, on_delete=models.CASCADE, related_name="gaps")
    speaker_identity = models.TextField(blank=True)  # blank: every speaker of the stream
    speaker_name = models.TextField(blank=True)
    start_seconds = models.FloatField()
    end_seconds = models.FloatField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    reason = models.TextField()
    engine = models.CharField(max_length=100)  # the engine that missed it, as the page names it

    class Meta:
        ordering = ["transcription", "start_seconds", "id"]
        indexes = [models.Index(fields=["transcription", "start_seconds"])]

    def __str__(self) -> str:
        return f"no transcript {self.start_seconds:.1f}-{self.end_seconds:.1f} s: {self.reason}"

    @property
    def is_gap(self) -> bool:
        return True

    @property
    def speaker(self) -> str:
        return self.speaker_name or self.speaker_identity

    @property
    def caption(self) -> str:
        """As the session page's captions say it: "1.0 s not transcribed: <reason>"."""
        return f"{self.end_seconds - self.start_seconds:.1f} s not transcribed: {self.reason}"
