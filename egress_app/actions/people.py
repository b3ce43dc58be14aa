"""The team's named state changes: create or invite a person, change their role, deactivate or
reactivate them, make a password reset link, and set a password with a link.

Each action runs in one transaction and writes its AuditEntry (who, what, to whom) inside it.
Changes that could leave no active admin (a demotion, a deactivation) first lock the admins
group's row: two admins demoting each other at once are served one after the other, and the
second is refused (`LastAdminError`).

A link's token is returned once, to be shown or mailed; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from egress_app import events
from egress_app.actions.vault import Actor, actor_id, signed_in
from egress_app.models import AuditAction, AuditEntry, AuditTarget, LinkPurpose, PasswordLink
from egress_app.roles import ADMINS, ROLE_LABELS

ROLES = tuple(ROLE_LABELS)  # the groups that are roles, most powerful first
TOKEN_BYTES = 32


class LastAdminError(Exception):
    """The change would leave the dashboard without an active admin; the message says so."""


class LinkError(Exception):
    """A password link that cannot be used (unknown, used, expired); the message says why."""


@dataclass(frozen=True)
class IssuedLink:
    """A new link: its token (shown once, never stored) and its row."""

    token: str
    link: PasswordLink


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def role_of(user: User) -> str | None:
    """The user's role group name, the most powerful one they are in; None without one."""
    names = {group.name for group in user.groups.all()}
    return next((name for name in ROLES if name in names), None)


def active_admins() -> QuerySet[User]:
    return User.objects.filter(Q(groups__name=ADMINS) | Q(is_superuser=True), is_active=True)


def _audit(actor: Actor, action: AuditAction, user: User, outcome: str = "") -> None:
    who = signed_in(actor)
    AuditEntry.objects.create(
        actor_id=who.pk if who else None,
        actor_name=who.get_username() if who else "system",
        action=action,
        target_type=AuditTarget.USER,
        target_id=user.pk,
        target_name=user.get_username(),
        outcome=outcome,
    )


def _refuse_if_last_admin(user: User) -> None:
    """Raise LastAdminError when `user` is the only active admin. Runs after locking the
    admins group's row, so the count cannot change until the caller's transaction ends."""
    Group.objects.select_for_update().filter(name=ADMINS).first()
    if not active_admins().filter(pk=user.pk).exists():
        return
    if not active_admins().exclude(pk=user.pk).exists():
        raise LastAdminError(
            f"{user.get_username()} is the last active admin: make someone else an admin first."
        )


def _issue_link(actor: Actor, user: User, purpose: LinkPurpose) -> IssuedLink:
    # A new link replaces the person's unused ones: only the latest one works.
    PasswordLink.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    link = PasswordLink.objects.create(
        user=user,
        purpose=purpose,
        token_hash=token_hash(token),
        created_by_id=actor_id(actor),
        created_at=now,
        expires_at=now + timedelta(hours=settings.INVITE_LINK_HOURS),
    )
    return IssuedLink(token=token, link=link)


def create_person(
    actor: Actor, *, username: str, email: str, role: str, password: str | None
) -> tuple[User, IssuedLink | None]:
    """A new person with `role`: signing in with `password`, or (None) invited by a link."""
    with transaction.atomic():
        user = User.objects.create_user(username, email=email, password=password)
        user.groups.set([Group.objects.get(name=role)])
        issued = None if password else _issue_link(actor, user, LinkPurpose.INVITE)
        action = AuditAction.CREATED if password else AuditAction.INVITED
        _audit(actor, action, user, outcome=f"as {ROLE_LABELS[role]}")
    return user, issued


def change_role(actor: Actor, user: User, role: str) -> None:
    with transaction.atomic():
        before = role_of(user)
        if before == role:
            return
        if role != ADMINS:
            _refuse_if_last_admin(user)
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.groups.add(Group.objects.get(name=role))
        was = ROLE_LABELS[before] if before else "no role"
        _audit(actor, AuditAction.ROLE_CHANGED, user, outcome=f"{was} → {ROLE_LABELS[role]}")


def end_sessions(user: AbstractBaseUser) -> int:
    """Delete every session signed in as `user`; how many. Sessions are few (one per browser
    signed in) and their user is inside the encoded data, so each live one is decoded."""
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def deactivate_person(actor: Actor, user: User) -> None:
    """Stop `user` signing in, end their sessions and void their unused links."""
    with transaction.atomic():
        _refuse_if_last_admin(user)
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        PasswordLink.objects.filter(user=user, used_at__isnull=True).delete()
        ended = end_sessions(user)
        events.announce_signed_out(user.pk)
        _audit(actor, AuditAction.DEACTIVATED, user, outcome=f"{ended} session(s) ended")


def reactivate_person(actor: Actor, user: User) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        _audit(actor, AuditAction.REACTIVATED, user)


def make_reset_link(actor: Actor, user: User) -> IssuedLink:
    """A link for `user` to set a new password; the current one keeps working until then.
    Someone who never set one (an invitation that expired) gets a new invitation."""
    purpose = LinkPurpose.RESET if user.has_usable_password() else LinkPurpose.INVITE
    with transaction.atomic():
        issued = _issue_link(actor, user, purpose)
        _audit(actor, AuditAction.RESET_LINK, user)
    return issued


def usable_link(hashed: str) -> PasswordLink:
    """The link with this token hash, if it can still set a password; LinkError otherwise."""
    link = PasswordLink.objects.select_related("user").filter(token_hash=hashed).first()
    if link is None:
        raise LinkError("This link is not valid: it may have been replaced by a newer one.")
    if link.used_at is not None:
        raise LinkError("This link has already been used. Ask an admin for a new one.")
    if link.expired:
        raise LinkError("This link has expired. Ask an admin for a new one.")
    if not link.user.is_active:
        raise LinkError("This account is deactivated. Ask an admin.")
    return link


def set_password_by_link(hashed: str, password: str) -> User:
    """Set the link's user's password and spend the link, once (conditional update)."""
    with transaction.atomic():
        link = usable_link(hashed)
        spent = PasswordLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
        if spent != 1:
            raise LinkError("This link has already been used. Ask an admin for a new one.")
        user = link.user
        user.set_password(password)
        user.save(update_fields=["password"])
        _audit(user, AuditAction.PASSWORD_SET, user, outcome=link.get_purpose_display())
    return user
