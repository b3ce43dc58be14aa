"""Moderation on the Live page: Mute / Unmute on a participant's track, Remove on a participant.

Producers and admins moderate (`roles.may_moderate`, checked again by the actions); support
gets the 403 page, anonymous visitors the sign-in. Removing asks first: htmx's confirm on the
Live page, or this confirmation page without script. From the Live page (htmx) the answer is
the message, swapped into the page's messages, and the signal to reload its live part; without
script, the message waits on the Live page it redirects to.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from dashboard import fragments
from dashboard.views.common import HtmxHttpRequest
from egress_app import actions
from egress_app.actions.moderation import NOT_ALLOWED
from egress_app.roles import may_moderate

HOME = "dashboard-home"


@require_POST
def live_mute(request: HtmxHttpRequest) -> HttpResponse:
    """Mute (`muted=1`) or unmute (`muted=0`) a participant's track."""
    _require_moderator(request)
    room, identity = request.POST.get("room", ""), request.POST.get("identity", "")
    muted = request.POST.get("muted") != "0"
    try:
        found = actions.mute_track(
            request.user, room, identity, request.POST.get("track", ""), muted=muted
        )
    except (ValidationError, actions.ModerationError) as error:
        return answer(request, _words(error), ok=False)
    if not found:
        return answer(request, f"{identity} no longer publishes that track.", ok=False)
    return answer(request, f"{'Muted' if muted else 'Unmuted'} {identity}'s track in {room}.")


@require_POST
def live_remove(request: HtmxHttpRequest) -> HttpResponse:
    """Remove a participant from the room, once confirmed (`confirmed=1`)."""
    _require_moderator(request)
    room, identity = request.POST.get("room", ""), request.POST.get("identity", "")
    if request.POST.get("confirmed") != "1":
        context = {"room": room.strip(), "identity": identity.strip()}
        return render(request, "dashboard/moderate_remove.html", context)
    try:
        actions.remove_participant(request.user, room, identity)
    except (ValidationError, actions.ModerationError) as error:
        return answer(request, _words(error), ok=False)
    return answer(request, f"Removed {identity} from {room}. They can join again with a token.")


def _require_moderator(request: HtmxHttpRequest) -> None:
    # The actions check too; checked first here so support never sees a confirmation page.
    if not may_moderate(request.user):
        raise PermissionDenied(NOT_ALLOWED)


def _words(error: ValidationError | actions.ModerationError) -> str:
    if isinstance(error, actions.ModerationError):
        return error.message
    return " ".join(error.messages)


def answer(request: HtmxHttpRequest, text: str, *, ok: bool = True) -> HttpResponse:
    """The outcome: for the Live page, its message and the signal to reload its live part
    (also without a websocket); otherwise back to the Live page, the message waiting there."""
    level = "success" if ok else "error"
    if request.htmx:
        html = format_html(
            '<ul id="messages" class="messages" role="status" hx-swap-oob="true">'
            '<li class="message {}">{}</li></ul>',
            level,
            text,
        )
        return HttpResponse(html + fragments.home_refresh())
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, text)
    return redirect(HOME)
