"""Stream destinations, for admins: list, add, edit, duplicate, delete."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from dashboard.forms import StreamDestinationForm, stored_hints
from dashboard.views.common import delete_page, duplicate_page
from egress_app import actions
from egress_app.models import StreamDestination
from egress_app.roles import MANAGE_DESTINATIONS, perm

can_manage_destinations = permission_required(perm(MANAGE_DESTINATIONS), raise_exception=True)

FORM = "dashboard/destination_form.html"
LIST = "dashboard-destination-list"


def _get_destination(request: HttpRequest, pk: int) -> StreamDestination:
    # The permission decorator already let only destination managers in; all are theirs.
    return get_object_or_404(StreamDestination, pk=pk)


@dataclass(frozen=True)
class Row:
    destination: StreamDestination
    key_hint: str


@can_manage_destinations
@require_GET
def destination_list(request: HttpRequest) -> HttpResponse:
    found = StreamDestination.objects.annotate(job_count=Count("jobs")).order_by("name")
    rows = [Row(d, stored_hints(d).get("stream_key", "")) for d in found]
    return render(request, "dashboard/destination_list.html", {"rows": rows})


@can_manage_destinations
def destination_create(request: HttpRequest) -> HttpResponse:
    form = StreamDestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            destination = actions.create_stream_destination(request.user, **form.action_kwargs())
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Added {destination.name}.")
            return redirect(LIST)
    return render(request, FORM, {"form": form, "destination": None})


@can_manage_destinations
def destination_edit(request: HttpRequest, pk: int) -> HttpResponse:
    destination = _get_destination(request, pk)
    form = StreamDestinationForm(request.POST or None, destination=destination)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_stream_destination(
                request.user, destination, **form.action_kwargs(), clear=form.clear()
            )
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Saved {form.cleaned_data['name'].strip()}.")
            return redirect(LIST)
    return render(request, FORM, {"form": form, "destination": destination})


@can_manage_destinations
def destination_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    return duplicate_page(
        request,
        _get_destination(request, pk),
        duplicate=actions.duplicate_stream_destination,
        kind="stream destination",
        cancel=LIST,
        edit="dashboard-destination-edit",
    )


@can_manage_destinations
def destination_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return delete_page(
        request,
        _get_destination(request, pk),
        delete=actions.delete_stream_destination,
        kind="stream destination",
        cancel=LIST,
    )
