"""One-time password links: an invitation to set a first password, or a reset of a forgotten one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class LinkPurpose(models.TextChoices):
    INVITE = "invite", "Invitation"
    RESET = "reset", "Password reset"


class PasswordLink(models.Model):
    """A link that lets its holder set `user`'s password once, until `expires_at`.

    Only the SHA-256 of its token is kept (the token is 256 random bits, so a fast hash is
    enough): the database never holds a usable link. `used_at` is set by a conditional update
    when the password is set, so a link works once even when opened twice at the same moment.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_links"
    )
    purpose = models.CharField(max_length=8, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.user}"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()
