"""What the page views share."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.middleware import HtmxDetails

from dashboard.forms import NameForm
from egress_app import actions
from egress_app.models import EngineProfile, Recipe, StorageProfile, StreamDestination
from egress_app.roles import VIEW_ALL_JOBS, perm

# Support and admins: every job, the failure inbox, reports.
reviews_jobs = permission_required(perm(VIEW_ALL_JOBS), raise_exception=True)

Vaulted = StorageProfile | StreamDestination
Named = Vaulted | Recipe  # what the duplicate page copies under a new name


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (settings.MIDDLEWARE)."""

    htmx: HtmxDetails


def duplicate_page(
    request: HttpRequest,
    original: Named,
    *,
    duplicate: Callable[..., Named],
    kind: str,
    cancel: str,
    edit: str | Callable[[Any], str],
) -> HttpResponse:
    """Ask for the copy's name, then copy `original` with the `duplicate` action and go on to
    edit the copy (`edit`: a URL name taking its pk, or the copy's edit URL)."""
    form = NameForm(request.POST or None, initial={"name": f"{original.name} (copy)"})
    if request.method == "POST" and form.is_valid():
        try:
            copy = duplicate(request.user, original, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Copied {original.name} to {copy.name}.")
            return redirect(edit(copy)) if callable(edit) else redirect(edit, pk=copy.pk)
    context = {"form": form, "original": original, "kind": kind, "cancel": cancel}
    return render(request, "dashboard/duplicate.html", context)


def delete_page(
    request: HttpRequest,
    target: Vaulted | EngineProfile,
    *,
    delete: Callable[[Any, Any], None],
    kind: str,
    cancel: str,
    template: str = "dashboard/delete.html",
    usage: Callable[[Any], dict[str, object]] | None = None,
) -> HttpResponse:
    """Confirm, then delete `target` with the `delete` action, or say why it must stay.
    `usage` gives what the confirmation says uses it (by default, its job count)."""
    context: dict[str, object] = {"target": target, "kind": kind, "cancel": cancel}
    if request.method == "POST":
        try:
            delete(request.user, target)
        except actions.InUseError as error:
            return render(request, template, context | {"refused": error}, status=409)
        messages.success(request, f"Deleted {target.name}.")
        return redirect(cancel)
    used = usage(target) if usage is not None else {"job_count": target.jobs.count()}  # type: ignore[union-attr]
    return render(request, template, context | used)


def profile_form_page[P: (StorageProfile, EngineProfile)](
    request: HttpRequest,
    form: Any,
    *,
    template: str,
    profile: P | None,
    save: Callable[[], P],
    saved: Callable[[P], tuple[str, HttpResponse]],
    context: dict[str, object] | None = None,
) -> HttpResponse:
    """A storage or engine profile's add or edit page: on a valid POST `save` it (the action's
    errors go back on the form), then flash and go where `saved` says. `context` adds to what
    the page shows."""
    if request.method == "POST" and form.is_valid():
        try:
            done = save()
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            message, response = saved(done)
            messages.success(request, message)
            return response
    return render(request, template, (context or {}) | {"form": form, "profile": profile})


def make_default_page[P: (StorageProfile, EngineProfile)](
    request: HttpRequest, profile: P, *, make_default: Callable[[Any, P], P], kind: str, then: str
) -> HttpResponse:
    """Make a storage or engine profile the default of its kind and say so."""
    profile = make_default(request.user, profile)
    messages.success(request, f"{profile.name} is now the default {kind}.")
    return redirect(then)


class _Line:
    """A file-like that hands back what csv.writer writes, one line at a time."""

    def write(self, text: str) -> str:
        return text


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


async def csv_lines(
    header: Sequence[str], rows: AsyncIterable[Sequence[Any]]
) -> AsyncIterator[str]:
    """CSV text, a line at a time, for a streaming response; no cell is read as a formula."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    async for row in rows:
        yield writer.writerow([_cell(value) for value in row])
