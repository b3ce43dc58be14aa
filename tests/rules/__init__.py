"""Room rules (auto egress): shared helpers."""

from __future__ import annotations

from typing import Any

from egress_app.actions.recipes import save_recipe
from egress_app.actions.room_rules import RuleInput, save_rule
from egress_app.models import Recipe, RoomRule
from tests.jobs import file_config, make_profile


def make_recipe(admin: Any, name: str = "Webinar 1080p") -> Recipe:
    return save_recipe(admin, name=name, config=file_config(make_profile(admin)))


def make_rule(actor: Any, recipe: Recipe, pattern: str = "webinar-*", **flags: bool) -> RoomRule:
    return save_rule(actor, RuleInput(pattern=pattern, recipe_id=recipe.pk, **flags))
