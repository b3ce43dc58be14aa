"""Recipes, for producers and admins: saved launches started in a room with one click."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.overview import live_room_names
from dashboard.views.common import duplicate_page
from egress_app import actions
from egress_app.actions import recipes as recipe_actions
from egress_app.launch.stop_after import clock
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import EgressKind, Recipe, StorageProfile, StreamDestination
from egress_app.roles import LAUNCH_EGRESS, perm

can_launch = permission_required(perm(LAUNCH_EGRESS), raise_exception=True)

LIST = "dashboard-recipe-list"


@dataclass
class RecipeRow:
    recipe: Recipe
    summary: str
    # A fresh token per page load: a double click starts one egress, a reload a new one.
    launch_token: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def edit_url(self) -> str:
        return edit_url(self.recipe)


def edit_url(recipe: Recipe) -> str:
    """Recipes are edited on the launch form, which saves them back."""
    return f"{reverse('dashboard-launch')}?recipe={recipe.pk}"


def _get_recipe(pk: int) -> Recipe:
    # The permission decorator already let only launchers in; recipes are shared among them.
    return get_object_or_404(Recipe, pk=pk)


def _ids(configs: Iterable[Mapping[str, Any]]) -> tuple[set[int], set[int]]:
    profiles, destinations = set(), set()
    for config in configs:
        if isinstance(config.get("storage_profile_id"), int):
            profiles.add(config["storage_profile_id"])
        stream = (config.get("outputs") or {}).get("stream") or {}
        destinations |= {pk for pk in stream.get("destination_ids") or [] if isinstance(pk, int)}
    return profiles, destinations


def _outputs(config: Mapping[str, Any], profiles: dict[int, str], dests: dict[int, str]) -> str:
    outputs = config.get("outputs") or {}
    parts = []
    if (file := outputs.get("file")) is not None:
        file_type = file.get("file_type", "DEFAULT_FILETYPE")
        parts.append("file" if file_type == "DEFAULT_FILETYPE" else f"{file_type} file")
    if (stream := outputs.get("stream")) is not None:
        names = [dests.get(pk, "a deleted destination") for pk in stream["destination_ids"]]
        parts.append(f"stream to {', '.join(names)}")
    if outputs.get("segments") is not None:
        parts.append("HLS segments")
    if outputs.get("images") is not None:
        parts.append("snapshots")
    if any(outputs.get(name) is not None for name in ("file", "segments", "images")):
        parts[-1] += f" to {_storage(config, profiles)}"
    return ", ".join(parts)


def _storage(config: Mapping[str, Any], profiles: dict[int, str]) -> str:
    if config.get("server_storage"):
        return "LiveKit's own storage"
    pk = config.get("storage_profile_id")
    if pk is None:
        return "the default storage profile"
    return profiles.get(pk, "a deleted storage profile")


def summary(config: Mapping[str, Any], profiles: dict[int, str], dests: dict[int, str]) -> str:
    """One line: kind, API, encoding and outputs with their profile and destination names."""
    encoding = config.get("encoding") or {}
    preset = encoding.get("preset") or ("custom encoding" if encoding else "as published")
    name = str(config.get("kind", ""))
    kind = EgressKind(name).label if name in EgressKind.values else name
    if (config.get(config.get("kind", "")) or {}).get("audio_only"):
        kind += ", audio only"
    api = str(config.get("api", "v1"))
    parts = [kind, f"{api} API", preset, _outputs(config, profiles, dests)]
    if isinstance(stop := config.get("stop_after"), int):
        parts.append(f"stops after {clock(stop)}")
    return " · ".join(parts)


def _rows() -> list[RecipeRow]:
    recipes = list(Recipe.objects.all())
    profile_ids, destination_ids = _ids(recipe.config for recipe in recipes)
    profiles = dict(StorageProfile.objects.filter(pk__in=profile_ids).values_list("pk", "name"))
    dests = dict(StreamDestination.objects.filter(pk__in=destination_ids).values_list("pk", "name"))
    return [RecipeRow(recipe, summary(recipe.config, profiles, dests)) for recipe in recipes]


@can_launch
@require_GET
def recipe_list(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/recipe_list.html", {"rows": _rows()})


@can_launch
@require_GET
async def recipe_rooms(request: HttpRequest) -> HttpResponse:
    """The live rooms, swapped into every recipe's room select (one LiveKit call per page)."""
    try:
        rooms = await live_room_names(get_livekit_client())
    except LiveKitError as error:
        context: dict[str, Any] = {"rooms": [], "error": error}
    else:
        context = {"rooms": rooms, "error": None}
    return render(request, "dashboard/recipe_list.html#rooms", context)


@can_launch
@require_POST
def recipe_start(request: HttpRequest, pk: int) -> HttpResponse:
    recipe = _get_recipe(pk)
    room_name = request.POST.get("room_name", "")
    token = request.POST.get("launch_token", "")
    try:
        job = recipe_actions.start_recipe(
            request.user, recipe, room_name=room_name, launch_token=token
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, f"{recipe.name} was not started: {message}")
        return redirect(LIST)
    except actions.LaunchError as error:
        job = error.job
    return redirect(reverse("dashboard-job-detail", args=[job.pk]))


@can_launch
def recipe_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    return duplicate_page(
        request,
        _get_recipe(pk),
        duplicate=recipe_actions.duplicate_recipe,
        kind="recipe",
        cancel=LIST,
        edit=edit_url,
    )


@can_launch
def recipe_delete(request: HttpRequest, pk: int) -> HttpResponse:
    recipe = _get_recipe(pk)
    context: dict[str, Any] = {"target": recipe, "kind": "recipe", "cancel": LIST}
    if request.method == "POST":
        try:
            recipe_actions.delete_recipe(request.user, recipe)
        except actions.InUseError as error:
            return render(
                request, "dashboard/recipe_delete.html", context | {"refused": error}, status=409
            )
        messages.success(request, f"Deleted the recipe {recipe.name}.")
        return redirect(LIST)
    return render(request, "dashboard/recipe_delete.html", context)
