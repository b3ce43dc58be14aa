"""Recipes: saved launch configurations, started in a room chosen at launch time.

A recipe keeps a LaunchConfig without its room, without ad-hoc stream URLs and without a track's
WebSocket address: those carry stream keys or tokens and are never saved (stream destinations,
by id, are). Bad input raises
`ValidationError({field: message})` before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from egress_app import names
from egress_app.actions.egress import start_egress
from egress_app.actions.vault import (
    Actor,
    Errors,
    InUseError,
    _value_changes,
    actor_id,
    audit,
    name_errors,
)
from egress_app.launch.config import GivenConfig
from egress_app.launch.normalize import normalize_launch_config
from egress_app.launch.validation import validate_launch_config
from egress_app.models import AuditAction, EgressJob, Recipe

# Stands in for the room the recipe will be started in, so that the room rule passes.
PLACEHOLDER_ROOM = "recipe-room"
ADHOC_NOT_KEPT = (
    "Recipes keep saved stream destinations only: ad-hoc stream URLs hold stream keys and are "
    "never saved. Add the URL as a stream destination, then choose it."
)
WEBSOCKET_NOT_KEPT = (
    "Recipes never keep a WebSocket address: it may carry a token. Record the track to a file, "
    "or start it from the launch form."
)


def recipe_config(config: GivenConfig) -> dict[str, Any]:
    """`config` normalized, without its room, ad-hoc stream URLs or WebSocket address."""
    clean = normalize_launch_config(config)
    stream = clean["outputs"]["stream"]
    if stream is not None:
        stream["adhoc"] = []
    if track := clean.get("track"):
        track["websocket_url"] = ""
    kept: dict[str, Any] = dict(clean)  # no longer a LaunchConfig: it has no room
    kept.pop("room_name", None)
    return kept


def launch_config(recipe: Recipe, room_name: str) -> GivenConfig:
    """The recipe's configuration for a launch in `room_name` (web egress takes no room)."""
    config: dict[str, Any] = dict(recipe.config)
    config["room_name"] = "" if config.get("kind") == "web" else room_name.strip()
    return config


def _config_errors(given: GivenConfig, clean: GivenConfig, *, had_adhoc: bool) -> Errors:
    placed = dict(clean, room_name="" if clean["kind"] == "web" else PLACEHOLDER_ROOM)
    errors = validate_launch_config(placed)
    stream = clean["outputs"]["stream"]
    if had_adhoc and stream is not None and not stream["destination_ids"]:
        errors["outputs.stream"] = ADHOC_NOT_KEPT
    track = given.get("track") if clean["kind"] == "track" else None
    if isinstance(track, dict) and track.get("websocket_url") and "outputs" in errors:
        del errors["outputs"]  # "choose a file or a WebSocket": the address was given, not kept
        errors["track.websocket_url"] = WEBSOCKET_NOT_KEPT
    return errors


def _given_adhoc(config: GivenConfig) -> bool:
    stream = (config.get("outputs") or {}).get("stream") if isinstance(config, dict) else None
    return isinstance(stream, dict) and bool(stream.get("adhoc"))


@transaction.atomic
def save_recipe(
    actor: Actor,
    *,
    name: str,
    config: GivenConfig,
    recipe: Recipe | None = None,
    adhoc_urls: Sequence[str] = (),
) -> Recipe:
    """Create a recipe, or overwrite `recipe`, from a launch configuration.

    The room, ad-hoc stream URLs (`adhoc_urls`, or in the config) and a WebSocket address are
    dropped; the rest must be a configuration LiveKit would accept in some room. Errors are
    keyed "name" or by the configuration's field path.
    """
    name = names.clean(name)
    clean = recipe_config(config)
    had_adhoc = any(url.strip() for url in adhoc_urls) or _given_adhoc(config)
    errors = name_errors(Recipe, name, pk=recipe.pk if recipe else None) | _config_errors(
        config, clean, had_adhoc=had_adhoc
    )
    if errors:
        raise ValidationError(errors)
    if recipe is None:
        recipe = Recipe.objects.create(name=name, config=clean, created_by_id=actor_id(actor))
        audit(actor, AuditAction.CREATED, recipe, changed=["name", "config"])
        return recipe
    recipe = Recipe.objects.select_for_update().get(pk=recipe.pk)
    changed = _value_changes({"name": (recipe.name, name), "config": (recipe.config, clean)})
    recipe.name, recipe.config = name, clean
    recipe.save()
    if changed:
        audit(actor, AuditAction.CHANGED, recipe, changed=changed)
    return recipe


@transaction.atomic
def duplicate_recipe(actor: Actor, recipe: Recipe, *, name: str) -> Recipe:
    """A copy under a new name, created by `actor`."""
    name = names.clean(name)
    if errors := name_errors(Recipe, name):
        raise ValidationError(errors)
    copy = Recipe.objects.create(name=name, config=recipe.config, created_by_id=actor_id(actor))
    audit(actor, AuditAction.DUPLICATED, copy, outcome=f"copy of {recipe.name}")
    return copy


@transaction.atomic
def delete_recipe(actor: Actor, recipe: Recipe) -> None:
    """Delete; jobs started from the recipe keep their own copy of the configuration.
    InUseError while a room rule starts it."""
    current = Recipe.objects.select_for_update().filter(pk=recipe.pk).first()
    if current is None:  # deleted meanwhile
        return
    if patterns := list(current.room_rules.values_list("pattern", flat=True)):
        raise InUseError(
            f"The recipe “{current.name}” cannot be deleted while room rules start it "
            f"({', '.join(patterns)}). Change or delete those rules first."
        )
    audit(actor, AuditAction.DELETED, current)
    current.delete()


def start_recipe(
    actor: Actor, recipe: Recipe, *, room_name: str, launch_token: str | uuid.UUID
) -> EgressJob:
    """Start the recipe in `room_name`, once per `launch_token` (see `start_egress`).

    ValidationError when the configuration no longer holds (a deleted destination, no room);
    LaunchError, with the job kept, when LiveKit refuses.
    """
    return start_egress(actor, launch_config(recipe, room_name), launch_token=launch_token)
