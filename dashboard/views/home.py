"""The live home page, for every role."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.audio import sessions_for
from dashboard.live_cards import card_egress
from dashboard.overview import load_overview
from egress_app.livekit import get_livekit_client
from egress_app.models import AudioSessionState, EngineProfile, StorageProfile
from egress_app.roles import LAUNCH_EGRESS, VIEW_DASHBOARD, may_listen, may_moderate, perm

# Every role may see the live overview; a signed-in user without a role gets the 403 page.
can_view_dashboard = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)


@can_view_dashboard
def home(request: HttpRequest) -> HttpResponse:
    # Renders at once with a loading state; the page then fetches `home_live` and polls it.
    return render(request, "dashboard/home.html")


@can_view_dashboard
async def home_live(request: HttpRequest) -> HttpResponse:
    overview = await load_overview(get_livekit_client())
    user = await request.auser()  # the permission check's: its permissions are read already
    context = {
        "overview": overview,
        "may_listen": await sync_to_async(may_listen)(user),
        "may_moderate": await sync_to_async(may_moderate)(user),
        "may_launch": await sync_to_async(user.has_perm)(perm(LAUNCH_EGRESS)),
    }
    listening = await sync_to_async(_listening)(user)
    if context["may_listen"]:
        context["record_profiles"] = await sync_to_async(_record_profiles)()
        context["engine_profiles"] = await sync_to_async(_engine_profiles)()
    running = await sync_to_async(card_egress)(overview, user)
    rooms = overview.rooms
    context["rooms"] = [(room, listening.get(room.name), running.get(room.name)) for room in rooms]
    return render(request, "dashboard/home.html#live", context)


def _record_profiles() -> list[StorageProfile]:
    """The storage profiles a session's mix may be recorded to (a producer launches to any)."""
    return list(StorageProfile.objects.only("pk", "name", "last_test_ok"))


def _engine_profiles() -> list[EngineProfile]:
    """The engine profiles a session may be transcribed with, the default one first."""
    profiles = EngineProfile.objects.only("pk", "name", "kind", "is_default", "last_test_ok")
    return list(profiles.order_by("-is_default", "name"))


def _listening(user: AbstractUser | AnonymousUser) -> dict[str, int]:
    """The rooms with a running audio session, to the session's id (when the user sees it)."""
    running = sessions_for(user).filter(state=AudioSessionState.RUNNING)
    return dict(running.values_list("room_name", "pk"))
