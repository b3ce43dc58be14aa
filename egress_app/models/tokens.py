"""Personal API tokens: what scripts and CI present as `Authorization: Bearer <token>`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A user's named token, acting with that user's role until it expires or is revoked.

    The token itself (`egd_<prefix>_<secret>`) is shown once: the row keeps the prefix, to find
    it, and the SHA-256 of the whole token, compared in constant time; never the secret.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)  # hex SHA-256 of the whole token
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.CharField(max_length=64, blank=True)  # the client's address

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        """What the Tokens page says of it: "Active", "Expired" or "Revoked"."""
        if self.revoked_at is not None:
            return "Revoked"
        return "Active" if self.expires_at > timezone.now() else "Expired"
