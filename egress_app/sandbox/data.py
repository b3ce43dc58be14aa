"""Data packets sent into rooms with RoomService `SendData`, recorded for tests and tools.

Behaviour from livekit/livekit (L:) pkg/service/roomservice.go `SendData` (roomAdmin for the
room, a nonce of 0 or 16 bytes), pkg/service/roommanager.go `SendData` (the room must exist; the
request becomes a `DataPacket` with a `UserPacket`) and pkg/rtc/room.go
`BroadcastDataPacketForRoom` (a repeated nonce is dropped as a duplicate; with destination sids or
identities only those participants get it, otherwise everyone in the room). The sandbox has no
data channels: instead of delivering, it records each packet with the participants it would
have reached. LiveKit sets no size limit on the API's data (the transports' limits apply to
clients), so the sandbox sets none either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from livekit.protocol import models, room

from egress_app.sandbox.errors import TwirpError

NONCE_BYTES = 16
MAX_RECORDS = 10_000  # the oldest go first: a long `make run` must not grow without end


@dataclass(frozen=True)
class DataRecord:
    """One SendData request the sandbox accepted."""

    room: str
    payload: bytes
    topic: str | None  # None: no topic (the field is proto3 optional)
    kind: str  # "RELIABLE" or "LOSSY"
    destination_sids: tuple[str, ...]
    destination_identities: tuple[str, ...]
    nonce: bytes
    recipients: tuple[str, ...]  # the identities it would have reached
    duplicate: bool  # its nonce was seen before: LiveKit drops it and still answers OK

    def as_json(self) -> dict[str, object]:
        text: str | None
        try:
            text = self.payload.decode()
        except UnicodeDecodeError:
            text = None
        return {
            "room": self.room,
            "payload_hex": self.payload.hex(),
            "text": text,
            "topic": self.topic,
            "kind": self.kind,
            "destination_sids": list(self.destination_sids),
            "destination_identities": list(self.destination_identities),
            "nonce_hex": self.nonce.hex(),
            "recipients": list(self.recipients),
            "duplicate": self.duplicate,
        }


def check_nonce(request: room.SendDataRequest) -> None:
    """L:roomservice.go SendData: "nonce is either absent or 128-bit UUID"."""
    if len(request.nonce) not in (0, NONCE_BYTES):
        raise TwirpError(
            "invalid_argument",
            f"nonce should be 16-bytes or not present, got: {len(request.nonce)} bytes",
        )


def recipients(
    request: room.SendDataRequest, participants: Iterable[models.ParticipantInfo]
) -> tuple[str, ...]:
    """L:room.go BroadcastDataPacketForRoom: a participant named by sid or identity, or all."""
    sids, identities = set(request.destination_sids), set(request.destination_identities)
    return tuple(
        p.identity
        for p in participants
        if not (sids or identities) or p.sid in sids or p.identity in identities
    )


def _kind_name(kind: int) -> str:
    # LiveKit passes the kind on unchecked; an unknown value stays a number.
    try:
        return models.DataPacket.Kind.Name(kind)
    except ValueError:
        return str(kind)


class DataLog:
    """What SendData received, oldest first, and the nonces seen (per room, like LiveKit's)."""

    def __init__(self) -> None:
        self.records: list[DataRecord] = []
        self._nonces: dict[str, set[bytes]] = {}

    def record(
        self, request: room.SendDataRequest, participants: Iterable[models.ParticipantInfo]
    ) -> DataRecord:
        seen = self._nonces.setdefault(request.room, set())
        duplicate = bool(request.nonce) and request.nonce in seen
        if request.nonce:
            seen.add(request.nonce)
        entry = DataRecord(
            room=request.room,
            payload=request.data,
            topic=request.topic if request.HasField("topic") else None,
            kind=_kind_name(request.kind),
            destination_sids=tuple(request.destination_sids),
            destination_identities=tuple(request.destination_identities),
            nonce=request.nonce,
            recipients=() if duplicate else recipients(request, participants),
            duplicate=duplicate,
        )
        self.records.append(entry)
        del self.records[:-MAX_RECORDS]
        return entry

    def clear(self) -> None:
        self.records.clear()
        self._nonces.clear()
