"""Starting egress through the API, for real through the sandbox: the Launch form's rules and
messages (with field paths), idempotency keys, LiveKit's refusals, recipes, roles, audit."""

from __future__ import annotations

import pytest

from egress_app import actions
from egress_app.launch.validation import validate_launch_config
from egress_app.models import AuditEntry, EgressJob, LaunchState
from egress_app.roles import PRODUCERS
from tests.api import Api, token_for
from tests.conftest import make_user
from tests.jobs import file_config, make_profile

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_starts_a_full_configuration_in_the_sandbox(request, admin, sandbox, persona):
    user = request.getfixturevalue(persona)
    config = file_config(make_profile(admin))
    response = Api(token_for(user, "nightly")).post("/jobs", {"config": config})
    assert response.status_code == 201, response.json()
    body = response.json()
    job = EgressJob.objects.get(pk=body["id"])
    assert body["egress_id"] == job.egress_id
    assert sandbox.control.egress(job.egress_id).room_name == "town-hall"
    assert body["started_by"] == user.username
    assert body["url"].endswith(f"/jobs/{job.pk}/")
    entry = AuditEntry.objects.get(action="started")
    assert (entry.actor_name, entry.via) == (user.username, "API token nightly")


@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_refuses_a_start_to_roles_that_may_not_launch(request, admin, sandbox, persona):
    config = file_config(make_profile(admin))
    response = Api(token_for(request.getfixturevalue(persona))).post("/jobs", {"config": config})
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role may not launch egress."
    assert not EgressJob.objects.exists()


def test_it_answers_the_launch_forms_messages_by_field_path(producer, admin):
    config = file_config(make_profile(admin), room="")
    config["outputs"]["file"]["filepath"] = "../escape.mp4"
    config["encoding"] = {"preset": "NOT_A_PRESET"}
    response = Api(token_for(producer)).post("/jobs", {"config": config})
    assert response.status_code == 400
    expected = validate_launch_config(config)  # what the Launch form shows, field by field
    assert len(expected) >= 2
    assert response.json()["errors"] == {f"config.{path}": text for path, text in expected.items()}
    assert not EgressJob.objects.exists()


def test_it_answers_a_body_that_breaks_the_schema_with_field_paths(producer):
    response = Api(token_for(producer)).post("/jobs", {"config": "nope", "adhoc_urls": 3})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"body.body.config", "body.body.adhoc_urls"}


def test_the_same_idempotency_key_returns_the_same_job(producer, admin, sandbox):
    api = Api(token_for(producer))
    config = file_config(make_profile(admin))
    first = api.post("/jobs", {"config": config}, **{"Idempotency-Key": "deploy-42"})
    again = api.post("/jobs", {"config": config}, **{"Idempotency-Key": "deploy-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(sandbox.control.egresses()) == 1
    other = Api(token_for(make_user("pia-producer", PRODUCERS)))
    theirs = other.post("/jobs", {"config": config}, **{"Idempotency-Key": "deploy-42"})
    assert theirs.status_code == 201  # a key is the user's own
    assert theirs.json()["id"] != first.json()["id"]


def test_it_refuses_an_unreadable_idempotency_key(producer, admin):
    config = file_config(make_profile(admin))
    response = Api(token_for(producer)).post(
        "/jobs", {"config": config}, **{"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_it_says_livekits_refusal_in_plain_words_with_its_twirp_code(producer, admin, sandbox):
    config = file_config(make_profile(admin), room="no-such-room")
    response = Api(token_for(producer)).post("/jobs", {"config": config})
    assert response.status_code == 409
    body = response.json()
    job = EgressJob.objects.get(pk=body["job_id"])
    assert job.launch_state == LaunchState.REFUSED
    assert body["detail"] == job.error
    assert "no-such-room" in body["detail"]
    assert body["twirp_code"] == "not_found"


def test_it_starts_a_recipe_in_a_room(producer, admin, sandbox):
    recipe = actions.save_recipe(admin, name="Town hall", config=file_config(make_profile(admin)))
    api = Api(token_for(producer))
    response = api.post("/recipes/start", {"recipe_id": recipe.pk, "room_name": "town-hall"})
    assert response.status_code == 201, response.json()
    assert sandbox.control.egress(response.json()["egress_id"]).room_name == "town-hall"
    missing = api.post("/recipes/start", {"recipe_id": recipe.pk + 1, "room_name": "town-hall"})
    assert missing.status_code == 404
    no_room = api.post("/recipes/start", {"recipe_id": recipe.pk, "room_name": ""})
    assert no_room.status_code == 400
    assert "room_name" in no_room.json()["errors"]


def test_it_refuses_support_a_recipe(support, admin, sandbox):
    recipe = actions.save_recipe(admin, name="Town hall", config=file_config(make_profile(admin)))
    response = Api(token_for(support)).post(
        "/recipes/start", {"recipe_id": recipe.pk, "room_name": "town-hall"}
    )
    assert response.status_code == 403
    assert not EgressJob.objects.exists()


def test_an_admin_starts_a_recipe_once_per_idempotency_key(admin, sandbox):
    recipe = actions.save_recipe(admin, name="Town hall", config=file_config(make_profile(admin)))
    api = Api(token_for(admin))
    body = {"recipe_id": recipe.pk, "room_name": "town-hall"}
    first = api.post("/recipes/start", body, **{"Idempotency-Key": "weekly"})
    again = api.post("/recipes/start", body, **{"Idempotency-Key": "weekly"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(sandbox.control.egresses()) == 1
