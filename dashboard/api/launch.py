"""Starting egress through the API (on the jobs router: POST /jobs beside GET /jobs): a
recipe in a room, or a full launch configuration. The rules and their messages are the Launch
form's: both go through `actions.start_egress` (`validate_launch_config`), with the config's
field paths prefixed `config.`.

`Idempotency-Key` maps to the launch token the forms carry against double submits: the same
key (for the same user) returns the same job, without asking LiveKit again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Header, Status

from dashboard.api import schemas
from dashboard.api.auth import token_of, via
from dashboard.api.errors import ERRORS, prefixed, refusal
from dashboard.api.jobs import job_out, router
from egress_app import actions
from egress_app.actions.egress import launched_with
from egress_app.models import EgressJob, Recipe
from egress_app.roles import LAUNCH_EGRESS, perm

KEY_LENGTH = 255
# Launch tokens of API keys: a UUID of the user and the key, so one user's key never finds
# another's job.
KEYS = uuid.UUID("7c4d3f7e-2f0a-4b8e-9a57-3d1f0c5e8b21")
CANNOT_LAUNCH = "Your role may not launch egress."
STARTED = {201: schemas.Job, 200: schemas.Job, **dict.fromkeys(ERRORS, schemas.Problem)}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def launch_token(request: HttpRequest, key: str | None) -> uuid.UUID:
    """The launch token of `Idempotency-Key` (a fresh one without)."""
    if key is None:
        return uuid.uuid4()
    if not 0 < len(key) <= KEY_LENGTH or not key.isprintable():
        message = f"Give an Idempotency-Key of 1 to {KEY_LENGTH} printable characters."
        raise ValidationError({"Idempotency-Key": message})
    return uuid.uuid5(KEYS, f"{token_of(request).user_id}:{key}")


def _start(
    request: HttpRequest, key: str | None, start: Callable[[uuid.UUID], EgressJob], prefix: str
) -> Status[dict[str, Any]]:
    if not request.user.has_perm(perm(LAUNCH_EGRESS)):
        raise PermissionDenied(CANNOT_LAUNCH)
    token = launch_token(request, key)
    if (job := launched_with(token)) is not None:
        return Status(200, job_out(request, job))
    try:
        with actions.acting_via(via(request)):
            job = start(token)
    except ValidationError as error:
        raise prefixed(error, prefix) from None
    except actions.LaunchError as error:
        return Status(409, refusal(error.job, error.message))
    return Status(201, job_out(request, job))


@router.post("/jobs", response=STARTED, tags=["launch"])
def start_config(
    request: HttpRequest,
    body: schemas.StartConfig,
    idempotency_key: IdempotencyKey = None,
) -> Status[dict[str, Any]]:
    """Start an egress from a full launch configuration (what the Launch form posts)."""

    def start(token: uuid.UUID) -> EgressJob:
        return actions.start_egress(
            request.user, body.config, launch_token=token, adhoc_urls=body.adhoc_urls
        )

    return _start(request, idempotency_key, start, "config.")


@router.post("/recipes/start", response=STARTED, tags=["launch"])
def start_recipe(
    request: HttpRequest,
    body: schemas.StartRecipe,
    idempotency_key: IdempotencyKey = None,
) -> Status[dict[str, Any]]:
    """Start a saved recipe in a room."""
    if not request.user.has_perm(perm(LAUNCH_EGRESS)):
        raise PermissionDenied(CANNOT_LAUNCH)
    recipe = get_object_or_404(Recipe, pk=body.recipe_id)

    def start(token: uuid.UUID) -> EgressJob:
        return actions.start_recipe(
            request.user, recipe, room_name=body.room_name, launch_token=token
        )

    return _start(request, idempotency_key, start, "")
