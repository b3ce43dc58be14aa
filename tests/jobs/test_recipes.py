"""Recipes: saved launch configurations, and starting them in a room against the sandbox."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from egress_app import actions
from egress_app.actions.recipes import (
    ADHOC_NOT_KEPT,
    WEBSOCKET_NOT_KEPT,
    delete_recipe,
    duplicate_recipe,
    recipe_config,
    save_recipe,
    start_recipe,
)
from egress_app.models import AuditAction, AuditEntry, AuditTarget, EgressJob, LaunchState, Recipe
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import (
    ADHOC,
    ADHOC_KEY,
    STREAM_KEY,
    file_config,
    make_destination,
    make_profile,
    new_token,
    stream_config,
)

pytestmark = pytest.mark.django_db


def errors_of(caught: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return caught.value.message_dict


# --- saving -------------------------------------------------------------------------------------
def test_it_saves_a_recipe_without_its_room(producer, admin):
    profile = make_profile(admin)

    recipe = save_recipe(producer, name=" Webinar 1080p ", config=file_config(profile))

    assert (recipe.name, recipe.created_by) == ("Webinar 1080p", producer)
    assert "room_name" not in recipe.config
    assert recipe.config["kind"] == "room_composite"
    assert recipe.config["storage_profile_id"] == profile.pk
    assert recipe.config["outputs"]["file"]["filepath"] == "rec/{room_name}.mp4"


def test_it_drops_ad_hoc_stream_urls_and_keeps_destinations(producer):
    destination = make_destination(producer)
    config = stream_config(destination)
    config["outputs"]["stream"]["adhoc"] = [ADHOC]

    recipe = save_recipe(producer, name="YouTube live", config=config)

    stream = recipe.config["outputs"]["stream"]
    assert stream == {"destination_ids": [destination.pk], "adhoc": []}
    stored = json.dumps(Recipe.objects.values_list("config", flat=True).get())
    for secret in (ADHOC_KEY, STREAM_KEY, "live.example.com"):
        assert secret not in stored


def test_it_refuses_a_stream_of_ad_hoc_urls_only(producer):
    config = stream_config()
    config["outputs"]["stream"]["adhoc"] = [ADHOC]

    with pytest.raises(ValidationError) as caught:
        save_recipe(producer, name="Ad hoc", config=config)

    assert errors_of(caught) == {"outputs.stream": [ADHOC_NOT_KEPT]}
    assert not Recipe.objects.exists()


def test_it_never_keeps_a_websocket_address_which_may_carry_a_token(producer):
    url = "wss://transcribe.example.com/audio?token=SECRET-ws-token-123"
    config = {
        "kind": "track",
        "room_name": "town-hall",
        "track": {"track_id": "TR_audio", "websocket_url": url},
        "outputs": {},
    }

    with pytest.raises(ValidationError) as caught:
        save_recipe(producer, name="Transcribe", config=config)

    assert errors_of(caught) == {"track.websocket_url": [WEBSOCKET_NOT_KEPT]}
    assert not Recipe.objects.exists()
    assert "websocket_url" in recipe_config(config)["track"]
    assert recipe_config(config)["track"]["websocket_url"] == ""


def test_it_saves_a_web_recipe_without_a_room(producer, admin):
    config = {
        "kind": "web",
        "web": {"url": "https://example.com/show"},
        "outputs": {"file": {}},
        "storage_profile_id": make_profile(admin).pk,
    }

    recipe = save_recipe(producer, name="Web show", config=config)

    assert recipe.config["web"]["url"] == "https://example.com/show"


def test_it_reports_field_errors_and_writes_nothing(producer):
    config = {"kind": "room_composite", "outputs": {}, "encoding": {"preset": "NOPE"}}

    with pytest.raises(ValidationError) as caught:
        save_recipe(producer, name="", config=config)

    errors = errors_of(caught)
    assert errors["name"] == ["Name is required."]
    assert errors["encoding.preset"] == ["Choose one of LiveKit's presets."]
    assert errors["outputs"] == ["Choose at least one output."]
    assert "room_name" not in errors
    assert not Recipe.objects.exists()


def test_it_keeps_recipe_names_unique(producer):
    destination = make_destination(producer)
    save_recipe(producer, name="Live", config=stream_config(destination))

    with pytest.raises(ValidationError) as caught:
        save_recipe(producer, name="live", config=stream_config(destination))

    assert errors_of(caught) == {"name": ["There is already a recipe called live."]}
    assert Recipe.objects.count() == 1


def test_it_overwrites_a_recipe_in_place(producer, admin):
    destination = make_destination(producer)
    recipe = save_recipe(producer, name="Live", config=stream_config(destination))

    saved = save_recipe(admin, name="Live", config=file_config(make_profile(admin)), recipe=recipe)

    assert saved.pk == recipe.pk
    recipe.refresh_from_db()
    assert recipe.config["outputs"]["stream"] is None
    assert recipe.config["outputs"]["file"] is not None
    assert recipe.created_by == producer


# --- duplicating and deleting -------------------------------------------------------------------
def test_it_duplicates_a_recipe(producer, admin):
    recipe = save_recipe(producer, name="Live", config=stream_config(make_destination(producer)))

    copy = duplicate_recipe(admin, recipe, name=" Live 2 ")

    assert (copy.name, copy.config, copy.created_by) == ("Live 2", recipe.config, admin)
    with pytest.raises(ValidationError) as caught:
        duplicate_recipe(admin, recipe, name="LIVE")
    assert list(errors_of(caught)) == ["name"]
    assert Recipe.objects.count() == 2


def test_it_deletes_a_recipe(producer):
    recipe = save_recipe(producer, name="Live", config=stream_config(make_destination(producer)))

    delete_recipe(producer, recipe)

    assert not Recipe.objects.exists()


def test_it_records_who_created_changed_copied_and_deleted_a_recipe(producer, admin):
    destination = make_destination(producer)
    recipe = save_recipe(producer, name="Live", config=stream_config(destination))
    save_recipe(admin, name="Live HD", config=stream_config(destination), recipe=recipe)
    save_recipe(admin, name="Live HD", config=stream_config(destination), recipe=recipe)  # same
    copy = duplicate_recipe(admin, recipe, name="Live 2")

    delete_recipe(admin, recipe)

    entries = AuditEntry.objects.filter(target_type=AuditTarget.RECIPE).order_by("at", "pk")
    assert list(entries.values_list("actor_name", "action", "target_id", "changed_fields")) == [
        ("pat-producer", AuditAction.CREATED, recipe.pk, ["name", "config"]),
        ("ada-admin", AuditAction.CHANGED, recipe.pk, ["name"]),
        ("ada-admin", AuditAction.DUPLICATED, copy.pk, []),
        ("ada-admin", AuditAction.DELETED, recipe.pk, []),
    ]
    assert entries.last().target_name == "Live HD"


# --- starting -----------------------------------------------------------------------------------
def test_it_starts_a_recipe_in_the_chosen_room(producer, admin, sandbox: RunningSandbox):
    recipe = save_recipe(admin, name="Webinar", config=file_config(make_profile(admin)))

    job = start_recipe(producer, recipe, room_name="town-hall", launch_token=new_token())

    assert job.launch_state == LaunchState.LAUNCHED
    assert (job.room_name, job.started_by, job.kind) == ("town-hall", producer, "room_composite")
    assert job.config["outputs"] == recipe.config["outputs"]
    assert job.egress_id
    started = sandbox.control.egress(job.egress_id)
    assert started.room_name == "town-hall"
    assert started.room_composite.layout == "grid"


def test_it_starts_once_per_launch_token(producer, admin, sandbox: RunningSandbox):
    recipe = save_recipe(admin, name="Webinar", config=file_config(make_profile(admin)))
    token = new_token()

    first = start_recipe(producer, recipe, room_name="town-hall", launch_token=token)
    again = start_recipe(producer, recipe, room_name="town-hall", launch_token=token)

    assert first.pk == again.pk
    assert len(sandbox.control.egresses()) == 1


def test_it_asks_for_a_room(producer, admin, sandbox: RunningSandbox):
    recipe = save_recipe(admin, name="Webinar", config=file_config(make_profile(admin)))

    with pytest.raises(ValidationError) as caught:
        start_recipe(producer, recipe, room_name=" ", launch_token=new_token())

    assert errors_of(caught) == {"room_name": ["Choose a room."]}
    assert not EgressJob.objects.exists()


def test_it_keeps_the_job_livekit_refused(producer, sandbox: RunningSandbox):
    sandbox.control.add_room("no-workers-studio")
    recipe = save_recipe(producer, name="Live", config=stream_config(make_destination(producer)))

    with pytest.raises(actions.LaunchError) as caught:
        start_recipe(producer, recipe, room_name="no-workers-studio", launch_token=new_token())

    job = EgressJob.objects.get()
    assert caught.value.job.pk == job.pk
    assert job.launch_state == LaunchState.REFUSED
    assert job.room_name == "no-workers-studio"
    assert "no egress worker accepted the job" in job.error.lower()
