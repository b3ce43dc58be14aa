"""The named state changes of the domain: every change to a profile, destination or job.

`vault` holds storage profiles, stream destinations and their keys; `egress` holds egress jobs
(start, stop, layout and stream updates), `calls` the LiveKit call and the job row around it,
`launches` the search for a Start's egress when LiveKit never answered; `retry` starts a
finished job again; `audio` holds audio sessions and their taps; `moderation` mutes and
removes a room's participants; `ledger` records what LiveKit
tells us (webhooks, the reconciler's observations) and folds it into jobs. Callers use this package:
`from egress_app import actions; actions.start_egress(...)`.
"""

from __future__ import annotations

from egress_app.actions.audio import (
    open_tap,
    record_tap_audio,
    start_audio_session,
    stop_audio_session,
    tap_session_id,
)
from egress_app.actions.calls import JobError, LaunchError
from egress_app.actions.egress import (
    add_stream_outputs,
    remove_stream_output,
    start_egress,
    stop_egress,
    update_layout,
)
from egress_app.actions.engines import (
    create_engine_profile,
    delete_engine_profile,
    draft_engine_profile,
    make_default_engine_profile,
    record_engine_draft_test,
    record_engine_test,
    update_engine_profile,
)
from egress_app.actions.ledger import (
    Answer,
    Received,
    Unstorable,
    apply_pending,
    observe,
    receive_webhook,
    receive_webhooks,
    record_refused,
    settle_pending,
)
from egress_app.actions.moderation import ModerationError, mute_track, remove_participant
from egress_app.actions.outputs import record_output_sizes
from egress_app.actions.recipes import (
    delete_recipe,
    duplicate_recipe,
    save_recipe,
    start_recipe,
)
from egress_app.actions.retry import retry_egress
from egress_app.actions.support import add_note, set_triage
from egress_app.actions.tokens import create_token, find_token, record_use, revoke_token
from egress_app.actions.transcripts import delete_transcript, purge_transcripts
from egress_app.actions.vault import (
    DESTINATION_SECRETS,
    Actor,
    InUseError,
    ProbeOutcome,
    acting_via,
    create_storage_profile,
    create_stream_destination,
    delete_storage_profile,
    delete_stream_destination,
    draft_storage_profile,
    duplicate_storage_profile,
    duplicate_stream_destination,
    make_default_storage_profile,
    record_storage_draft_test,
    record_storage_test,
    rotate_all_secrets,
    update_storage_profile,
    update_stream_destination,
)

__all__ = [
    "DESTINATION_SECRETS",
    "Actor",
    "Answer",
    "InUseError",
    "JobError",
    "LaunchError",
    "ModerationError",
    "ProbeOutcome",
    "Received",
    "Unstorable",
    "acting_via",
    "add_note",
    "add_stream_outputs",
    "apply_pending",
    "create_engine_profile",
    "create_storage_profile",
    "create_stream_destination",
    "create_token",
    "delete_engine_profile",
    "delete_recipe",
    "delete_storage_profile",
    "delete_stream_destination",
    "delete_transcript",
    "draft_engine_profile",
    "draft_storage_profile",
    "duplicate_recipe",
    "duplicate_storage_profile",
    "duplicate_stream_destination",
    "find_token",
    "make_default_engine_profile",
    "make_default_storage_profile",
    "mute_track",
    "observe",
    "open_tap",
    "purge_transcripts",
    "receive_webhook",
    "receive_webhooks",
    "record_engine_draft_test",
    "record_engine_test",
    "record_output_sizes",
    "record_refused",
    "record_storage_draft_test",
    "record_storage_test",
    "record_tap_audio",
    "record_use",
    "remove_participant",
    "remove_stream_output",
    "retry_egress",
    "revoke_token",
    "rotate_all_secrets",
    "save_recipe",
    "set_triage",
    "settle_pending",
    "start_audio_session",
    "start_egress",
    "start_recipe",
    "stop_audio_session",
    "stop_egress",
    "tap_session_id",
    "update_engine_profile",
    "update_layout",
    "update_storage_profile",
    "update_stream_destination",
]
