"""Recipes: saved launch configurations, started in a room chosen at launch time.

A recipe keeps a LaunchConfig without its room and without ad-hoc stream URLs: those carry
stream keys and are never saved (stream destinations, by id, are). Bad input raises
`ValidationError({field: message})` before anything is written.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from egress_app.actions.egress import start_egress
from egress_app.actions.vault import Actor, Errors, name_errors
from egress_app.launch.config import LaunchConfig, normalize_launch_config, validate_launch_config
from egress_app.models import EgressJob, Recipe

# Stands in for the room the recipe will be started in, so that the room rule passes.
PLACEHOLDER_ROOM = "recipe-room"
ADHOC_NOT_KEPT = (
    "Recipes keep saved stream destinations only: ad-hoc stream URLs hold stream keys and are "
    "never saved. Add the URL as a stream destination, then choose it."
)


def recipe_config(config: LaunchConfig) -> LaunchConfig:
    """`config` normalized, without its room and without ad-hoc stream URLs."""
    clean = normalize_launch_config(config)
    clean.pop("room_name", None)
    stream = clean["outputs"]["stream"]
    if stream is not None:
        stream["adhoc"] = []
    return clean


def launch_config(recipe: Recipe, room_name: str) -> LaunchConfig:
    """The recipe's configuration for a launch in `room_name` (web egress takes no room)."""
    config: dict[str, Any] = dict(recipe.config)
    config["room_name"] = "" if config.get("kind") == "web" else room_name.strip()
    return config


def _config_errors(given: LaunchConfig, clean: LaunchConfig) -> Errors:
    placed = dict(clean, room_name="" if clean["kind"] == "web" else PLACEHOLDER_ROOM)
    errors = validate_launch_config(placed)
    given_stream = (given.get("outputs") or {}).get("stream") if isinstance(given, dict) else None
    stream = clean["outputs"]["stream"]
    had_adhoc = isinstance(given_stream, dict) and bool(given_stream.get("adhoc"))
    if had_adhoc and stream is not None and not stream["destination_ids"]:
        errors["outputs.stream"] = ADHOC_NOT_KEPT
    return errors


@transaction.atomic
def save_recipe(
    actor: Actor, *, name: str, config: LaunchConfig, recipe: Recipe | None = None
) -> Recipe:
    """Create a recipe, or overwrite `recipe`, from a launch configuration.

    The room and any ad-hoc stream URLs are dropped; the rest must be a configuration LiveKit
    would accept in some room. Errors are keyed "name" or by the configuration's field path.
    """
    name = name.strip()
    clean = recipe_config(config)
    errors = name_errors(Recipe, name, pk=recipe.pk if recipe else None) | _config_errors(
        config, clean
    )
    if errors:
        raise ValidationError(errors)
    if recipe is None:
        user = actor if actor is not None and actor.is_authenticated else None
        return Recipe.objects.create(
            name=name, config=clean, created_by_id=user.pk if user else None
        )
    recipe = Recipe.objects.select_for_update().get(pk=recipe.pk)
    recipe.name, recipe.config = name, clean
    recipe.save()
    return recipe


@transaction.atomic
def duplicate_recipe(actor: Actor, recipe: Recipe, *, name: str) -> Recipe:
    """A copy under a new name, created by `actor`."""
    name = name.strip()
    if errors := name_errors(Recipe, name):
        raise ValidationError(errors)
    user = actor if actor is not None and actor.is_authenticated else None
    return Recipe.objects.create(
        name=name, config=recipe.config, created_by_id=user.pk if user else None
    )


@transaction.atomic
def delete_recipe(actor: Actor, recipe: Recipe) -> None:
    """Delete; jobs started from the recipe keep their own copy of the configuration."""
    Recipe.objects.filter(pk=recipe.pk).delete()


def start_recipe(
    actor: Actor, recipe: Recipe, *, room_name: str, launch_token: str | uuid.UUID
) -> EgressJob:
    """Start the recipe in `room_name`, once per `launch_token` (see `start_egress`).

    ValidationError when the configuration no longer holds (a deleted destination, no room);
    LaunchError, with the job kept, when LiveKit refuses.
    """
    return start_egress(actor, launch_config(recipe, room_name), launch_token=launch_token)
