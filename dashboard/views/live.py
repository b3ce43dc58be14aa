"""A room card's Record, Go live and Stop on the Live page.

Record and Go live are for whoever may launch (producers and admins; support gets the 403 page).
A GET is the confirmation: a dialog on the Live page (htmx), a page of its own without script.
The POST starts the egress through the launch actions (`start_egress`, `start_recipe`), so the
launch rules, their messages, the concurrency limit and the audit are the launch form's. Stop is
the job page's stop, under the same control rule (`controls_job`: owner or admin, or any producer
with EGRESS_PRODUCERS_SHARE_CONTROL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from dashboard import fragments, live_cards
from dashboard.launch_forms import fresh_token
from dashboard.views.common import HtmxHttpRequest
from dashboard.views.jobs import controls_job
from dashboard.views.moderation import answer
from egress_app import actions
from egress_app.actions.recipes import start_recipe
from egress_app.launch.config import row_id
from egress_app.models import EgressJob, Recipe
from egress_app.roles import LAUNCH_EGRESS, perm

can_launch = permission_required(perm(LAUNCH_EGRESS), raise_exception=True)

PAGE = "dashboard/live_action.html"
CLOSE = "live-dialog-close"  # the client event that closes the Live page's dialog
BOTH = "Pick a recipe or saved destinations, not both."
GONE_RECIPE = "That recipe no longer exists."

Starter = Callable[[str], EgressJob]  # starts the egress with a launch token


@can_launch
def live_record(request: HtmxHttpRequest) -> HttpResponse:
    """Record the room (a room composite to an MP4) through the default storage profile."""
    room = request.POST.get("room") or request.GET.get("room") or ""
    if request.method != "POST":
        return _dialog(request, _record_context(room.strip()))
    profile_id = request.POST.get("storage_profile_id", "")
    config = live_cards.record_config(room, profile_id)
    return _start(request, "record", room, lambda token: _launch(request, config, token))


def _record_context(room: str) -> dict[str, Any]:
    profile = live_cards.record_profile()
    context: dict[str, Any] = {"action": "record", "room": room, "profile": profile}
    if profile is not None:
        config = live_cards.record_config(room, str(profile.pk))
        context["preview"] = live_cards.record_preview(config, profile)
    return context


@can_launch
def live_stream(request: HtmxHttpRequest) -> HttpResponse:
    """Go live: stream the room with a recipe, or to one or more saved destinations."""
    room = request.POST.get("room") or request.GET.get("room") or ""
    if request.method != "POST":
        return _dialog(request, _stream_context(room.strip()))
    recipe, ids = request.POST.get("recipe", ""), request.POST.getlist("destination_ids")
    if recipe and ids:
        return _dialog(request, _stream_context(room, request), errors=[BOTH])
    if recipe:
        return _start(request, "stream", room, _recipe_start(request, room, recipe))
    config = live_cards.stream_config(room, ids)
    return _start(request, "stream", room, lambda token: _launch(request, config, token))


def _stream_context(room: str, request: HtmxHttpRequest | None = None) -> dict[str, Any]:
    """The Go live choices, with what was picked when they come back with an error."""
    picked = request.POST if request is not None else QueryDict()
    return {
        "action": "stream",
        "room": room,
        "recipes": live_cards.stream_recipes(),
        "destinations": live_cards.destinations(),
        "picked_recipe": picked.get("recipe", ""),
        "picked_ids": picked.getlist("destination_ids"),
    }


def _recipe_start(request: HtmxHttpRequest, room: str, pk: str) -> Starter:
    def start(token: str) -> EgressJob:
        recipe = Recipe.objects.filter(pk=row_id(pk) or 0).first()
        if recipe is None:
            raise ValidationError(GONE_RECIPE)
        return start_recipe(request.user, recipe, room_name=room, launch_token=token)

    return start


def _launch(request: HtmxHttpRequest, config: Any, token: str) -> EgressJob:
    return actions.start_egress(request.user, config, launch_token=token)


def _start(request: HtmxHttpRequest, action: str, room: str, start: Starter) -> HttpResponse:
    """Start, then say so; the dialog again with the launch rules' messages, or with LiveKit's
    refusal (the job keeps it, in plain words and with its Twirp code)."""
    try:
        job = start(request.POST.get("launch_token", ""))
    except ValidationError as error:
        context = _record_context(room) if action == "record" else _stream_context(room, request)
        return _dialog(request, context, errors=error.messages)
    except actions.LaunchError as error:
        return _refused(request, action, room, error.job)
    what = "Recording" if action == "record" else "Streaming"
    text = f"{what} {room.strip()}: egress {job.egress_id} is starting."
    if not request.htmx:
        messages.success(request, text)
        return redirect("dashboard-home")
    return trigger_client_event(answer(request, text), CLOSE)


def _refused(request: HtmxHttpRequest, action: str, room: str, job: EgressJob) -> HttpResponse:
    if not request.htmx:
        messages.error(request, f"LiveKit refused to start it: {job.error}")
        return redirect("dashboard-job-detail", pk=job.pk)
    context = {"action": action, "room": room.strip(), "refused": job}
    response = render(request, f"{PAGE}#dialog", context)
    # The job exists now (it keeps LiveKit's refusal): the Live page reloads its live part too.
    return HttpResponse(response.content + fragments.home_refresh().encode())


def _dialog(
    request: HtmxHttpRequest, context: dict[str, Any], errors: list[str] | None = None
) -> HttpResponse:
    context |= {"launch_token": fresh_token(), "errors": errors or []}
    context["may_add_storage"] = live_cards.may_add_storage(request.user)
    template = f"{PAGE}#dialog" if request.htmx else PAGE
    return render(request, template, context, status=400 if errors and not request.htmx else 200)


@controls_job
@require_POST
def live_stop(request: HtmxHttpRequest, job: EgressJob) -> HttpResponse:
    """Stop a job from its room's card, once confirmed (`confirmed=1`: htmx's confirm);
    without script, the job page's own confirmation."""
    if request.POST.get("confirmed") != "1":
        return redirect("dashboard-job-stop", pk=job.pk)
    try:
        job = actions.stop_egress(request.user, job)
    except actions.JobError as error:
        return answer(request, error.message, ok=False)
    return answer(request, f"Asked LiveKit to stop {job.egress_id}.")
