"""The `livekit.Egress` Twirp service."""

from __future__ import annotations

import asyncio
from typing import cast

from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.sandbox.auth import Grants
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.twirp import Method

SERVICE = "livekit.Egress"


def methods(sandbox: Sandbox) -> dict[str, Method]:
    manager = sandbox.egresses

    async def start(request: Message, grants: Grants) -> Message:
        grants.require("roomRecord")
        record = manager.start(request)
        answer = egress.EgressInfo()
        answer.CopyFrom(record.info)
        if record.trigger == "slow-":
            # The egress exists already; only the answer is late (a client may time out first).
            await asyncio.sleep(sandbox.config.pacing.slow_start)
        return answer

    async def update_layout(request: Message, grants: Grants) -> Message:
        grants.require("roomRecord")
        return manager.update_layout(cast(egress.UpdateLayoutRequest, request))

    async def update_stream(request: Message, grants: Grants) -> Message:
        grants.require("roomRecord")
        return manager.update_stream(cast(egress.UpdateStreamRequest, request))

    async def list_egress(request: Message, grants: Grants) -> Message:
        grants.require("roomRecord")
        return manager.list(cast(egress.ListEgressRequest, request))

    async def stop(request: Message, grants: Grants) -> Message:
        grants.require("roomRecord")
        return manager.stop(cast(egress.StopEgressRequest, request).egress_id)

    return {
        "StartEgress": Method(egress.StartEgressRequest, start),
        "StartRoomCompositeEgress": Method(egress.RoomCompositeEgressRequest, start),
        "StartWebEgress": Method(egress.WebEgressRequest, start),
        "StartParticipantEgress": Method(egress.ParticipantEgressRequest, start),
        "StartTrackCompositeEgress": Method(egress.TrackCompositeEgressRequest, start),
        "StartTrackEgress": Method(egress.TrackEgressRequest, start),
        "UpdateLayout": Method(egress.UpdateLayoutRequest, update_layout),
        "UpdateStream": Method(egress.UpdateStreamRequest, update_stream),
        "ListEgress": Method(egress.ListEgressRequest, list_egress),
        "StopEgress": Method(egress.StopEgressRequest, stop),
    }
