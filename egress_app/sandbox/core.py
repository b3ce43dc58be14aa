"""The running sandbox: its world, egresses and webhooks, and the operations on them.

Everything here runs on the server's event loop; other threads go through `SandboxController`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from livekit.protocol import webhook

from egress_app.sandbox.auto_egress import AutoEgress
from egress_app.sandbox.config import Pacing, SandboxConfig
from egress_app.sandbox.data import DataLog
from egress_app.sandbox.egresses import EgressManager
from egress_app.sandbox.webhooks import WebhookSender
from egress_app.sandbox.world import World, WorldEvent, load_fixture

# Internal world events that LiveKit has no webhook for.
_SILENT_EVENTS = {"track_muted"}


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.initial = replace(config)
        self.world = World(self._on_world_event)
        self.webhooks = WebhookSender(config)
        self.egresses = EgressManager(config, self.world, self.webhooks)
        self.auto_egress = AutoEgress(self.egresses, self.webhooks)  # CreateRoom's `egress`
        self.data = DataLog()  # what RoomService SendData received
        # Twirp requests received, by method name ("ListRooms"), answered or refused: what a
        # test or benchmark counts of the calls it caused (LiveKit keeps no such count).
        self.calls: Counter[str] = Counter()
        load_fixture(self.world, config.fixture)

    def _on_world_event(self, event: WorldEvent) -> None:
        if event.name not in _SILENT_EVENTS:
            message = webhook.WebhookEvent(room=event.room)
            if event.participant is not None:
                message.participant.CopyFrom(event.participant)
            if event.track is not None:
                message.track.CopyFrom(event.track)
            self.webhooks.notify(event.name, message)
        self.egresses.on_world_event(event)
        self.auto_egress.on_world_event(event)

    # --- control operations (also used by the HTTP control API) ---------------------------------
    async def reset(
        self,
        *,
        fixture: str | None = None,
        pacing: Pacing | None = None,
        webhook_urls: Iterable[str] | None = None,
    ) -> None:
        await self.egresses.reset()
        await self.webhooks.reset(
            list(self.config.webhook_urls if webhook_urls is None else webhook_urls)
        )
        self.config.pacing = pacing or self.initial.pacing
        self.config.audio = self.initial.audio
        self.config.enable_remote_unmute = self.initial.enable_remote_unmute
        self.config.page_size = self.initial.page_size
        self.config.storage = self.initial.storage
        self.world.rooms.clear()
        self.auto_egress.reset()
        self.data.clear()
        self.calls.clear()
        load_fixture(self.world, fixture or self.config.fixture)

    async def close(self) -> None:
        await self.egresses.reset()
        await self.webhooks.close()
