"""Storage profiles, for admins: list, add, edit, duplicate, delete, make default, test (saved
settings, or the form's before saving them)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.forms import StorageProfileForm
from dashboard.views.common import (
    HtmxHttpRequest,
    delete_page,
    duplicate_page,
    make_default_page,
    profile_form_page,
)
from dashboard.views.settings_test import SettingsTest, settings_test_page
from egress_app import actions
from egress_app.crypto import SecretKeyError
from egress_app.models import StorageProfile
from egress_app.roles import MANAGE_STORAGE, perm
from egress_app.storage.probes import ProbeResult, ProbeStep, run_probe
from egress_app.storage.providers import PROVIDERS

can_manage_storage = permission_required(perm(MANAGE_STORAGE), raise_exception=True)

DEFAULT_PROVIDER = "s3"
FORM = "dashboard/storage_form.html"
LIST = "dashboard-storage-list"


def _get_profile(request: HttpRequest, pk: int) -> StorageProfile:
    # The permission decorator already let only storage managers in; every profile is theirs.
    return get_object_or_404(StorageProfile, pk=pk)


def _profiles() -> QuerySet[StorageProfile]:
    return StorageProfile.objects.annotate(job_count=Count("jobs")).order_by("name")


def _form_context() -> dict[str, object]:
    # How long "Test these settings" may take, said while it runs.
    return {"test_timeout": settings.STORAGE_TEST_TIMEOUT}


def _chosen_provider(value: str | None, fallback: str = DEFAULT_PROVIDER) -> str:
    # An unknown value falls back; the form's provider field then reports it.
    return value if value in PROVIDERS else fallback


@can_manage_storage
@require_GET
def storage_list(request: HttpRequest) -> HttpResponse:
    profiles = list(_profiles())
    # Launch preselects the default: say so when its last test failed.
    failing = next((p for p in profiles if p.is_default and p.last_test_ok is False), None)
    context = {"profiles": profiles, "failing_default": failing}
    return render(request, "dashboard/storage_list.html", context)


@can_manage_storage
def storage_create(request: HttpRequest) -> HttpResponse:
    provider = _chosen_provider(request.POST.get("provider") or request.GET.get("provider"))
    form = StorageProfileForm(request.POST or None, provider=provider)
    return profile_form_page(
        request,
        form,
        template=FORM,
        profile=None,
        save=lambda: actions.create_storage_profile(request.user, **form.create_kwargs()),
        saved=lambda profile: (
            f"Added {profile.name}. Test it to check uploads work.",
            redirect("dashboard-storage-edit", pk=profile.pk),
        ),
        context=_form_context(),
    )


@can_manage_storage
def storage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _get_profile(request, pk)
    form = StorageProfileForm(request.POST or None, provider=profile.provider, profile=profile)
    return profile_form_page(
        request,
        form,
        template=FORM,
        profile=profile,
        save=lambda: actions.update_storage_profile(request.user, profile, **form.update_kwargs()),
        saved=lambda _: (f"Saved {form.cleaned_data['name'].strip()}.", redirect(LIST)),
        context=_form_context(),
    )


@can_manage_storage
@require_GET
def storage_fields(request: HttpRequest) -> HttpResponse:
    """The provider's fieldset of a new profile, swapped in when the provider select changes."""
    provider = request.GET.get("provider", "")
    if provider not in PROVIDERS:
        return HttpResponseBadRequest("Unknown storage provider.")
    form = StorageProfileForm(provider=provider)
    return render(request, f"{FORM}#provider-fields", {"form": form})


@can_manage_storage
def storage_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    return duplicate_page(
        request,
        _get_profile(request, pk),
        duplicate=actions.duplicate_storage_profile,
        kind="storage profile",
        cancel=LIST,
        edit="dashboard-storage-edit",
    )


@can_manage_storage
def storage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return delete_page(
        request,
        _get_profile(request, pk),
        delete=actions.delete_storage_profile,
        kind="storage profile",
        cancel=LIST,
    )


@can_manage_storage
@require_POST
def storage_default(request: HttpRequest, pk: int) -> HttpResponse:
    return make_default_page(
        request,
        _get_profile(request, pk),
        make_default=actions.make_default_storage_profile,
        kind="storage profile",
        then=LIST,
    )


def _probe_prefix(path_template: str) -> str:
    """The fixed folder a path template starts with ("recordings/" of "recordings/{room_name}"),
    so that the test writes where recordings will go: bucket policies often limit prefixes."""
    fixed = path_template.split("{", 1)[0]
    return fixed.rpartition("/")[0] + "/" if "/" in fixed else ""


def _probe(profile: StorageProfile) -> ProbeResult:
    try:
        secrets = profile.secrets()
    except SecretKeyError as error:
        step = ProbeStep("connect", False, str(error), 0.0)
        return ProbeResult(False, step.message, [step])
    config = dict(profile.config) | {"path_prefix": _probe_prefix(profile.path_template)}
    return run_probe(profile.provider, config, secrets)


@can_manage_storage
@require_POST
async def storage_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Write, read back and delete a probe object with the stored settings; keep the outcome."""
    profile = await sync_to_async(_get_profile)(request, pk)
    # SDK calls block for up to STORAGE_TEST_TIMEOUT: a worker thread of its own keeps other
    # requests (and the rest of this page) going meanwhile.
    result = await sync_to_async(_probe, thread_sensitive=False)(profile)
    user = await request.auser()
    profile = await sync_to_async(actions.record_storage_test)(user, profile, result)
    context = {"profile": profile, "result": result}
    if request.htmx:
        return render(request, "dashboard/partials/storage_test.html#result", context)
    # Without JavaScript the form posts here as a page: show the result on the edit page.
    return await sync_to_async(_edit_page_with_result)(request, profile, result)


def _edit_page_with_result(
    request: HttpRequest, profile: StorageProfile, result: ProbeResult
) -> HttpResponse:
    form = StorageProfileForm(provider=profile.provider, profile=profile)
    context = _form_context() | {"form": form, "profile": profile, "result": result}
    return render(request, FORM, context)


def _posted_form(request: HttpRequest, profile: StorageProfile | None) -> StorageProfileForm:
    if profile is not None:
        return StorageProfileForm(request.POST, provider=profile.provider, profile=profile)
    return StorageProfileForm(request.POST, provider=_chosen_provider(request.POST.get("provider")))


SETTINGS_TEST = SettingsTest(
    template=FORM,
    result="dashboard/partials/storage_test.html#settings-result",
    form=_posted_form,
    draft=actions.draft_storage_profile,
    run=_probe,
    record=actions.record_storage_draft_test,
    context=_form_context,
)


@can_manage_storage
@require_POST
async def storage_test_settings(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    """Write, read back and delete a probe object with the form's settings, before saving them
    (`pk`: the profile being edited, whose stored secrets fill the empty ones). Audited; nothing
    else is written."""
    profile = await sync_to_async(_get_profile)(request, pk) if pk is not None else None
    return await settings_test_page(request, profile, SETTINGS_TEST)
