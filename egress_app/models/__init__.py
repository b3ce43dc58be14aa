"""The dashboard's models, one module per noun; import them from here.

- base: the permissions anchor and the encrypted secrets every secret-holding model shares
- statuses: a job's kinds and states, as LiveKit names them, and which jobs are running
- vault: storage profiles and stream destinations, and every secret they keep
- jobs: egress jobs and support's notes on them
- ledger: what LiveKit said, as recorded
- audit: who did what
- recipes: saved launch configurations
- rules: room rules (auto egress) and the room sessions they were claimed for
- schedules: recipes started at a time, and each run of them
- audio: audio sessions, their taps and their recordings
- transcripts: speech-to-text engine profiles, transcriptions and their utterances
- tokens: personal API tokens
- people: one-time links to set a password (invitations, resets)
- alerts: alert channels, notification rules, alerts and their deliveries
"""

from __future__ import annotations

from egress_app.models.alerts import (
    RULE_EVENTS,
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    ChannelKind,
    DeliveryState,
    NotificationRule,
)
from egress_app.models.audio import (
    AudioRecording,
    AudioSession,
    AudioSessionState,
    AudioTap,
    RecordingState,
    TapSource,
    TapState,
)
from egress_app.models.audit import AuditAction, AuditEntry, AuditTarget
from egress_app.models.base import NEEDS_JSON, Access, Compiled, SecretsMixin
from egress_app.models.jobs import EgressJob, JobNote
from egress_app.models.ledger import LedgerEntry, LedgerOutcome, LedgerSource
from egress_app.models.people import LinkPurpose, PasswordLink
from egress_app.models.recipes import Recipe
from egress_app.models.reports import ReportDay
from egress_app.models.rules import RoomRule, RoomRuleStart
from egress_app.models.schedules import Repeat, RunState, Schedule, ScheduleRun
from egress_app.models.statuses import (
    EgressKind,
    EgressStatus,
    JobFlag,
    LaunchState,
    Triage,
    running_jobs,
    status_label,
    status_of,
)
from egress_app.models.tokens import ApiToken
from egress_app.models.transcripts import (
    EngineKind,
    EngineProfile,
    TranscriptGap,
    Transcription,
    Utterance,
    being_written,
)
from egress_app.models.vault import (
    StorageProfile,
    StorageProvider,
    StreamDestination,
    StreamProtocol,
    stored_secrets,
)

__all__ = [
    "NEEDS_JSON",
    "RULE_EVENTS",
    "Access",
    "Alert",
    "AlertChannel",
    "AlertDelivery",
    "AlertEvent",
    "ApiToken",
    "AudioRecording",
    "AudioSession",
    "AudioSessionState",
    "AudioTap",
    "AuditAction",
    "AuditEntry",
    "AuditTarget",
    "ChannelKind",
    "Compiled",
    "DeliveryState",
    "EgressJob",
    "EgressKind",
    "EgressStatus",
    "EngineKind",
    "EngineProfile",
    "JobFlag",
    "JobNote",
    "LaunchState",
    "LedgerEntry",
    "LedgerOutcome",
    "LedgerSource",
    "LinkPurpose",
    "NotificationRule",
    "PasswordLink",
    "Recipe",
    "RecordingState",
    "Repeat",
    "ReportDay",
    "RoomRule",
    "RoomRuleStart",
    "RunState",
    "Schedule",
    "ScheduleRun",
    "SecretsMixin",
    "StorageProfile",
    "StorageProvider",
    "StreamDestination",
    "StreamProtocol",
    "TapSource",
    "TapState",
    "TranscriptGap",
    "Transcription",
    "Triage",
    "Utterance",
    "being_written",
    "running_jobs",
    "status_label",
    "status_of",
    "stored_secrets",
]
