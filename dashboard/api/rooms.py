"""The rooms open in LiveKit right now, for scripts that start egress in one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from livekit.protocol import models
from ninja import Router

from dashboard.api import schemas
from dashboard.api.errors import ERRORS
from egress_app.livekit import get_livekit_client
from egress_app.roles import VIEW_DASHBOARD, perm

router = Router(tags=["rooms"])


def _room(room: models.Room) -> dict[str, Any]:
    created = datetime.fromtimestamp(room.creation_time, UTC) if room.creation_time > 0 else None
    return {
        "name": room.name,
        "sid": room.sid,
        "num_participants": room.num_participants,
        "num_publishers": room.num_publishers,
        "created_at": created,
    }


@router.get("/rooms", response={200: list[schemas.Room], **dict.fromkeys(ERRORS, schemas.Problem)})
def list_rooms(request: HttpRequest) -> list[dict[str, Any]]:
    """LiveKit's open rooms, by name (everyone with a role; LiveKit's refusal answers 502)."""
    if not request.user.has_perm(perm(VIEW_DASHBOARD)):
        raise PermissionDenied("Your role does not see the dashboard's rooms.")
    rooms = async_to_sync(get_livekit_client().list_rooms)()
    return [_room(room) for room in sorted(rooms, key=lambda room: room.name)]
