"""The failure catalogue: why a job went wrong, in plain words, and what to do about it.

A job needs a person when LiveKit ended it FAILED, ABORTED or LIMIT_REACHED, when it completed
with an empty or missing output (LiveKit reports some zero-byte files as complete), when LiveKit
refused or never answered its Start call, or when the reconciler flagged it (stuck in STARTING,
or running with no news). `diagnose(job)` names the cause: a known one, matched on LiveKit's
error text (LiveKit's own strings, livekit/egress pkg/errors and livekit/protocol
livekit_egress.go), or an unknown one, shown raw and grouped with the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from egress_app.models import EgressJob, EgressStatus, JobFlag, LaunchState, Triage

UNKNOWN_PREFIX = "unknown:"


@dataclass(frozen=True)
class Cause:
    """A kind of failure: a stable key (URLs, grouping), plain words, and a hint."""

    key: str
    title: str
    hint: str


@dataclass(frozen=True)
class Diagnosis:
    """Why one job needs a person: its cause and LiveKit's own words (may be empty)."""

    cause: Cause
    message: str

    @property
    def group(self) -> str:
        """Jobs with the same group failed the same way: a known cause, or the same message
        (what `EgressJob.cause` keeps; `described` reads it back)."""
        if self.cause is not UNKNOWN:
            return self.cause.key
        return UNKNOWN_PREFIX + normalized(self.message)


CAUSES: list[Cause] = []  # the catalogue, in the order the inbox explains it


def _cause(key: str, title: str, hint: str) -> Cause:
    CAUSES.append(cause := Cause(key, title, hint))
    return cause


def _flagged(flag: JobFlag, todo: str) -> Cause:
    """A reconciler's flag as a cause: its own words, and what to do."""
    return _cause(flag.value, flag.label, f"{flag.explanation} {todo}")


NO_WORKER = _cause(
    "no_worker",
    "No egress worker took the job",
    "Every egress worker was busy (LiveKit found none with room for it). Nothing is wrong with "
    "the job: wait for running egresses to end, or add egress capacity (more workers, or more "
    "CPU for them), then Retry.",
)
NOT_CONNECTED = _cause(
    "egress_not_connected",
    "LiveKit has no egress service",
    "LiveKit is not connected to any egress service: egress must run and share LiveKit's Redis "
    "(check both configurations), then Retry.",
)
START_SIGNAL = _cause(
    "start_signal",
    "The recording page never signalled its start",
    "The template or web page did not log START_RECORDING in time. This is almost always a "
    "network or firewall problem between the egress worker and the page or LiveKit, or an "
    "error in a custom template. Check that the page loads from the egress worker, then retry.",
)
STOPPED_BEFORE_START = _cause(
    "stopped_before_start",
    "Stopped before it started",
    "Someone (or an app) stopped the egress while it was still starting. Retry if that was "
    "not meant.",
)
SESSION_LIMIT = _cause(
    "session_limit",
    "Reached the session time limit",
    "LiveKit ends egress at its session limit (LiveKit Cloud: files 3 h, streams and HLS "
    "12 h); what was recorded until then was uploaded. Start a new job to go on, or raise "
    "session_limits on a self-hosted egress service.",
)
UPLOAD_FAILED = _cause(
    "upload_failed",
    "Uploading the output failed",
    "Check the storage profile's credentials, bucket and region (Storage, then Test), and that "
    "the egress workers can reach the storage endpoint. If LiveKit has backup storage set up, "
    "the file may be there.",
)
TRACK_NOT_FOUND = _cause(
    "track_not_found",
    "The track was not found",
    "The track id was wrong, or the track was unpublished before the egress subscribed (it "
    "waits 30 s). Pick a track that is published now and retry.",
)
PARTICIPANT_NOT_FOUND = _cause(
    "participant_not_found",
    "The participant was not found",
    "The participant was not in the room, or left before the egress joined. Check the "
    "identity and that they are connected, then retry.",
)
SUBSCRIBE_FAILED = _cause(
    "subscribe_failed",
    "Could not subscribe to the track",
    "The egress worker could not receive the track's media: often a network problem between "
    "the worker and LiveKit (UDP/TURN). Check connectivity, then retry.",
)
PAGE_FAILED = _cause(
    "page_failed",
    "The web page or template failed to load",
    "The page or template URL returned an error or did not load within 30 s. Open it in a "
    "browser from the egress worker's network, fix it, then retry.",
)
ROOM_CONNECTION = _cause(
    "room_connection",
    "Lost the connection to the room",
    "The egress dropped out of the room and could not reconnect; what it had recorded was "
    "uploaded. Check the network between the egress workers and LiveKit.",
)
PIPELINE_FROZEN = _cause(
    "pipeline_frozen",
    "The recording froze while finishing",
    "The output did not finalise within 30 s of the stop: usually a slow or unreachable upload "
    "destination or an overloaded worker. Check the worker's load and the storage, then retry.",
)
TRACK_STUCK = _cause(
    "track_stuck",
    "A track stopped sending media",
    "A track got stuck (FlowFlushing) and the recording ended early. Check the publisher's "
    "connection, then retry.",
)
CPU_EXHAUSTED = _cause(
    "cpu_exhausted",
    "The egress worker ran out of CPU or memory",
    "The worker was overloaded and killed the egress. Give egress workers more CPU or memory, "
    "run fewer egresses per worker, or use a lighter encoding preset; then retry.",
)
WORKER_SHUTDOWN = _cause(
    "worker_shutdown",
    "The egress worker shut down",
    "The worker was stopped or restarted (a deploy, a scale-down) while the egress ran. Retry: "
    "another worker will take it.",
)
RETRY_FILEPATH = _cause(
    "retry_filepath",
    "Its file name cannot be reused for a retry",
    "LiveKit retried the egress but the output names an explicit file path. Put {retry} in "
    "the file name template (or use the default name) and retry.",
)
STREAM_FAILED = _cause(
    "stream_failed",
    "A stream destination failed",
    "The RTMP/SRT server refused or dropped the stream: check the stream URL and key (in "
    "Destinations) and that the server accepts it, then retry.",
)
LIVEKIT_REFUSED = _cause(
    "livekit_refused",
    "LiveKit refused to start it",
    "LiveKit answered the Start call with an error: its own words are below. Fix what it names "
    "(or the configuration), then clone and edit the job.",
)
NO_ANSWER = _cause(
    "no_answer",
    "LiveKit never answered the Start call",
    "The dashboard asked LiveKit to start the egress but got no answer, and found no egress "
    "for it afterwards. Check that LiveKit is reachable, then retry.",
)
EMPTY_OUTPUT = _cause(
    "empty_output",
    "Completed, but an output is empty or missing",
    "LiveKit reported a zero-byte or missing file: most often nothing was published in the "
    "room (no tracks to record) or the pipeline never played. Check that the room had "
    "publishers, then retry.",
)
STUCK_STARTING = _flagged(
    JobFlag.STUCK_STARTING,
    "A room composite waits for published tracks: check that the room has publishers; stop it "
    "and retry.",
)
LOST = _flagged(
    JobFlag.LOST,
    "Check LiveKit's egress list; the flag clears if LiveKit reports the egress again.",
)
SILENT = _flagged(
    JobFlag.SILENT,
    "Open the room on the Live page: if it has ended or has no one left in it, stop the egress "
    "(LiveKit sometimes keeps an egress whose room is gone). If LiveKit refuses the stop, the "
    "egress server holding it may need a restart.",
)
UNKNOWN = _cause(
    "unknown",
    "An error not in the catalogue",
    "LiveKit's own message is shown as it is; jobs with the same message are grouped together.",
)

# LiveKit's error texts, matched (lowercased) in this order: the first match names the cause.
_BY_MESSAGE: list[tuple[re.Pattern[str], Cause]] = [
    (re.compile(pattern), cause)
    for pattern, cause in [
        (r"no response from servers|no servers available", NO_WORKER),
        (r"egress not connected", NOT_CONNECTED),
        (r"session limit reached before start signal", SESSION_LIMIT),
        (r"start signal not received", START_SIGNAL),
        (r"stop called before pipeline could start", STOPPED_BEFORE_START),
        (r"session limit reached", SESSION_LIMIT),
        (r"upload failed|upload queue full", UPLOAD_FAILED),
        (r"\btrack \S* ?not found", TRACK_NOT_FOUND),
        (r"\bparticipant \S* ?not found", PARTICIPANT_NOT_FOUND),
        (r"failed to subscribe to track", SUBSCRIBE_FAILED),
        (r"page load error|template error|chrome", PAGE_FAILED),
        (r"connection to room failed|could not establish signal connection", ROOM_CONNECTION),
        (r"pipeline frozen", PIPELINE_FROZEN),
        (r"flowflushing", TRACK_STUCK),
        (r"cpu exhausted|\boom\b|not enough cpu", CPU_EXHAUSTED),
        (r"server is shutting down|process killed", WORKER_SHUTDOWN),
        (r"does not support retry", RETRY_FILEPATH),
        (
            r"(rtmps?|srt)://|\b(rtmp|srt)\b|\bstream \S+ not found|streams? (failed|stopped)",
            STREAM_FAILED,
        ),
    ]
]
BY_KEY = {cause.key: cause for cause in CAUSES}


def cause_of_message(message: str) -> Cause | None:
    """The known cause LiveKit's error text names, None when the catalogue does not know it."""
    text = message.lower()
    return next((cause for pattern, cause in _BY_MESSAGE if pattern.search(text)), None)


def diagnose(job: EgressJob) -> Diagnosis | None:
    """Why the job needs a person, None when it does not."""
    message = job.error or (job.details if job.status == EgressStatus.FAILED else "")
    if job.launch_state in (LaunchState.REFUSED, LaunchState.UNKNOWN) and not job.egress_id:
        fallback = LIVEKIT_REFUSED if job.launch_state == LaunchState.REFUSED else NO_ANSWER
        # The error is in plain words; LiveKit's own (the Twirp text) is kept in the details.
        cause = cause_of_message(message) or cause_of_message(job.details)
        return Diagnosis(cause or fallback, message)
    if job.status in EgressJob.FAILED_STATUSES:
        return Diagnosis(cause_of_message(message) or UNKNOWN, message)
    if job.flag:
        return Diagnosis(BY_KEY[job.flag], "")
    if job.status == EgressStatus.COMPLETE and empty_output(job):
        return Diagnosis(EMPTY_OUTPUT, job.details)
    return None


def keep_cause(sender: type[EgressJob], instance: EgressJob, raw: bool, **kwargs: Any) -> None:
    """A pre_save receiver (connected by EgressAppConfig.ready): the job's cause brought up to
    date before every save, on every path that writes a job; a new cause reopens its triage."""
    if raw:  # loaddata: the rows as they were dumped
        return
    diagnosis = diagnose(instance)
    cause = diagnosis.group if diagnosis else ""
    if cause != instance.cause:
        instance.cause, instance.triage = cause, ""
        instance.triaged_by, instance.triaged_at = None, None


def empty_output(job: EgressJob) -> bool:
    """A file found empty or missing in storage (a HEAD through the profile's SDK, kept in
    `results["objects"]` once the job's outputs were looked at), else one LiveKit reported
    without bytes or without a location; or no file at all where the job asked for one."""
    results = job.results or {}
    found = results.get("objects") or {}
    files = results.get("files") or []
    for file in files:
        key = str(file.get("filename") or "").lstrip("/")
        if key in found:
            if not found[key]:  # None (missing) or 0 bytes: seen in the store itself
                return True
        elif not file.get("size") or not file.get("location"):
            return True
    wanted = bool(((job.config or {}).get("outputs") or {}).get("file"))
    return wanted and not files


# Ids, numbers, URLs and quoted names vary between jobs that failed the same way.
_VARYING = re.compile(
    r"[a-z]+://\S+"  # URLs
    r"|\b[A-Z]{2}_[A-Za-z0-9]+\b"  # LiveKit ids: EG_…, TR_…, PA_…, RM_…
    r"|\"[^\"]*\"|'[^']*'"  # quoted values
    r"|\d+(\.\d+)?"  # numbers
)


def normalized(message: str) -> str:
    """The message with what varies between occurrences replaced, to group alike failures."""
    text = _VARYING.sub("…", message.strip())
    return " ".join(text.split())[:200]


def described(group: str) -> tuple[Cause, str]:
    """What a stored group (`EgressJob.cause`) stands for: its cause, and LiveKit's words
    for an error the catalogue does not know."""
    if group.startswith(UNKNOWN_PREFIX):
        return UNKNOWN, group.removeprefix(UNKNOWN_PREFIX)
    return BY_KEY.get(group, UNKNOWN), ""


# --- the inbox ----------------------------------------------------------------------------------
SHOWN = {"open": "Still open", "resolved": "Resolved", "all": "All"}


@dataclass(frozen=True)
class Group:
    """The jobs that failed one way: the stored group, its cause and words, and how many."""

    key: str
    cause: Cause
    message: str
    count: int


def needing_a_person(shown: str = "open") -> QuerySet[EgressJob]:
    """Jobs with a cause: still open (acknowledged ones too), resolved, or all (`SHOWN`)."""
    jobs = EgressJob.objects.exclude(cause="")
    if shown == "open":
        return jobs.exclude(triage=Triage.RESOLVED)
    if shown == "resolved":
        return jobs.filter(triage=Triage.RESOLVED)
    return jobs


def groups(jobs: QuerySet[EgressJob]) -> list[Group]:
    """`jobs` by cause, the largest group first."""
    counted = jobs.order_by().values("cause").annotate(count=Count("pk"))
    found = [Group(row["cause"], *described(row["cause"]), row["count"]) for row in counted]
    return sorted(found, key=lambda group: (-group.count, group.key))
