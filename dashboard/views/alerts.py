"""Alerts: support and admins read every delivery on the Alerts page; admins manage the
channels (email, Apprise, signed webhook) and the notification rules, and send a test.
Producers see none of it: alerts are about every job, and a channel's address is a secret."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.alert_forms import AlertChannelForm, DeliveryFilterForm, RuleForm
from dashboard.views.common import HtmxHttpRequest, reviews_jobs
from egress_app.actions import alerts as actions
from egress_app.models import AlertChannel, AlertDelivery, NotificationRule
from egress_app.roles import MANAGE_ALERTS, perm

can_manage_alerts = permission_required(perm(MANAGE_ALERTS), raise_exception=True)

SHOWN = 100
CHANNELS = "dashboard-alert-channel-list"
RULES = "dashboard-alert-rule-list"


def _deliveries(form: DeliveryFilterForm) -> QuerySet[AlertDelivery]:
    found = AlertDelivery.objects.select_related("alert", "channel").order_by("-created_at", "-pk")
    if not form.is_valid():
        return found
    data = form.cleaned_data
    if data["state"]:
        found = found.filter(state=data["state"])
    if data["event"]:
        found = found.filter(alert__event=data["event"])
    if data["channel"]:
        found = found.filter(channel=data["channel"])
    return found


@reviews_jobs
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """Every delivery with its outcome, newest first, filtered."""
    form = DeliveryFilterForm(request.GET or None)
    deliveries = list(_deliveries(form)[:SHOWN])
    filtered = form.is_bound and form.is_valid() and any(form.cleaned_data.values())
    context = {"form": form, "deliveries": deliveries, "shown": SHOWN, "filtered": filtered}
    return render(request, "dashboard/alert_list.html", context)


# --- channels -----------------------------------------------------------------------------------
@can_manage_alerts
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = AlertChannel.objects.order_by("name")
    return render(request, "dashboard/alert_channel_list.html", {"channels": channels})


def _channel_page(
    request: HttpRequest, form: AlertChannelForm, channel: AlertChannel | None
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        fields, secrets = form.fields_and_secrets()
        try:
            saved = actions.save_alert_channel(request.user, channel, fields, secrets)
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Saved {saved.name}. Send a test to check it works.")
            return redirect(CHANNELS)
    return render(request, "dashboard/alert_channel_form.html", {"form": form, "channel": channel})


@can_manage_alerts
def channel_create(request: HttpRequest) -> HttpResponse:
    return _channel_page(request, AlertChannelForm(request.POST or None), None)


@can_manage_alerts
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(AlertChannel, pk=pk)
    form = AlertChannelForm(request.POST or None, channel=channel)
    return _channel_page(request, form, channel)


@can_manage_alerts
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(AlertChannel, pk=pk)
    if request.method == "POST":
        actions.delete_alert_channel(request.user, channel)
        messages.success(request, f"Deleted {channel.name}.")
        return redirect(CHANNELS)
    context = {"target": channel, "kind": "alert channel", "cancel": CHANNELS}
    return render(request, "dashboard/alert_delete.html", context)


@can_manage_alerts
@require_POST
async def channel_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send a test alert now and say plainly whether it got through (audited, logged)."""
    channel = await sync_to_async(get_object_or_404)(AlertChannel, pk=pk)
    user = await request.auser()
    # Seconds at most (ALERT_SEND_TIMEOUT), in this request's own thread: under ASGI each
    # request's thread-sensitive work has a thread of its own, so others go on meanwhile.
    delivery = await sync_to_async(actions.send_test)(user, channel)
    context = {"channel": channel, "delivery": delivery}
    if request.htmx:
        return await sync_to_async(render)(
            request, "dashboard/partials/alert_test.html#result", context
        )
    return await sync_to_async(render)(request, "dashboard/alert_test.html", context)


# --- rules --------------------------------------------------------------------------------------
@can_manage_alerts
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = NotificationRule.objects.prefetch_related("channels").order_by("name")
    has_channels = AlertChannel.objects.exists()
    context = {"rules": rules, "has_channels": has_channels}
    return render(request, "dashboard/alert_rule_list.html", context)


def _rule_page(request: HttpRequest, form: RuleForm, rule: NotificationRule | None) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_rule(request.user, rule, form.rule_fields())
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect(RULES)
    return render(request, "dashboard/alert_rule_form.html", {"form": form, "rule": rule})


@can_manage_alerts
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, RuleForm(request.POST or None), None)


@can_manage_alerts
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(NotificationRule, pk=pk)
    return _rule_page(request, RuleForm(request.POST or None, rule=rule), rule)


@can_manage_alerts
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(NotificationRule, pk=pk)
    if request.method == "POST":
        actions.delete_rule(request.user, rule)
        messages.success(request, f"Deleted {rule.name}.")
        return redirect(RULES)
    context = {"target": rule, "kind": "notification rule", "cancel": RULES}
    return render(request, "dashboard/alert_delete.html", context)
