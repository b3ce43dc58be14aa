"""The official SDK behind our client's interface, so one scenario can run through both."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from livekit import api
from livekit.protocol import egress, models, room


class SdkDriver:
    def __init__(self, url: str, key: str, secret: str) -> None:
        self.api = api.LiveKitAPI(url, key, secret)

    async def start_room_composite_egress(
        self, request: egress.RoomCompositeEgressRequest
    ) -> egress.EgressInfo:
        return await self.api.egress.start_room_composite_egress(request)

    async def start_web_egress(self, request: egress.WebEgressRequest) -> egress.EgressInfo:
        return await self.api.egress.start_web_egress(request)

    async def start_participant_egress(
        self, request: egress.ParticipantEgressRequest
    ) -> egress.EgressInfo:
        return await self.api.egress.start_participant_egress(request)

    async def start_track_composite_egress(
        self, request: egress.TrackCompositeEgressRequest
    ) -> egress.EgressInfo:
        return await self.api.egress.start_track_composite_egress(request)

    async def start_track_egress(self, request: egress.TrackEgressRequest) -> egress.EgressInfo:
        return await self.api.egress.start_track_egress(request)

    async def start_egress(self, request: egress.StartEgressRequest) -> egress.EgressInfo:
        return await self.api.egress.start_egress(request)

    async def update_layout(self, egress_id: str, layout: str) -> egress.EgressInfo:
        request = egress.UpdateLayoutRequest(egress_id=egress_id, layout=layout)
        return await self.api.egress.update_layout(request)

    async def update_stream(
        self,
        egress_id: str,
        *,
        add_output_urls: Sequence[str] = (),
        remove_output_urls: Sequence[str] = (),
    ) -> egress.EgressInfo:
        request = egress.UpdateStreamRequest(
            egress_id=egress_id,
            add_output_urls=list(add_output_urls),
            remove_output_urls=list(remove_output_urls),
        )
        return await self.api.egress.update_stream(request)

    async def list_egress(
        self, *, room_name: str = "", egress_id: str = "", active: bool = False
    ) -> list[egress.EgressInfo]:
        # The SDK returns one page; page the way `lk egress list` does.
        request = egress.ListEgressRequest(room_name=room_name, egress_id=egress_id, active=active)
        items: list[egress.EgressInfo] = []
        while True:
            page = await self.api.egress.list_egress(request)
            items.extend(page.items)
            if not page.next_page_token.token:
                return items
            request.page_token.CopyFrom(page.next_page_token)

    async def stop_egress(self, egress_id: str) -> egress.EgressInfo:
        return await self.api.egress.stop_egress(egress.StopEgressRequest(egress_id=egress_id))

    async def list_rooms(self, names: Sequence[str] = ()) -> list[models.Room]:
        response = await self.api.room.list_rooms(room.ListRoomsRequest(names=list(names)))
        return list(response.rooms)

    async def list_participants(self, room_name: str) -> list[models.ParticipantInfo]:
        request = room.ListParticipantsRequest(room=room_name)
        return list((await self.api.room.list_participants(request)).participants)

    async def create_room(self, name: str) -> models.Room:
        return await self.api.room.create_room(room.CreateRoomRequest(name=name))

    async def delete_room(self, name: str) -> None:
        await self.api.room.delete_room(room.DeleteRoomRequest(room=name))

    async def aclose(self) -> None:
        await self.api.aclose()


# Values that differ between two otherwise identical runs: generated ids and clock readings.
_VOLATILE_KEYS = {
    "egress_id",
    "room_id",
    "sid",
    "started_at",
    "ended_at",
    "updated_at",
    "creation_time",
    "creation_time_ms",
    "joined_at",
    "joined_at_ms",
    "last_retry_at",
    "duration",
    "size",
}
_ID = re.compile(r"\b(EG|RM|PA|TR|EV)_[A-Za-z0-9]+")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{6}|\b\d{17}\b")


def normal(value: Message | Sequence[Message] | None) -> Any:
    """A comparable form of a result: ids and timestamps replaced, everything else kept."""
    if value is None:
        return None
    if isinstance(value, Message):
        return _scrub(
            json_format.MessageToDict(
                value, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )
        )
    return [normal(item) for item in value]


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "<volatile>" if key in _VOLATILE_KEYS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", _ID.sub(r"\1_<id>", value))
    return value
