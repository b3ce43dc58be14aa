"""Audio sessions: a room's microphones taken out through Track Egress websockets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from egress_app.models.jobs import EgressJob
from egress_app.models.vault import StorageProfile


class AudioSessionState(models.TextChoices):
    RUNNING = "running", "Running"
    ENDED = "ended", "Ended"


class AudioSession(models.Model):
    """Listening to a room: one tap (a Track Egress to our audio endpoint) per microphone."""

    room_name = models.TextField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audio_sessions",
    )
    state = models.CharField(
        max_length=16, choices=AudioSessionState.choices, default=AudioSessionState.RUNNING
    )
    # Tap screen-share audio tracks too, not only microphones (the reconciler follows both).
    screen_share_audio = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The reconciler following the room holds the session until then (a conditional update).
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the session's mix is recorded to, chosen at the start; none: not recorded.
    record_to = models.ForeignKey(
        StorageProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audio_sessions",
    )
    # The audio worker mixing the session holds a lease on it, renewed while it mixes; another
    # takes the session over once a dead worker's lease has run out (a conditional update).
    processed_by = models.CharField(max_length=200, blank=True, editable=False)
    processed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room_name"],
                condition=models.Q(state="running"),
                name="one_running_audio_session_per_room",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """How the audit log names the session."""
        return f"audio session {self.pk} ({self.room_name})"

    @property
    def is_running(self) -> bool:
        return self.state == AudioSessionState.RUNNING


class TapState(models.TextChoices):
    WAITING = "waiting", "Waiting for egress"
    CONNECTED = "connected", "Connected"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Not started"


class TapSource(models.TextChoices):
    """The LiveKit track sources a session taps (`TrackSource`, lower case as egress names them)."""

    MICROPHONE = "microphone", "Microphone"
    SCREEN_SHARE_AUDIO = "screen_share_audio", "Screen-share audio"


class AudioTap(models.Model):
    """One participant's track as its egress sends it to `/egress/audio/<pk>/`.

    The token egress dials with is kept only as its SHA-256 (`token_hash`), good once (the first
    connection sets `connected_at`) and until `token_expires_at`. `bytes_received` and `muted`
    are written about once a second while audio flows, never per message; `refusals` counts
    connections refused for this tap, `ignored_messages` text messages that were not
    `{"muted": bool}`.
    """

    session = models.ForeignKey(AudioSession, on_delete=models.CASCADE, related_name="taps")
    participant_identity = models.TextField()
    # The participant's display name as ListParticipants gave it when the tap started ("" if none).
    participant_name = models.TextField(blank=True)
    track_sid = models.CharField(max_length=64)
    track_name = models.TextField(blank=True)
    track_source = models.CharField(
        max_length=32, choices=TapSource.choices, default=TapSource.MICROPHONE
    )
    job = models.OneToOneField(
        EgressJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="audio_tap"
    )
    token_hash = models.CharField(max_length=64, editable=False)
    token_expires_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=TapState.choices, default=TapState.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    bytes_received = models.BigIntegerField(default=0)
    muted = models.BooleanField(default=False)
    refusals = models.PositiveIntegerField(default=0)
    ignored_messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"tap {self.pk} ({self.participant_identity} {self.track_sid})"


class RecordingState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    FAILED = "failed", "Failed"


class AudioRecording(models.Model):
    """A session's mix as a WAV file, uploaded through a storage profile when the session's
    processing ended (one per processing run: a processor that stopped with its process uploads
    what it had, and the next one records the rest). `error` is in plain words, secrets hidden;
    a failed upload keeps no file anywhere."""

    session = models.ForeignKey(AudioSession, on_delete=models.CASCADE, related_name="recordings")
    profile = models.ForeignKey(
        StorageProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audio_recordings",
    )
    profile_name = models.CharField(max_length=100, blank=True)  # kept if the profile goes
    location = models.TextField(blank=True)  # "bucket b" / "container c", for people
    key = models.TextField(blank=True)
    bytes = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    state = models.CharField(max_length=16, choices=RecordingState.choices)
    error = models.TextField(blank=True)
    note = models.TextField(blank=True)  # e.g. that the length limit cut the recording short
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"recording {self.pk} of {self.session}"
