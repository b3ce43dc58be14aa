"""A thread-safe handle on a running sandbox for tests and tools.

Each method runs its work on the server's event loop and waits for the result, so a test thread
(sync or with its own event loop) can change the world and read egress state safely.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

from livekit.protocol import egress, models
from livekit.protocol.egress import EgressInfo

from egress_app.sandbox.config import AudioConfig, Pacing, StorageEndpoints
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.data import DataRecord
from egress_app.sandbox.webhooks import WebhookDelivery
from egress_app.sandbox.world import STANDARD

T = TypeVar("T")

CALL_TIMEOUT = 10.0
POLL_SECONDS = 0.01
TERMINAL = egress.EgressStatus.EGRESS_COMPLETE


def status_value(status: int | str) -> int:
    if isinstance(status, str):
        name = status if status.startswith("EGRESS_") else f"EGRESS_{status.upper()}"
        return egress.EgressStatus.Value(name)
    return int(status)


def status_name(status: int) -> str:
    return egress.EgressStatus.Name(cast(egress.EgressStatus, status))


class SandboxController:
    def __init__(self, sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
        self.sandbox = sandbox
        self.loop = loop

    # --- plumbing --------------------------------------------------------------------------------
    def _await(self, make: Callable[[], Awaitable[T]]) -> T:
        async def runner() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(CALL_TIMEOUT)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def runner() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(CALL_TIMEOUT)

    # --- configuration ---------------------------------------------------------------------------
    def reset(
        self,
        *,
        fixture: str | None = None,
        pacing: Pacing | None = None,
        webhook_urls: Iterable[str] | None = None,
    ) -> None:
        """Back to the configured fixture, pacing and webhook URLs; no egresses, no deliveries."""
        self._await(
            lambda: self.sandbox.reset(fixture=fixture, pacing=pacing, webhook_urls=webhook_urls)
        )

    def set_pacing(self, **seconds: float) -> Pacing:
        def update() -> Pacing:
            self.sandbox.config.pacing = self.sandbox.config.pacing.updated(**seconds)
            return self.sandbox.config.pacing

        return self._call(update)

    def set_audio(self, **values: object) -> AudioConfig:
        """Change the `AudioConfig` (source, frame_seconds, ping_interval, ...) until a reset."""

        def update() -> AudioConfig:
            self.sandbox.config.audio = self.sandbox.config.audio.updated(**values)
            return self.sandbox.config.audio

        return self._call(update)

    def set_webhook_urls(self, urls: Iterable[str]) -> None:
        def update() -> None:
            self.sandbox.webhooks.urls = list(urls)

        self._call(update)

    def set_storage_endpoints(self, *, gcs: str = "", azure_blob: str = "") -> None:
        """Write GCS / Azure outputs to these emulators (until the next reset)."""

        def update() -> None:
            self.sandbox.config.storage = StorageEndpoints(gcs=gcs, azure_blob=azure_blob)

        self._call(update)

    def set_remote_unmute(self, enabled: bool) -> None:
        """LiveKit's room.enable_remote_unmute: lets MutePublishedTrack unmute, until reset."""
        self._call(setattr, self.sandbox.config, "enable_remote_unmute", enabled)

    def set_page_size(self, page_size: int) -> None:
        self._call(setattr, self.sandbox.config, "page_size", page_size)

    # --- world -----------------------------------------------------------------------------------
    def add_room(self, name: str) -> models.Room:
        return self._call(self.sandbox.world.create_room, name)

    def delete_room(self, name: str) -> None:
        self._call(self.sandbox.world.delete_room, name)

    def rooms(self) -> list[models.Room]:
        return self._call(lambda: [_copy(s.room) for s in self.sandbox.world.rooms.values()])

    def participants(self, room: str) -> list[models.ParticipantInfo]:
        return self._call(
            lambda: [_copy(p) for p in self.sandbox.world.get(room).participants.values()]
        )

    def add_participant(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        tracks: Iterable[str] = ("camera", "microphone"),
        kind: int = STANDARD,
    ) -> models.ParticipantInfo:
        return self._call(
            self.sandbox.world.add_participant,
            room,
            identity,
            name=name,
            tracks=tuple(tracks),
            kind=kind,
        )

    def remove_participant(self, room: str, identity: str) -> None:
        self._call(self.sandbox.world.remove_participant, room, identity)

    def publish_track(self, room: str, identity: str, source: str) -> models.TrackInfo:
        return self._call(self.sandbox.world.publish_track, room, identity, source)

    def unpublish_track(self, room: str, track_sid: str) -> None:
        self._call(self.sandbox.world.unpublish_track, room, track_sid)

    def set_track_muted(self, room: str, track_sid: str, muted: bool) -> models.TrackInfo:
        return self._call(self.sandbox.world.set_track_muted, room, track_sid, muted)

    def set_track_stalled(self, room: str, track_sid: str, stalled: bool) -> None:
        """Stop (or resume) the track's packets reaching its websocket egresses."""
        self._call(self.sandbox.egresses.set_track_stalled, room, track_sid, stalled)

    def track_sid(self, room: str, identity: str, source: str) -> str:
        """The sid of `identity`'s track of `source` ("camera", "microphone", ...)."""
        for participant in self.participants(room):
            if participant.identity == identity:
                for track in participant.tracks:
                    if models.TrackSource.Name(track.source).lower() == source:
                        return track.sid
        raise LookupError(f"{identity} publishes no {source} track in {room}")

    # --- egresses --------------------------------------------------------------------------------
    def egress(self, egress_id: str) -> EgressInfo:
        """A copy of the egress as the API would return it (request redacted)."""

        def read() -> EgressInfo:
            info = self.sandbox.egresses.get(egress_id)
            if info is None:
                raise LookupError(f"egress {egress_id} does not exist")
            return _copy(info)

        return self._call(read)

    def egresses(self) -> list[EgressInfo]:
        return self._call(lambda: [_copy(i) for i in self.sandbox.egresses.infos()])

    def wait_for_status(
        self, egress_id: str, status: int | str, timeout: float = 5.0
    ) -> EgressInfo:
        """Poll until the egress reaches `status` (value or name); fail fast on another end."""
        wanted = status_value(status)
        deadline = time.monotonic() + timeout
        while True:
            info = self.egress(egress_id)
            if info.status == wanted:
                return info
            if info.status >= TERMINAL:
                raise AssertionError(
                    f"{egress_id} ended {status_name(info.status)} ({info.error or info.details}),"
                    f" not {status_name(wanted)}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{egress_id} still {status_name(info.status)} after {timeout}s,"
                    f" waiting for {status_name(wanted)}"
                )
            time.sleep(POLL_SECONDS)

    # --- webhooks --------------------------------------------------------------------------------
    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self._call(lambda: list(self.sandbox.webhooks.deliveries))

    def wait_for_delivery(
        self, event: str, *, egress_id: str = "", timeout: float = 5.0
    ) -> WebhookDelivery:
        """The first recorded delivery (or drop) of `event`, optionally for one egress."""
        deadline = time.monotonic() + timeout
        while True:
            for delivery in self.webhook_deliveries:
                if delivery.event == event and (not egress_id or delivery.egress_id == egress_id):
                    return delivery
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} delivery recorded after {timeout}s")
            time.sleep(POLL_SECONDS)

    # --- requests received -----------------------------------------------------------------------
    @property
    def calls(self) -> dict[str, int]:
        """Twirp requests received since the last reset, by method name ("ListRooms")."""
        return self._call(lambda: dict(self.sandbox.calls))

    # --- data packets ----------------------------------------------------------------------------
    def data_packets(self, room: str = "") -> list[DataRecord]:
        """What RoomService SendData accepted (of one room, if given), oldest first."""
        return self._call(
            lambda: [r for r in self.sandbox.data.records if not room or r.room == room]
        )

    def wait_for_data(
        self, count: int, *, room: str = "", timeout: float = 5.0
    ) -> list[DataRecord]:
        """At least `count` recorded data packets (of one room, if given)."""
        deadline = time.monotonic() + timeout
        while len(packets := self.data_packets(room)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(packets)} data packets after {timeout}s, not {count}")
            time.sleep(POLL_SECONDS)
        return packets


def _copy[M: (models.Room, models.ParticipantInfo, models.TrackInfo, egress.EgressInfo)](
    message: M,
) -> M:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone
