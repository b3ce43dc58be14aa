"""Room rules: start a recipe in every room whose name matches a pattern (auto egress)."""

from __future__ import annotations

import fnmatch
import uuid

from django.conf import settings
from django.db import models

from egress_app.models.recipes import Recipe


class RoomRule(models.Model):
    """Rooms whose name matches `pattern` (a glob: `webinar-*`) are recorded with `recipe` (a
    room composite), and/or each participant and each track to the recipe's storage.

    Rooms the dashboard creates carry the rule as LiveKit's own auto egress (CreateRoom's
    `egress`); rooms created elsewhere start the recipe on their room_started webhook (or the
    reconciler's pass), once per room session (`RoomRuleStart`)."""

    pattern = models.CharField(max_length=100)
    recipe = models.ForeignKey(Recipe, on_delete=models.PROTECT, related_name="room_rules")
    record_room = models.BooleanField(default=True)
    each_participant = models.BooleanField(default=False)
    each_track = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="room_rules",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pattern", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """How pages and the audit log name the rule."""
        return f"rule {self.pattern} → {self.recipe.name}"[:200]

    def matches(self, room_name: str) -> bool:
        """Case-sensitive, as LiveKit's room names are."""
        return fnmatch.fnmatchcase(room_name, self.pattern)


class RoomRuleStart(models.Model):
    """A rule claimed for one room session (`room_sid`), before anything is started: the unique
    pair is the claim, so a retried webhook, a reconciler pass or a second worker start nothing
    more. `native`: the dashboard created the room with the rule as CreateRoom's `egress`
    (LiveKit starts it; `room_sid` is empty until CreateRoom answers)."""

    rule = models.ForeignKey(RoomRule, on_delete=models.CASCADE, related_name="starts")
    # NULL while CreateRoom has not answered: NULLs never clash in the unique pair.
    room_sid = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    room_name = models.CharField(max_length=256)
    native = models.BooleanField(default=False)
    launch_token = models.UUIDField(default=uuid.uuid4, unique=True)
    job = models.ForeignKey(
        "egress_app.EgressJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "room_sid"], name="one_start_per_room_session")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} in {self.room_name} ({self.room_sid or 'creating'})"
