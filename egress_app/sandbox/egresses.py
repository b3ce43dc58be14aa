"""Egress records and their simulated pipeline.

The lifecycle follows livekit/egress: STARTING -> ACTIVE -> ENDING -> COMPLETE, with ABORTED,
FAILED and LIMIT_REACHED endings, the same error strings, codes and `End reason: ...` details, and
the same webhooks (egress_started, egress_updated, egress_ended). Timing comes from `Pacing`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from google.protobuf.message import Message
from livekit.protocol import egress, models, webhook

from egress_app.sandbox import outputs, speech, uploads
from egress_app.sandbox.audio import AudioDialError, AudioStream
from egress_app.sandbox.config import SandboxConfig
from egress_app.sandbox.errors import (
    TwirpError,
    egress_not_found,
    no_workers,
    room_not_found,
)
from egress_app.sandbox.ids import new_id, now_ns
from egress_app.sandbox.plan import Plan
from egress_app.sandbox.redact import redact_request, stream_info_url
from egress_app.sandbox.validation import build_plan, resolve_stream_url
from egress_app.sandbox.webhooks import WebhookSender
from egress_app.sandbox.world import EGRESS, World, WorldError, WorldEvent

Status = egress.EgressStatus
STARTING = Status.EGRESS_STARTING
ACTIVE = Status.EGRESS_ACTIVE
ENDING = Status.EGRESS_ENDING
COMPLETE = Status.EGRESS_COMPLETE
FAILED = Status.EGRESS_FAILED
ABORTED = Status.EGRESS_ABORTED
LIMIT_REACHED = Status.EGRESS_LIMIT_REACHED
STREAM_ACTIVE = egress.StreamInfo.Status.ACTIVE
STREAM_FINISHED = egress.StreamInfo.Status.FINISHED
STREAM_FAILED = egress.StreamInfo.Status.FAILED

# livekit/protocol livekit/livekit_egress.go
MSG_START_NOT_RECEIVED = "Start signal not received"
MSG_LIMIT_REACHED = "Session limit reached"
MSG_STOPPED_BEFORE_STARTED = "Stop called before pipeline could start"
END_API = "StopEgress API"
END_SOURCE_CLOSED = "Source closed"
END_LIMIT_REACHED = "Session limit reached"
END_STREAMS_STOPPED = "All streams stopped"
END_FAILURE = "Failure"
# livekit/egress pkg/errors/errors.go
ERR_ROOM_CONNECTION_FAILED = "recording ended early: connection to room failed"

TRIGGERS = ("fail-", "limit-", "abort-", "slow-")


@dataclass
class Egress:
    info: egress.EgressInfo
    plan: Plan
    trigger: str = ""
    storage_error: str = ""
    streams: list[tuple[str, egress.StreamInfo]] = field(default_factory=list)
    live_tracks: set[str] = field(default_factory=set)
    audio_track: str = ""
    audio: AudioStream | None = None
    active_at: int = 0
    names: outputs.Naming | None = None
    uploaded: uploads.Uploaded | None = None  # the real numbers of what was written
    task: asyncio.Task[None] | None = None
    end_requested: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def status_name(self) -> str:
        return Status.Name(self.info.status)

    def active_streams(self) -> list[tuple[str, egress.StreamInfo]]:
        return [(url, info) for url, info in self.streams if info.status == STREAM_ACTIVE]

    def output_count(self) -> int:
        # Like egress's OutputCount: files, segments, images, and each live stream URL.
        plan = self.plan
        return len(plan.files) + len(plan.segments) + len(plan.images) + len(self.active_streams())


def requested_room(request: Message) -> str | None:
    """The room a Start* request is bound to, or None for web egress."""
    if isinstance(request, egress.WebEgressRequest):
        return None
    if isinstance(request, egress.StartEgressRequest) and request.WhichOneof("source") == "web":
        return None
    return str(getattr(request, "room_name", ""))


def _copy(info: egress.EgressInfo) -> egress.EgressInfo:
    clone = egress.EgressInfo()
    clone.CopyFrom(info)
    return clone


def _trigger(room_name: str) -> str:
    return next((prefix for prefix in TRIGGERS if room_name.startswith(prefix)), "")


def _stream_error(url: str, shown: str) -> str:
    # egress names a stream by its RedactedUrl (E:pkg/config/output_stream.go), StreamInfo's url
    host = urlsplit(url).hostname or ""
    if not host.startswith("fail."):
        return ""
    return f"failed to connect to {shown}: dial tcp: lookup {host}: no such host"


class EgressManager:
    def __init__(self, config: SandboxConfig, world: World, webhooks: WebhookSender) -> None:
        self.config = config
        self.world = world
        self.webhooks = webhooks
        self.records: dict[str, Egress] = {}
        # The egresses not yet ended, by room name: whether a room is still being recorded
        # without scanning every egress the sandbox ever ran on each ending.
        self._unended: dict[str, set[str]] = {}
        self._background: set[asyncio.Task[None]] = set()

    # --- queries ---------------------------------------------------------------------------------
    def get(self, egress_id: str) -> egress.EgressInfo | None:
        record = self.records.get(egress_id)
        return record.info if record else None

    def infos(self) -> list[egress.EgressInfo]:
        return [record.info for record in self.records.values()]

    def lookup(self, egress_id: str) -> Egress:
        record = self.records.get(egress_id)
        if record is None:
            raise egress_not_found()
        return record

    def list(self, request: egress.ListEgressRequest) -> egress.ListEgressResponse:
        if request.egress_id:
            records = [self.lookup(request.egress_id)]
        else:
            records = [
                r
                for r in self.records.values()
                if (not request.room_name or r.info.room_name == request.room_name)
                and (not request.active or r.info.status < COMPLETE)
            ]
        offset = _page_offset(request.page_token.token)
        size = max(1, self.config.page_size)
        # Protobuf copies each message a response is built with: the answer holds copies.
        page = records[offset : offset + size]
        response = egress.ListEgressResponse(items=[record.info for record in page])
        if offset + size < len(records):
            response.next_page_token.token = _page_token(offset + size)
        return response

    # --- start -----------------------------------------------------------------------------------
    def start(self, request: Message) -> Egress:
        """Validate and register a new egress, the way LiveKit server + egress worker do.

        Order: the room must exist (server), then a worker must answer (`no-workers` rooms), then
        the worker validates the request.
        """
        room_name = requested_room(request)
        room: models.Room | None = None
        if room_name is not None:
            state = self.world.rooms.get(room_name)
            if state is None:
                raise room_not_found()
            room = state.room
            if room_name.startswith("no-workers"):
                raise no_workers()
        plan = build_plan(request)
        record = self._register(plan, room)
        self._notify(record, "egress_started")
        record.task = asyncio.get_running_loop().create_task(self._run(record))
        return record

    def _register(self, plan: Plan, room: models.Room | None) -> Egress:
        now = now_ns()
        info = egress.EgressInfo(
            egress_id=new_id("EG_"),
            room_id=room.sid if room else "",
            room_name=plan.room_name,
            source_type=cast(egress.EgressSourceType, plan.source_type),
            status=STARTING,
            started_at=now,
            updated_at=now,
        )
        echoed = type(plan.request)()
        echoed.CopyFrom(plan.request)
        redact_request(echoed)
        getattr(info, plan.request_field).CopyFrom(echoed)
        record = Egress(info, plan, trigger=_trigger(plan.room_name))
        self._prepare_outputs(record)
        record.storage_error = uploads.simulated_failure(plan, self.config.storage)
        self.records[info.egress_id] = record
        self._unended.setdefault(plan.room_name, set()).add(info.egress_id)
        if room is not None:
            self.world.add_participant(room.name, info.egress_id, kind=EGRESS, tracks=())
            self.world.set_active_recording(room.name, True)
        return record

    def _prepare_outputs(self, record: Egress) -> None:
        plan, info = record.plan, record.info
        publisher = track = None
        if plan.room_name and plan.track_ids and plan.room_name in self.world.rooms:
            with contextlib.suppress(WorldError):
                publisher, track = self.world.find_track(plan.room_name, plan.track_ids[0])
        names = outputs.naming(
            plan, info, datetime.now(UTC), publisher, track if plan.is_track else None
        )
        record.names = names
        for file_spec in plan.files:
            info.file_results.add().CopyFrom(outputs.new_file_info(file_spec, plan, names))
        for segment_spec in plan.segments:
            info.segment_results.add().CopyFrom(outputs.new_segments_info(segment_spec, names))
        for image_spec in plan.images:
            info.image_results.add().CopyFrom(outputs.new_images_info(image_spec, names))
        for url in plan.stream.urls if plan.stream else []:
            self._add_stream(record, url)
        first = next((spec for spec in plan.files if not spec.disable_manifest), None)
        if first is not None:
            info.manifest_location = outputs.location(
                first.storage, outputs.manifest_key(info.file_results[0].filename)
            )
        record.live_tracks = set(plan.track_ids)
        self._sync_result(record)

    def _add_stream(self, record: Egress, url: str) -> egress.StreamInfo:
        kind = record.plan.stream.kind if record.plan.stream else ""
        stream = record.info.stream_results.add(url=stream_info_url(url, kind))
        record.streams.append((url, stream))
        return stream

    # --- lifecycle -------------------------------------------------------------------------------
    async def _run(self, record: Egress) -> None:
        pacing = self.config.pacing
        if record.trigger == "abort-":
            await asyncio.sleep(pacing.abort)
            self._abort(record, MSG_START_NOT_RECEIVED)
            return
        await asyncio.sleep(pacing.starting)
        failure = self._source_failure(record)
        if failure is not None:
            self._fail(record, *failure)
            return
        if record.plan.websocket:
            try:
                await self._open_audio(record)
            except AudioDialError as exc:
                self._fail(record, str(exc), 400)
                return
        self._activate(record)
        if record.info.status != ACTIVE:
            return
        scheduled = record.trigger in ("fail-", "limit-") or record.storage_error
        try:
            await asyncio.wait_for(
                record.end_requested.wait(), self.config.pacing.failure if scheduled else None
            )
        except TimeoutError:
            await self._scheduled_ending(record)
            return
        await asyncio.sleep(self.config.pacing.ending)
        error = record.storage_error or await self._upload(record)
        if error:
            self._fail(record, error, 400, finalize=True)
        else:
            self._end(record, COMPLETE)

    async def _upload(self, record: Egress) -> str:
        """Write the outputs bound for reachable stores; egress's error, or "" if all went."""
        if record.names is None:
            return ""
        info = _copy(record.info)
        record.uploaded, error = await uploads.write_outputs(
            record.plan, info, record.names, self.config.storage, record.active_at
        )
        return error

    def _source_failure(self, record: Egress) -> tuple[str, int] | None:
        """What the worker finds once it joins the room: missing participant or track (404)."""
        plan = record.plan
        state = self.world.rooms.get(plan.room_name) if plan.room_name else None
        if plan.room_name and state is None:
            return ERR_ROOM_CONNECTION_FAILED, 503
        if state is None:
            return None
        if plan.identity and plan.identity not in state.participants:
            return f"participant {plan.identity} not found", 404
        for track_id in plan.track_ids:
            try:
                _, track = self.world.find_track(plan.room_name, track_id)
            except WorldError:
                return f"track {track_id} not found", 404
            if plan.websocket and track.type == models.TrackType.VIDEO:
                return f"format audio/x-raw incompatible with codec {track.mime_type}", 400
        return None

    async def _open_audio(self, record: Egress) -> None:
        url = record.streams[0][0]
        muted, speaker = False, ""
        record.audio_track = record.plan.track_ids[0] if record.plan.track_ids else ""
        if record.audio_track:
            with contextlib.suppress(WorldError):
                owner, track = self.world.find_track(record.plan.room_name, record.audio_track)
                muted = track.muted
                if track.source == models.TrackSource.MICROPHONE:
                    speaker = owner.identity
        config = self.config.audio
        if config.source == "speech" and speech.has_speech(speaker):
            loop = await asyncio.to_thread(speech.speech, speaker)  # upsampled once, then cached
        else:
            loop = speech.tone()
        audio = AudioStream(url, loop, config, muted=muted)
        await audio.connect()
        record.audio = audio

    def _activate(self, record: Egress) -> None:
        now = now_ns()
        record.active_at = now
        info = record.info
        info.status = ACTIVE
        for file_result in info.file_results:
            file_result.started_at = now
        for segment_result in info.segment_results:
            segment_result.started_at = now
        for image_result in info.image_results:
            image_result.started_at = now
        failures = []
        for url, stream in record.streams:
            if stream.status == STREAM_ACTIVE and not stream.started_at:
                stream.started_at = now
                error = _stream_error(url, stream.url)
                if error:
                    outputs.finish_stream(stream, now, STREAM_FAILED, error)
                    failures.append(error)
        if failures and record.output_count() == 0:
            self._fail(record, failures[0], 503)
            return
        self._publish(record, "egress_updated")
        if record.audio is not None:
            record.audio.start(lambda message: self._fail(record, message, 503))

    async def _scheduled_ending(self, record: Egress) -> None:
        if record.trigger == "limit-":
            record.info.details = f"End reason: {END_LIMIT_REACHED}"
            error = await self._upload(record)
            if error:
                self._fail(record, error, 400, finalize=True)
                return
            record.info.error = MSG_LIMIT_REACHED
            record.info.error_code = 413
            self._end(record, LIMIT_REACHED)
        elif record.trigger == "fail-":
            await self._upload(record)  # egress still uploads what it recorded
            self._fail(record, ERR_ROOM_CONNECTION_FAILED, 503, finalize=True)
        else:
            self._fail(record, record.storage_error, 400, finalize=True)

    def request_end(self, record: Egress, reason: str) -> None:
        """EOS: STARTING aborts at once; ACTIVE goes ENDING and completes after `pacing.ending`."""
        status = record.info.status
        if status == STARTING:
            record.info.details = f"End reason: {reason}"
            self._abort(record, MSG_STOPPED_BEFORE_STARTED)
        elif status == ACTIVE:
            record.info.details = f"End reason: {reason}"
            record.info.status = ENDING
            self._publish(record, "egress_updated")
            record.end_requested.set()

    def _abort(self, record: Egress, message: str) -> None:
        record.info.error = message
        record.info.error_code = 412
        self._end(record, ABORTED, finalize=False)

    def _fail(self, record: Egress, message: str, code: int, *, finalize: bool = False) -> None:
        if record.info.status >= COMPLETE:
            return
        record.info.error = message
        record.info.error_code = code
        if not record.info.details:
            record.info.details = f"End reason: {END_FAILURE}"
        self._end(record, FAILED, finalize=finalize)

    def _end(self, record: Egress, status: int, *, finalize: bool = True) -> None:
        now = now_ns()
        info = record.info
        info.status = cast(egress.EgressStatus, status)
        info.ended_at = now
        self._unended.get(record.plan.room_name, set()).discard(info.egress_id)
        if finalize and record.active_at:
            self._finalize(record, now)
        for _, stream in record.streams:
            if stream.started_at:
                outputs.finish_stream(stream, now, STREAM_FINISHED)
        current = asyncio.current_task()
        if record.task is not None and record.task is not current:
            record.task.cancel()
        if record.audio is not None:
            self._spawn(record.audio.close())
        self._leave_room(record)
        self._publish(record, "egress_ended")

    def _finalize(self, record: Egress, now: int) -> None:
        plan, info, started = record.plan, record.info, record.active_at
        kbps = outputs.plan_kbps(plan)
        for result in info.file_results:
            outputs.finish_file(result, kbps, started, now)
        for segments, spec in zip(info.segment_results, plan.segments, strict=True):
            outputs.finish_segments(segments, spec, kbps, started, now)
        for images, image_spec in zip(info.image_results, plan.images, strict=True):
            outputs.finish_images(images, image_spec, started, now)
        if record.uploaded is not None:
            record.uploaded.apply(info)

    def _leave_room(self, record: Egress) -> None:
        room = record.plan.room_name
        state = self.world.rooms.get(room)
        if state is None:
            return
        if record.info.egress_id in state.participants:
            self.world.remove_participant(room, record.info.egress_id)
        # Recording while another recorder is in, as LiveKit's room says (L:pkg/rtc/room.go
        # RemoveParticipant).
        self.world.set_active_recording(room, bool(self._unended.get(room)))

    # --- updates ---------------------------------------------------------------------------------
    def stop(self, egress_id: str) -> egress.EgressInfo:
        record = self.lookup(egress_id)
        if record.info.status >= COMPLETE:
            raise TwirpError(
                "failed_precondition", f"egress with status {record.status_name} cannot be stopped"
            )
        self.request_end(record, END_API)
        return _copy(record.info)

    def update_layout(self, request: egress.UpdateLayoutRequest) -> egress.EgressInfo:
        record = self._updatable(request.egress_id)
        record.plan.layout = request.layout
        info = record.info
        if info.HasField("room_composite"):
            info.room_composite.layout = request.layout
        elif info.HasField("egress") and info.egress.HasField("template"):
            info.egress.template.layout = request.layout
        state = self.world.rooms.get(record.plan.room_name)
        if state is not None and info.egress_id in state.participants:
            state.participants[info.egress_id].metadata = f'{{"layout": "{request.layout}"}}'
        return _copy(info)

    def update_stream(self, request: egress.UpdateStreamRequest) -> egress.EgressInfo:
        record = self._updatable(request.egress_id)
        stream_plan = record.plan.stream
        if stream_plan is None or record.plan.websocket:
            raise TwirpError("invalid_argument", "UpdateStream called on non-streaming egress")
        errors: list[TwirpError] = []
        added = [*request.add_output_urls, *(d.url for d in request.add_destinations)]
        for url in added:
            try:
                self._add_live_stream(record, resolve_stream_url(url, stream_plan.kind))
            except TwirpError as exc:
                errors.append(exc)
        for url in request.remove_output_urls:
            stream = self._find_stream(record, url, stream_plan.kind)
            if stream is None:
                errors.append(TwirpError("not_found", f"stream {url} not found"))
            else:
                outputs.finish_stream(stream, now_ns(), STREAM_FINISHED)
        if record.output_count() == 0:
            self.request_end(record, END_STREAMS_STOPPED)
        else:
            self._publish(record, "egress_updated")
        if errors:
            # egress's ErrArray: the first error's code, every message on its own line.
            raise TwirpError(errors[0].code, "\n".join(e.msg for e in errors))
        return _copy(record.info)

    def _add_live_stream(self, record: Egress, url: str) -> None:
        if any(existing == url for existing, _ in record.active_streams()):
            return
        stream = self._add_stream(record, url)
        if record.info.status == ACTIVE:
            stream.started_at = now_ns()
            error = _stream_error(url, stream.url)
            if error:
                outputs.finish_stream(stream, stream.started_at, STREAM_FAILED, error)

    def _find_stream(self, record: Egress, url: str, kind: str) -> egress.StreamInfo | None:
        try:
            resolved = resolve_stream_url(url, kind)
        except TwirpError:
            resolved = url
        for dialled, stream in record.active_streams():
            if dialled in (url, resolved):
                return stream
        return None

    def _updatable(self, egress_id: str) -> Egress:
        record = self.lookup(egress_id)
        if record.info.status >= COMPLETE:
            raise TwirpError(
                "failed_precondition", f"egress with status {record.status_name} cannot be updated"
            )
        return record

    # --- world events ----------------------------------------------------------------------------
    def on_world_event(self, event: WorldEvent) -> None:
        for record in list(self.records.values()):
            if record.info.status < COMPLETE and record.plan.room_name == event.room.name:
                self._apply_world_event(record, event)

    def _apply_world_event(self, record: Egress, event: WorldEvent) -> None:
        if event.name == "room_finished":
            self.request_end(record, END_SOURCE_CLOSED)
        elif event.name == "participant_left" and event.participant is not None:
            if record.plan.identity == event.participant.identity:
                self.request_end(record, END_SOURCE_CLOSED)
        elif event.name == "track_unpublished" and event.track is not None:
            if event.track.sid in record.live_tracks:
                record.live_tracks.discard(event.track.sid)
                if not record.live_tracks and not record.plan.identity:
                    self.request_end(record, END_SOURCE_CLOSED)
        elif (
            event.name == "track_muted"
            and event.track is not None
            and record.audio is not None
            and record.audio_track == event.track.sid
        ):
            self._spawn(record.audio.set_muted(event.track.muted))

    def set_track_stalled(self, room: str, track_sid: str, stalled: bool) -> None:
        """The publisher's packets stop (or resume) reaching the egresses of `track_sid`."""
        self.world.find_track(room, track_sid)
        for record in self.records.values():
            if record.audio is not None and record.audio_track == track_sid:
                self._spawn(record.audio.set_stalled(stalled))

    # --- webhooks --------------------------------------------------------------------------------
    def _sync_result(self, record: Egress) -> None:
        """The deprecated single `result`, filled when there is exactly one kind of output."""
        plan, info = record.plan, record.info
        if plan.output_kinds != 1:
            return
        if plan.files:
            info.file.CopyFrom(info.file_results[0])
        elif plan.stream:
            del info.stream.info[:]
            info.stream.info.extend(info.stream_results)
        elif plan.segments:
            info.segments.CopyFrom(info.segment_results[0])

    def _publish(self, record: Egress, event: str) -> None:
        record.info.updated_at = now_ns()
        self._sync_result(record)
        self._notify(record, event)

    def _notify(self, record: Egress, name: str) -> None:
        if not self.webhooks.has_recipients(record.plan.webhooks):
            return  # nothing to sign or send: skip building the event
        message = webhook.WebhookEvent(egress_info=_copy(record.info))
        if record.info.room_name:
            message.room.name = record.info.room_name
            message.room.sid = record.info.room_id
        self.webhooks.notify(name, message, extra=record.plan.webhooks)

    # --- housekeeping ----------------------------------------------------------------------------
    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def reset(self) -> None:
        tasks = [r.task for r in self.records.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        closing = [r.audio.close() for r in self.records.values() if r.audio is not None]
        await asyncio.gather(*tasks, *closing, *self._background, return_exceptions=True)
        self.records.clear()
        self._unended.clear()


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        label, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if label != "offset":
            raise ValueError(label)
        return max(0, int(value))
    except ValueError as exc:
        raise TwirpError("invalid_argument", "invalid page token") from exc
