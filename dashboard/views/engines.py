"""Engine profiles: admins list, add, edit, delete, make default and test them (saved, or the
form's settings before saving them); producers and
support see their names only (producers pick one when they start transcribing)."""

from __future__ import annotations

from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.engine_forms import EngineProfileForm
from dashboard.views.common import (
    HtmxHttpRequest,
    delete_page,
    make_default_page,
    profile_form_page,
)
from dashboard.views.settings_test import SettingsTest, settings_test_page
from egress_app import actions
from egress_app.actions.engines import run_engine_profile_test
from egress_app.models import EngineProfile, Transcription
from egress_app.roles import MANAGE_ENGINES, VIEW_DASHBOARD, perm
from egress_app.transcribe import kinds

can_manage_engines = permission_required(perm(MANAGE_ENGINES), raise_exception=True)
sees_dashboard = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)

DEFAULT_KIND = "builtin"
FORM = "dashboard/engine_form.html"
LIST = "dashboard-engine-list"


def _get_profile(request: HttpRequest, pk: int) -> EngineProfile:
    # The permission decorator already let only engine managers in; every profile is theirs.
    return get_object_or_404(EngineProfile, pk=pk)


def summary(profile: EngineProfile) -> str:
    """The profile's settings in a few words for the admins' list: no secrets, and of a URL
    only its host (a team may put a token in a query string)."""
    shown = []
    for field in kinds.config_fields(profile.kind):
        value = profile.config.get(field.name)
        if value in ("", None, []) or field.kind in ("bool", "number"):
            continue
        if field.kind == "url":
            shown.append(urlsplit(str(value)).hostname or "")
        elif isinstance(value, list):
            shown.append(", ".join(map(str, value)))
        else:
            shown.append(str(value))
    return " · ".join(part for part in shown if part)


def _form_context() -> dict[str, object]:
    # How long "Test these settings" may take, said while it runs.
    return {"test_timeout": settings.ENGINE_TEST_TIMEOUT}


def _chosen_kind(value: str | None) -> str:
    # An unknown value falls back; the form's kind field then reports it.
    return value if value in kinds.FIELDS else DEFAULT_KIND


@sees_dashboard
@require_GET
def engine_list(request: HttpRequest) -> HttpResponse:
    """Admins get the profiles with their settings and tests; everyone else their names."""
    if not request.user.has_perm(perm(MANAGE_ENGINES)):
        names = EngineProfile.objects.order_by("name").values("name", "kind", "is_default")
        return render(request, "dashboard/engine_names.html", {"profiles": names})
    profiles = list(EngineProfile.objects.order_by("name"))
    counts = dict(
        Transcription.objects.filter(profile__isnull=False)
        .values_list("profile")
        .annotate(n=Count("pk"))
        .values_list("profile", "n")
        .order_by()
    )
    for profile in profiles:
        # Set for the template; not fields of the model.
        profile.transcript_count = counts.get(profile.pk, 0)  # type: ignore[attr-defined]
        profile.summary = summary(profile)  # type: ignore[attr-defined]
    failing = next((p for p in profiles if p.is_default and p.last_test_ok is False), None)
    context = {"profiles": profiles, "failing_default": failing}
    return render(request, "dashboard/engine_list.html", context)


@can_manage_engines
def engine_create(request: HttpRequest) -> HttpResponse:
    kind = _chosen_kind(request.POST.get("kind") or request.GET.get("kind"))
    form = EngineProfileForm(request.POST or None, kind=kind)
    return profile_form_page(
        request,
        form,
        template=FORM,
        profile=None,
        save=lambda: actions.create_engine_profile(request.user, **form.create_kwargs()),
        saved=lambda profile: (
            f"Added {profile.name}. Test it to check the engine answers.",
            redirect("dashboard-engine-edit", pk=profile.pk),
        ),
        context=_form_context(),
    )


@can_manage_engines
def engine_edit(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _get_profile(request, pk)
    form = EngineProfileForm(request.POST or None, kind=profile.kind, profile=profile)
    return profile_form_page(
        request,
        form,
        template=FORM,
        profile=profile,
        save=lambda: actions.update_engine_profile(request.user, profile, **form.update_kwargs()),
        saved=lambda _: (f"Saved {form.cleaned_data['name'].strip()}.", redirect(LIST)),
        context=_form_context(),
    )


@can_manage_engines
@require_GET
def engine_fields(request: HttpRequest) -> HttpResponse:
    """The kind's fieldset of a new profile, swapped in when the engine select changes."""
    kind = request.GET.get("kind", "")
    if kind not in kinds.FIELDS:
        return HttpResponseBadRequest("Unknown engine.")
    return render(request, f"{FORM}#kind-fields", {"form": EngineProfileForm(kind=kind)})


@can_manage_engines
def engine_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete; or say which running session keeps it."""
    return delete_page(
        request,
        _get_profile(request, pk),
        delete=actions.delete_engine_profile,
        kind="engine profile",
        cancel=LIST,
        template="dashboard/engine_delete.html",
        usage=lambda profile: {
            "transcript_count": Transcription.objects.filter(profile=profile).count()
        },
    )


@can_manage_engines
@require_POST
def engine_default(request: HttpRequest, pk: int) -> HttpResponse:
    return make_default_page(
        request,
        _get_profile(request, pk),
        make_default=actions.make_default_engine_profile,
        kind="engine profile",
        then=LIST,
    )


@can_manage_engines
@require_POST
async def engine_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Open a short real session with the saved settings; keep the outcome (audited)."""
    profile = await sync_to_async(_get_profile)(request, pk)
    # The session takes seconds (ENGINE_TEST_TIMEOUT at most): a worker thread of its own keeps
    # other requests going meanwhile.
    result = await sync_to_async(run_engine_profile_test, thread_sensitive=False)(profile)
    user = await request.auser()
    profile = await sync_to_async(actions.record_engine_test)(user, profile, result)
    return await sync_to_async(_answer)(request, profile, {"profile": profile, "result": result})


def _answer(
    request: HtmxHttpRequest, profile: EngineProfile, context: dict[str, object]
) -> HttpResponse:
    if request.htmx:
        return render(request, "dashboard/partials/engine_test.html#result", context)
    # Without JavaScript the form posts here as a page: show the result on the edit page.
    context["form"] = EngineProfileForm(kind=profile.kind, profile=profile)
    return render(request, FORM, _form_context() | context)


def _posted_form(request: HttpRequest, profile: EngineProfile | None) -> EngineProfileForm:
    if profile is not None:
        return EngineProfileForm(request.POST, kind=profile.kind, profile=profile)
    return EngineProfileForm(request.POST, kind=_chosen_kind(request.POST.get("kind")))


SETTINGS_TEST = SettingsTest(
    template=FORM,
    result="dashboard/partials/engine_test.html#settings-result",
    form=_posted_form,
    draft=actions.draft_engine_profile,
    run=run_engine_profile_test,
    record=actions.record_engine_draft_test,
    context=_form_context,
)


@can_manage_engines
@require_POST
async def engine_test_settings(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    """Open a short real session with the form's settings, before saving them (`pk`: the profile
    being edited, whose stored secrets fill the empty ones). Audited; nothing else is written."""
    profile = await sync_to_async(_get_profile)(request, pk) if pk is not None else None
    return await settings_test_page(request, profile, SETTINGS_TEST)
