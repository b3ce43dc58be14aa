"""Audio sessions: Listen on the Live page, the session page with its tap meters, and Stop.
Whoever sees jobs sees a session (support read-only); producers and admins start one
(`roles.may_listen`); its starter and admins stop it (`roles.may_control`, checked by the
actions too)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from dashboard import audio
from dashboard.views.common import HtmxHttpRequest
from dashboard.views.jobs import sees_jobs
from egress_app import actions
from egress_app.models import AudioSession
from egress_app.roles import may_control

SESSION = "dashboard-audio-session"


def _get_session_for_user(request: HttpRequest, pk: int) -> AudioSession:
    return get_object_or_404(audio.sessions_for(request.user), pk=pk)


@require_POST
def audio_listen(request: HtmxHttpRequest) -> HttpResponse:
    """Listen from the Live page (`room`) or the launch page (its form's `room_name`); a refusal
    goes back there with its message."""
    launch = "room" not in request.POST and "room_name" in request.POST
    room = request.POST.get("room_name" if launch else "room", "")
    screen = bool(request.POST.get("screen_share_audio"))
    try:
        session = actions.start_audio_session(
            request.user,
            room,
            screen_share_audio=screen,
            record_to=request.POST.get("record_to"),
            transcribe_with=request.POST.get("transcribe_with"),
            publish_captions=bool(request.POST.get("publish_captions")),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        url = reverse("dashboard-launch" if launch else "dashboard-home")
    else:
        url = reverse(SESSION, args=[session.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@sees_jobs
@require_GET
def audio_session(request: HttpRequest, pk: int) -> HttpResponse:
    session = _get_session_for_user(request, pk)
    context = audio.page_context(request.user, session)
    return render(request, "dashboard/audio_session.html", context)


@sees_jobs
@require_GET
def audio_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The taps and their meters, polled while the session may change."""
    context = audio.live_context(_get_session_for_user(request, pk))
    if context["polls"]:
        return render(request, audio.LIVE, context)
    return HttpResponseStopPolling(render_to_string(audio.LIVE, context, request))


@sees_jobs
@require_GET
def audio_recordings(request: HttpRequest, pk: int) -> HttpResponse:
    """The session's recordings, polled until the one its end uploads has come."""
    context = audio.recordings_context(_get_session_for_user(request, pk))
    if context["recording_due"]:
        return render(request, audio.RECORDINGS, context)
    return HttpResponseStopPolling(render_to_string(audio.RECORDINGS, context, request))


@sees_jobs
def audio_stop(request: HttpRequest, pk: int) -> HttpResponse:
    session = _get_session_for_user(request, pk)
    if not may_control(request.user, session):
        raise PermissionDenied
    if request.method != "POST":
        return render(request, "dashboard/audio_stop.html", {"session": session})
    actions.stop_audio_session(request.user, session)
    messages.success(request, f"Stopped listening to {session.room_name}.")
    return redirect(SESSION, pk=session.pk)
