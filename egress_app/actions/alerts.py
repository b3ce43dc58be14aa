"""Alert channels and notification rules: admins add, edit, delete and test them, every change
audited (names of changed secrets only, never their values)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from egress_app import names
from egress_app.actions.alert_delivery import attempt
from egress_app.actions.vault import (
    Actor,
    _merge_secrets,
    _secret_changes,
    _value_changes,
    audit,
)
from egress_app.failures import BY_KEY
from egress_app.models import (
    RULE_EVENTS,
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    AuditAction,
    ChannelKind,
    DeliveryState,
    EgressKind,
    NotificationRule,
)
from egress_app.notify.senders import apprise_url_ok, email_addresses

CHANNEL_SECRETS: dict[str, tuple[str, ...]] = {
    ChannelKind.EMAIL: (),
    ChannelKind.APPRISE: ("url",),
    ChannelKind.WEBHOOK: ("url", "signing_secret"),
}
SHORTEST_SIGNING_SECRET = 16
MOST_PER_HOUR = 1000


@dataclass(frozen=True)
class ChannelFields:
    name: str
    kind: str
    recipients: str = ""
    enabled: bool = True
    max_per_hour: int = 30


def _channel_errors(
    fields: ChannelFields, secrets: Mapping[str, str], pk: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not fields.name:
        errors["name"] = "Give the channel a name."
    elif AlertChannel.objects.filter(name=fields.name).exclude(pk=pk or 0).exists():
        errors["name"] = f"A channel named {fields.name} already exists."
    if not 1 <= fields.max_per_hour <= MOST_PER_HOUR:
        errors["max_per_hour"] = f"Allow from 1 to {MOST_PER_HOUR} alerts an hour."
    if fields.kind == ChannelKind.EMAIL:
        errors |= _email_errors(fields.recipients)
    elif fields.kind == ChannelKind.APPRISE:
        if not apprise_url_ok(secrets.get("url", "")):
            errors["url"] = (
                "Apprise does not recognise this URL: see its list of services (slack://, "
                "msteams://, discord://, json://, ...)."
            )
    elif fields.kind == ChannelKind.WEBHOOK:
        errors |= _webhook_errors(secrets)
    else:
        errors["kind"] = "Pick email, Apprise or webhook."
    return errors


def _email_errors(recipients: str) -> dict[str, str]:
    addresses = email_addresses(recipients)
    if not addresses:
        return {"recipients": "Give at least one email address."}
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            return {"recipients": f"{address} is not an email address."}
    return {}


def _webhook_errors(secrets: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    parts = urlsplit(secrets.get("url", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = "Give the webhook's full http:// or https:// address."
    if len(secrets.get("signing_secret", "")) < SHORTEST_SIGNING_SECRET:
        errors["signing_secret"] = (
            f"Give a signing secret of at least {SHORTEST_SIGNING_SECRET} characters: the "
            "receiver checks each alert's signature with it."
        )
    return errors


@transaction.atomic
def save_alert_channel(
    actor: Actor,
    channel: AlertChannel | None,
    fields: ChannelFields,
    secrets: Mapping[str, str],
) -> AlertChannel:
    """Add a channel (`channel` None) or save an edit; empty secrets keep the stored ones.
    ValidationError, nothing written, on bad input."""
    fields = ChannelFields(**{**fields.__dict__, "name": names.clean(fields.name)})
    if channel is not None:
        channel = AlertChannel.objects.select_for_update().get(pk=channel.pk)
        fields = ChannelFields(**{**fields.__dict__, "kind": channel.kind})
    stored = channel.secrets() if channel is not None else {}
    wanted = CHANNEL_SECRETS.get(fields.kind, ())
    merged = _merge_secrets(stored, {k: v for k, v in secrets.items() if k in wanted}, ())
    if errors := _channel_errors(fields, merged, channel.pk if channel else None):
        raise ValidationError(errors)
    new = channel is None
    channel = channel or AlertChannel(kind=fields.kind)
    changed = _value_changes(
        {name: (getattr(channel, name), value) for name, value in fields.__dict__.items()}
    )
    changed += _secret_changes(wanted, stored, merged)
    if not changed:
        return channel
    for name, value in fields.__dict__.items():
        setattr(channel, name, value)
    channel.set_secrets(merged)
    channel.save()
    audit(actor, AuditAction.CREATED if new else AuditAction.CHANGED, channel, changed=changed)
    return channel


@transaction.atomic
def delete_alert_channel(actor: Actor, channel: AlertChannel) -> None:
    """Delete the channel and its deliveries (rules keep their other channels)."""
    audit(actor, AuditAction.DELETED, channel)
    channel.delete()


def send_test(actor: Actor, channel: AlertChannel) -> AlertDelivery:
    """Send a test alert now (in the caller's thread: a person waits for the answer), log it on
    the Alerts page, keep the outcome on the channel and audit it."""
    with transaction.atomic():
        alert = Alert.objects.create(
            event=AlertEvent.TEST,
            dedupe_key=f"test:{uuid.uuid4()}",
            title=f"Test alert for {channel.name}",
            text="This is a test from the Egress Dashboard: the channel works.",
        )
        delivery = AlertDelivery.objects.create(
            alert=alert, channel=channel, state=DeliveryState.SENDING
        )
    attempt(delivery)
    delivery.refresh_from_db()
    ok = delivery.state == DeliveryState.SENT
    with transaction.atomic():
        AlertChannel.objects.filter(pk=channel.pk).update(
            last_tested_at=timezone.now(), last_test_ok=ok, last_test_message=delivery.last_error
        )
        outcome = "ok" if ok else f"failed: {delivery.last_error}"
        audit(actor, AuditAction.TESTED, channel, outcome=outcome)
    return delivery


# --- rules --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleFields:
    name: str
    events: list[str]
    causes: list[str]
    room_pattern: str
    kinds: list[str]
    channels: list[AlertChannel]
    enabled: bool = True


def _rule_errors(fields: RuleFields, pk: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not fields.name:
        errors["name"] = "Give the rule a name."
    elif NotificationRule.objects.filter(name=fields.name).exclude(pk=pk or 0).exists():
        errors["name"] = f"A rule named {fields.name} already exists."
    if not fields.events or not _known(fields.events, (key for key, _ in RULE_EVENTS)):
        errors["events"] = "Pick at least one event from the list."
    if not _known(fields.causes, [*BY_KEY]):
        errors["causes"] = "Pick causes from the list."
    if not _known(fields.kinds, EgressKind.values):
        errors["kinds"] = "Pick kinds from the list."
    if not fields.channels:
        errors["channels"] = "Pick at least one channel to alert."
    return errors


def _known(values: Collection[str], allowed: Iterable[str]) -> bool:
    return set(values) <= set(allowed)


@transaction.atomic
def save_rule(actor: Actor, rule: NotificationRule | None, fields: RuleFields) -> NotificationRule:
    """Add a rule (`rule` None) or save an edit; ValidationError, nothing written, on bad
    input."""
    fields = RuleFields(
        **{
            **fields.__dict__,
            "name": names.clean(fields.name),
            "room_pattern": fields.room_pattern.strip(),
        }
    )
    if errors := _rule_errors(fields, rule.pk if rule else None):
        raise ValidationError(errors)
    new = rule is None
    rule = rule or NotificationRule()
    before = {name: getattr(rule, name) for name in fields.__dict__ if name != "channels"}
    before_channels = set(rule.channels.values_list("pk", flat=True)) if rule.pk else set()
    changed = _value_changes({name: (before[name], getattr(fields, name)) for name in before})
    if before_channels != {channel.pk for channel in fields.channels}:
        changed.append("channels")
    if not changed:
        return rule
    for name in before:
        setattr(rule, name, getattr(fields, name))
    rule.save()
    rule.channels.set(fields.channels)
    audit(actor, AuditAction.CREATED if new else AuditAction.CHANGED, rule, changed=changed)
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: NotificationRule) -> None:
    audit(actor, AuditAction.DELETED, rule)
    rule.delete()
