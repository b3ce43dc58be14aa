"""Personal API tokens: create (shown once), revoke, and find the token a request presents.

A token reads `egd_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole
token is compared in constant time, and only that digest is kept (a leaked database holds no
usable token). Each use records when and from which client address (as django-axes reads
it: REMOTE_ADDR, which uvicorn's `--proxy-headers` makes the visitor's behind a proxy).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from egress_app import names
from egress_app.actions.vault import Actor, audit, signed_in
from egress_app.models import ApiToken, AuditAction
from egress_app.roles import MANAGE_USERS, perm

SCHEME = "egd"
PREFIX_BYTES = 6  # 12 hex characters: the row's lookup key, shown on the Tokens page
SECRET_BYTES = 32
NAME_LENGTH = 100
# How long a use counts as recent: within it a token's last use is not written again, so a
# busy script costs one UPDATE a minute, not one per call.
USE_RECORD_EVERY = timedelta(minutes=1)
NOT_YOURS = "Only the token's owner, or an admin, may revoke it."


@dataclass(frozen=True)
class Created:
    """A new token's row, and the token itself: shown once, then never again."""

    token: ApiToken
    plaintext: str


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def may_manage_all(user: Actor) -> bool:
    """Admins see and revoke every user's tokens; everyone else only their own."""
    return isinstance(user, AbstractUser) and user.has_perm(perm(MANAGE_USERS))


def _expiry_errors(expires_at: datetime | None) -> dict[str, str]:
    if expires_at is None:
        return {"expires_at": "Give the day the token stops working."}
    now = timezone.now()
    longest = timedelta(days=settings.API_TOKEN_MAX_DAYS)
    if expires_at <= now:
        return {"expires_at": "Give a day in the future."}
    if expires_at > now + longest:
        return {"expires_at": f"A token lasts at most {settings.API_TOKEN_MAX_DAYS} days."}
    return {}


@transaction.atomic
def create_token(actor: Actor, *, name: str, expires_at: datetime | None) -> Created:
    """A new token of `actor` (who must be signed in), named and expiring; audited."""
    user = signed_in(actor)
    if user is None:
        raise PermissionDenied("Sign in to create a token.")
    name = names.clean(name)
    errors = _expiry_errors(expires_at)
    if not name or len(name) > NAME_LENGTH:
        errors["name"] = f"Give a name of 1 to {NAME_LENGTH} characters."
    elif ApiToken.objects.filter(user_id=user.pk, name=name, revoked_at=None).exists():
        errors["name"] = "You already have a token of that name."
    if errors:
        raise ValidationError(errors)
    assert expires_at is not None  # checked above
    prefix = secrets.token_hex(PREFIX_BYTES)
    plaintext = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token = ApiToken.objects.create(
        user_id=user.pk, name=name, prefix=prefix, digest=digest(plaintext), expires_at=expires_at
    )
    audit(actor, AuditAction.CREATED, token, outcome=f"expires {expires_at:%Y-%m-%d %H:%M %Z}")
    return Created(token, plaintext)


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke the token now (its owner or an admin); revoking it again changes nothing."""
    user = signed_in(actor)
    if user is None or (token.user_id != user.pk and not may_manage_all(user)):
        raise PermissionDenied(NOT_YOURS)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        owner = "" if token.user_id == user.pk else f"of {token.user.get_username()}"
        audit(actor, AuditAction.REVOKED, token, outcome=owner)
    return token


def find_token(plaintext: str) -> ApiToken | None:
    """The usable token `plaintext` is (not expired, not revoked, its user active), or None."""
    scheme, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or not prefix or not secret or len(plaintext) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest(plaintext)):
        return None
    user: AbstractBaseUser = token.user
    return token if token.is_usable and user.is_active else None


def record_use(token: ApiToken, address: str) -> None:
    """Note the token's use now from `address`, at most once a minute per address."""
    now = timezone.now()
    recent = token.last_used_at is not None and now - token.last_used_at < USE_RECORD_EVERY
    if recent and token.last_used_from == address:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=address[:64])
    token.last_used_at, token.last_used_from = now, address[:64]
