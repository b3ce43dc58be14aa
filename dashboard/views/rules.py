"""Room rules (auto egress): producers and admins manage them, support reads them; and the Live
page's Create room, which carries a matching rule as LiveKit's own auto egress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from dashboard.rule_forms import CreateRoomForm, RoomRuleForm, room_composite_recipes
from egress_app.actions import room_rules
from egress_app.models import RoomRule, RoomRuleStart
from egress_app.roles import LAUNCH_EGRESS, VIEW_DASHBOARD, perm

can_read = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)
# Producers start egress, so producers (and admins) decide which rooms start it on their own.
can_manage = permission_required(perm(LAUNCH_EGRESS), raise_exception=True)

LIST = "dashboard-rule-list"
FORM = "dashboard/rule_form.html"
RECENT_STARTS = 20


def _get_rule(pk: int) -> RoomRule:
    return get_object_or_404(RoomRule.objects.select_related("recipe"), pk=pk)


@can_read
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = RoomRule.objects.select_related("recipe")
    starts = RoomRuleStart.objects.select_related("rule", "job")[:RECENT_STARTS]
    context = {"rules": list(rules), "starts": list(starts), "recipes": room_composite_recipes()}
    return render(request, "dashboard/rule_list.html", context)


@can_manage
def rule_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@can_manage
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _get_rule(pk))


def _form_page(request: HttpRequest, rule: RoomRule | None) -> HttpResponse:
    form = RoomRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = room_rules.save_rule(request.user, form.rule_input(), rule)
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Saved the {saved.name}.")
            return redirect(LIST)
    status = 400 if form.errors else 200
    return render(request, FORM, {"form": form, "rule": rule}, status=status)


@can_manage
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _get_rule(pk)
    if request.method == "POST":
        room_rules.delete_rule(request.user, rule)
        messages.success(request, f"Deleted the {rule.name}.")
        return redirect(LIST)
    context = {"target": rule, "kind": "room rule", "cancel": LIST}
    return render(request, "dashboard/rule_delete.html", context)


@can_manage
def room_create(request: HttpRequest) -> HttpResponse:
    """Create a LiveKit room; a matching rule goes with it as LiveKit's auto egress."""
    form = CreateRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, rule = room_rules.create_room(
                request.user,
                data["name"],
                empty_timeout=data["empty_timeout"],
                max_participants=data["max_participants"],
            )
        except ValidationError as error:
            form.add_action_errors(error)
        except room_rules.RoomError as error:
            form.add_error(None, error.message)
        else:
            said = f" LiveKit records it by the {rule.name}." if rule else ""
            messages.success(request, f"Created the room {created.name}.{said}")
            return redirect("dashboard-home")
    status = 400 if form.errors else 200
    return render(request, "dashboard/room_create.html", {"form": form}, status=status)
