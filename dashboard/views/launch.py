"""Launching an egress: the progressive launch form and the fragments it swaps in.

The page renders at once; the room list and the chosen room's participants and tracks come
from LiveKit in fragments (`launch_rooms`, `launch_source`), each with its own error panel.
The rules are the domain's (`validate_launch_config`, run by `actions.start_egress`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dashboard.launch_forms import (
    PICKS,
    LaunchForm,
    adhoc_urls,
    chosen_profile,
    config_from_data,
    default_initial,
    fresh_token,
    initial_from_config,
    preview_inputs,
)
from dashboard.overview import EGRESS_KIND, ParticipantRow, live_room_names, participant_row
from dashboard.views.common import HtmxHttpRequest
from dashboard.views.jobs import get_job_for_user
from egress_app import actions
from egress_app.actions.recipes import save_recipe
from egress_app.launch.config import KINDS, GivenConfig, row_id
from egress_app.launch.filenames import WrittenName, written_names
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import EgressJob, Recipe, StorageProfile, StreamDestination
from egress_app.roles import LAUNCH_EGRESS, may_listen, may_retry, perm

can_launch = permission_required(perm(LAUNCH_EGRESS), raise_exception=True)

PAGE = "dashboard/launch.html"
# What the form shows of each storage profile: its choice, its default path and its last test.
PROFILE_FIELDS = ("name", "is_default", "path_template", "last_tested_at", "last_test_ok")


def _form(data: QueryDict | None = None, initial: dict[str, Any] | None = None) -> LaunchForm:
    profiles = list(StorageProfile.objects.only(*PROFILE_FIELDS).order_by("-is_default", "name"))
    destinations = StreamDestination.objects.only("name").order_by("name")
    if data is None:
        initial = default_initial(profiles) | (initial or {}) | {"launch_token": fresh_token()}
    return LaunchForm(data, initial=initial, profiles=profiles, destinations=destinations)


def _page(request: HttpRequest, form: LaunchForm, **extra: Any) -> HttpResponse:
    kind = form.value("kind") if form.value("kind") in KINDS else "room_composite"
    room = form.value("room_name") or ""
    values = {name: form.value(name) or "" for name in ("kind", "room_name", *PICKS.get(kind, ()))}
    context = {
        "form": form,
        "kind": kind,
        "rooms_url": _url("dashboard-launch-rooms", {"room_name": room}),
        "picks_url": _url("dashboard-launch-source", values) if room and kind in PICKS else "",
        "pick_errors": [form[name] for name in PICKS.get(kind, ())],
        "preview": _preview(form),
        "chosen_profile": chosen_profile(form),
        "preview_inputs": preview_inputs(),
        "editing": _editing(request),
        "cloned": _cloned(request, str(form.value("retry_of") or "")),
        "may_listen": may_listen(request.user),
    }
    return render(request, PAGE, context | extra)


def _editing(request: HttpRequest) -> Recipe | None:
    """The recipe the form edits (`?recipe=` on the page, a hidden field once posted)."""
    pk = request.POST.get("recipe") or request.GET.get("recipe") or ""
    return get_object_or_404(Recipe, pk=key) if (key := row_id(pk)) else None


def _url(name: str, query: dict[str, str]) -> str:
    return f"{reverse(name)}?{urlencode(query)}"


def _preview(form: LaunchForm) -> list[WrittenName]:
    values = {name: form.value(name) for name in form.fields}
    templates = {profile.pk: profile.path_template for profile in form.profiles}
    return written_names(config_from_data(values), templates=templates)


@can_launch
def launch(request: HtmxHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, _form(initial=_prefill(request)))
    form = _form(request.POST)
    try:
        job = actions.start_egress(
            request.user,
            config_from_data(request.POST),
            launch_token=request.POST.get("launch_token", ""),
            adhoc_urls=adhoc_urls(request.POST),
            retry_of=_cloned(request, request.POST.get("retry_of", "")),
        )
    except ValidationError as error:
        form.add_config_errors(_error_messages(error))
        return _page(request, form)
    except actions.LaunchError as error:
        job = error.job  # the job page shows LiveKit's refusal
    return _to_job(request, job)


def _error_messages(error: ValidationError) -> dict[str, str]:
    if not hasattr(error, "error_dict"):
        return {"": " ".join(error.messages)}
    return {path: " ".join(texts) for path, texts in error.message_dict.items()}


def _to_job(request: HtmxHttpRequest, job: EgressJob) -> HttpResponse:
    url = reverse("dashboard-job-detail", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _prefill(request: HttpRequest) -> dict[str, Any]:
    """Initial values from `?clone=<job>` or `?recipe=<recipe>`; none otherwise."""
    if clone := request.GET.get("clone", ""):
        config = initial_from_config(_job_config(request, clone))
        return config | ({"retry_of": clone} if _cloned(request, clone) else {})
    if recipe := request.GET.get("recipe", ""):
        return initial_from_config(recipe_prefill(recipe))
    return {}


def _job_config(request: HttpRequest, pk: str) -> GivenConfig:
    # The jobs pages' own rule for which jobs this user may see.
    return dict(get_job_for_user(request, row_id(pk) or 0).config)


def _cloned(request: HttpRequest, pk: str) -> EgressJob | None:
    """The job the form clones (`?clone=`, then its hidden field), when the job it starts may be
    linked to it as a retry: Retry's own rule (`may_retry`), for a job launched here."""
    job = EgressJob.objects.filter(pk=key).first() if (key := row_id(pk)) else None
    return job if job and job.launched_here and may_retry(request.user, job) else None


def recipe_prefill(pk: str) -> GivenConfig:
    """A recipe's configuration, to start from on the launch form (it has no room)."""
    return dict(get_object_or_404(Recipe, pk=row_id(pk) or 0).config)


@can_launch
@require_GET
async def launch_rooms(request: HttpRequest) -> HttpResponse:
    """The room select, filled from LiveKit's live room list."""
    try:
        rooms = await live_room_names(get_livekit_client())
    except LiveKitError as error:
        context = {"error": error, "what": "the rooms", "retry": "reload the page to try again"}
        return render(request, "dashboard/partials/livekit_error.html", context)
    context = {"rooms": rooms, "room": request.GET.get("room_name", "")}
    return render(request, f"{PAGE}#rooms", context)


@can_launch
@require_GET
async def launch_source(request: HttpRequest) -> HttpResponse:
    """The source section of a kind; for participant and track egress, with the chosen room's
    participants and tracks (EGRESS participants left out)."""
    kind = request.GET.get("kind", "")
    if kind not in KINDS:
        kind = "room_composite"
    form = LaunchForm(request.GET, initial={})
    context: dict[str, Any] = {"form": form, "kind": kind}
    room = request.GET.get("room_name", "")
    if kind in PICKS and room:
        try:
            people = await _people(room)
        except LiveKitError as error:
            context["picks_error"] = error
        else:
            _fill_picks(form, kind, people)
            context["people"] = people
    return render(request, f"{PAGE}#source", context)


async def _people(room: str) -> list[ParticipantRow]:
    participants = await get_livekit_client().list_participants(room)
    return [participant_row(p) for p in participants if p.kind != EGRESS_KIND]


def _fill_picks(form: LaunchForm, kind: str, people: list[ParticipantRow]) -> None:
    if kind == "participant":
        form.set_choices("participant__identity", [(p.identity, _who(p)) for p in people])
        return
    tracks = [(p, t) for p in people for t in p.tracks]
    if kind == "track_composite":
        for media in ("audio", "video"):
            choices = [(t.sid, f"{_who(p)}: {t.source}") for p, t in tracks if t.type == media]
            form.set_choices(f"track_composite__{media}_track_id", choices)
        return
    form.set_choices(
        "track__track_id",
        [
            (
                f"{t.sid}|{t.type}|{p.identity}|{t.source.replace(' ', '_')}|{t.mime_type}",
                f"{_who(p)}: {t.source} ({t.type}, {t.mime_type})",
            )
            for p, t in tracks
        ],
    )


def _who(person: ParticipantRow) -> str:
    return f"{person.name} ({person.identity})" if person.name else person.identity


@can_launch
@require_GET
def launch_preview(request: HttpRequest) -> HttpResponse:
    """The names egress would write, with the form as it stands (the chosen storage profile's
    default path included), and that profile's last test beside its select (out of band)."""
    form = LaunchForm(request.GET, profiles=StorageProfile.objects.only(*PROFILE_FIELDS))
    context = {"preview": _preview(form), "chosen_profile": chosen_profile(form)}
    return render(request, f"{PAGE}#preview-response", context)


@can_launch
@require_POST
def launch_save_recipe(request: HtmxHttpRequest) -> HttpResponse:
    """Save the form as it stands as a recipe (no room, no ad-hoc URLs): the recipe the form
    was opened to edit, or a new one."""
    name = request.POST.get("recipe_name", "")
    try:
        recipe = save_recipe(
            request.user,
            name=name,
            config=config_from_data(request.POST),
            recipe=_editing(request),
            adhoc_urls=adhoc_urls(request.POST),
        )
    except ValidationError as error:
        context = {"recipe_errors": list(_error_messages(error).values()), "recipe_name": name}
        if not request.htmx:  # the whole page again, the form as it was posted
            return _page(request, _form(request.POST), **context)
        return render(request, f"{PAGE}#save-recipe-result", context)
    if not request.htmx:  # the form posted as a page, without JavaScript
        messages.success(request, f"Saved the recipe {recipe.name}.")
        return redirect("dashboard-recipe-list")
    return render(request, f"{PAGE}#save-recipe-result", {"recipe": recipe})
