"""Test these settings: a storage or engine profile's Test on the form's values, before saving.

The form's values become an unsaved profile (the actions' `draft_*_profile`, checked as Save
checks them); the same Test as a saved profile's runs on it; only the audit entry is written.
With htmx the result goes under the form and the browser keeps what was typed; without
JavaScript the form comes back as a page with the result, its secret inputs empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import reswap, retarget

from dashboard.views.common import HtmxHttpRequest
from egress_app.crypto import SecretKeyError
from egress_app.models import EngineProfile, StorageProfile

Profile = StorageProfile | EngineProfile
FORM_ID = "profile-form"  # the <form> of storage_form.html and engine_form.html


@dataclass(frozen=True)
class SettingsTest:
    """What differs between the storage and the engine profile's Test of unsaved settings."""

    template: str  # the form page; its form is the "settings-form" partial
    result: str  # the partial that shows a result under the form
    form: Callable[[HttpRequest, Any], Any]  # the bound form, for a new profile or this one
    draft: Callable[..., Any]  # actions.draft_*_profile
    run: Callable[[Any], Any]  # the Test; blocks for up to its timeout, never raises
    record: Callable[[Any, Any, Any, Any], None]  # actions.record_*_draft_test
    context: Callable[[], dict[str, object]]  # what the form page shows besides the form


async def settings_test_page(
    request: HtmxHttpRequest, profile: Profile | None, test: SettingsTest
) -> HttpResponse:
    form = await sync_to_async(test.form)(request, profile)
    draft = await sync_to_async(_draft)(form, profile, test.draft)
    if draft is None:
        return await sync_to_async(_refused)(request, form, profile, test)
    # The Test blocks for seconds: a worker thread of its own keeps other requests going.
    result = await sync_to_async(test.run, thread_sensitive=False)(draft)
    user = await request.auser()
    await sync_to_async(test.record)(user, profile, draft, result)
    return await sync_to_async(_tested)(request, form, profile, result, test)


def _draft(form: Any, profile: Profile | None, draft: Callable[..., Any]) -> Any:
    """The unsaved profile, or None with the reasons on the form."""
    if not form.is_valid():
        return None
    kwargs = form.update_kwargs() if profile is not None else form.create_kwargs()
    try:
        return draft(profile, **kwargs)
    except ValidationError as error:
        form.add_action_errors(error)
    except SecretKeyError as error:  # the stored secrets an edit keeps cannot be read
        form.add_error(None, str(error))
    return None


def _refused(
    request: HtmxHttpRequest, form: Any, profile: Profile | None, test: SettingsTest
) -> HttpResponse:
    context = test.context() | {"form": form, "profile": profile}
    if not request.htmx:
        return render(request, test.template, context)
    # The errors belong on the fields: the form comes back in place of the one posted.
    response = render(request, f"{test.template}#settings-form", context)
    return retarget(reswap(response, "outerHTML"), f"#{FORM_ID}")


def _tested(
    request: HtmxHttpRequest, form: Any, profile: Profile | None, result: Any, test: SettingsTest
) -> HttpResponse:
    if request.htmx:
        return render(request, test.result, {"result": result})
    context = test.context() | {"form": form, "profile": profile, "settings_result": result}
    return render(request, test.template, context)
