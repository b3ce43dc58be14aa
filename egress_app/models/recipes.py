"""Saved launch configurations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from egress_app.models.base import NEEDS_JSON


class Recipe(models.Model):
    """A saved launch configuration, started in a room chosen at launch time.

    `config` is a LaunchConfig without `room_name` and without ad-hoc stream URLs (they hold
    stream keys); stream destinations are kept by id.
    """

    name = models.CharField(max_length=100, unique=True)
    config = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recipes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
