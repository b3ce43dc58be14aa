"""Forms of the alert channels and notification rules. A channel's URL and signing secret are
write-only: never an initial value, an edit shows only a masked hint of what is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from dashboard.forms import KEEP_HELP, ActionErrorsMixin, stored_hints
from egress_app.actions.alerts import ChannelFields, RuleFields
from egress_app.failures import CAUSES
from egress_app.models import (
    RULE_EVENTS,
    AlertChannel,
    AlertEvent,
    ChannelKind,
    DeliveryState,
    EgressKind,
    NotificationRule,
)

WRITE_ONLY = {"autocomplete": "off", "spellcheck": "false"}


def _secret_widget() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class AlertChannelForm(ActionErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=ChannelKind.choices)
    recipients = forms.CharField(
        label="Email addresses",
        required=False,
        help_text="Comma-separated. Sent through the dashboard's mail server (EMAIL_URL).",
    )
    url = forms.CharField(
        label="URL",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs=WRITE_ONLY),
        help_text="An Apprise URL (slack://…, msteams://…, discord://…, json://…) or the "
        "webhook's https:// address. Stored encrypted, never shown again.",
    )
    signing_secret = forms.CharField(
        label="Signing secret",
        required=False,
        strip=False,
        widget=_secret_widget(),
        help_text="Webhooks only: at least 16 characters; the receiver checks the "
        "X-Egress-Signature header with it.",
    )
    max_per_hour = forms.IntegerField(
        label="Most alerts an hour", min_value=1, max_value=1000, initial=30
    )
    enabled = forms.BooleanField(label="On", required=False, initial=True)

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, channel: AlertChannel | None = None
    ) -> None:
        initial: dict[str, Any] = {}
        if channel is not None:
            initial = {
                "name": channel.name,
                "kind": channel.kind,
                "recipients": channel.recipients,
                "max_per_hour": channel.max_per_hour,
                "enabled": channel.enabled,
            }
        super().__init__(data, initial=initial)
        if channel is not None:
            self.fields["kind"].disabled = True  # a channel keeps its kind
        for name, hint in stored_hints(channel).items():
            if name in self.fields:
                self.fields[name].help_text = KEEP_HELP.format(hint=hint)

    def fields_and_secrets(self) -> tuple[ChannelFields, dict[str, str]]:
        data = self.cleaned_data
        fields = ChannelFields(
            name=data["name"],
            kind=data["kind"],
            recipients=data["recipients"] if data["kind"] == ChannelKind.EMAIL else "",
            enabled=data["enabled"],
            max_per_hour=data["max_per_hour"],
        )
        return fields, {"url": data["url"], "signing_secret": data["signing_secret"]}


def cause_choices() -> list[tuple[str, str]]:
    return [(cause.key, cause.title) for cause in CAUSES]


class RuleForm(ActionErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    events = forms.MultipleChoiceField(
        label="When", choices=RULE_EVENTS, widget=forms.CheckboxSelectMultiple
    )
    causes = forms.MultipleChoiceField(
        label="Only these failure causes",
        choices=cause_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For failed and stuck jobs; none ticked means every cause.",
    )
    room_pattern = forms.CharField(
        label="Rooms",
        required=False,
        max_length=200,
        help_text="A pattern such as webinar-* (* any text, ? one character); empty for every "
        "room. Events without a room (a storage test) are not held back by it.",
    )
    kinds = forms.MultipleChoiceField(
        label="Only these kinds",
        choices=EgressKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked means every kind.",
    )
    channels = forms.ModelMultipleChoiceField(
        label="Alert", queryset=AlertChannel.objects.all(), widget=forms.CheckboxSelectMultiple
    )
    enabled = forms.BooleanField(label="On", required=False, initial=True)

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, rule: NotificationRule | None = None
    ) -> None:
        initial: dict[str, Any] = {}
        if rule is not None:
            initial = {
                "name": rule.name,
                "events": rule.events,
                "causes": rule.causes,
                "room_pattern": rule.room_pattern,
                "kinds": rule.kinds,
                "channels": list(rule.channels.all()),
                "enabled": rule.enabled,
            }
        super().__init__(data, initial=initial)

    def rule_fields(self) -> RuleFields:
        data = self.cleaned_data
        return RuleFields(
            name=data["name"],
            events=list(data["events"]),
            causes=list(data["causes"]),
            room_pattern=data["room_pattern"],
            kinds=list(data["kinds"]),
            channels=list(data["channels"]),
            enabled=data["enabled"],
        )


class DeliveryFilterForm(forms.Form):
    """The Alerts page's filters; an unknown value is ignored rather than refused."""

    state = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *DeliveryState.choices]
    )
    event = forms.ChoiceField(
        label="Event", required=False, choices=[("", "Any"), *AlertEvent.choices]
    )
    channel = forms.ModelChoiceField(
        label="Channel", required=False, queryset=AlertChannel.objects.all(), empty_label="Any"
    )
