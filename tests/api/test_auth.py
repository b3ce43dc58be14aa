"""Who may call the API: a usable personal token and nothing else (no session, no CSRF);
each use recorded; rate limits per token; the schema and its docs served."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from egress_app import actions
from egress_app.models import ApiToken, EgressJob
from tests.api import Api, token_for

pytestmark = pytest.mark.django_db

# Every operation, with a body that would pass its schema.
CALLS = [
    ("get", "/jobs", None),
    ("get", "/jobs/1", None),
    ("get", "/rooms", None),
    ("post", "/jobs", {"config": {"kind": "web"}}),
    ("post", "/recipes/start", {"recipe_id": 1, "room_name": "town-hall"}),
    ("post", "/jobs/1/stop", {}),
    ("post", "/jobs/1/layout", {"layout": "grid"}),
    ("post", "/jobs/1/streams", {"destination_ids": [1]}),
    ("post", "/jobs/1/streams/remove", {"output": "destination:1"}),
]


def call(api: Api, method: str, path: str, body: object):
    return api.get(path) if method == "get" else api.post(path, body)


def expired(user) -> str:
    plaintext = token_for(user, "expired")
    ApiToken.objects.filter(name="expired").update(expires_at=timezone.now() - timedelta(1))
    return plaintext


def revoked(user) -> str:
    plaintext = token_for(user, "revoked")
    actions.revoke_token(user, ApiToken.objects.get(name="revoked"))
    return plaintext


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
@pytest.mark.parametrize("which", ["none", "bad", "expired", "revoked"])
def test_it_refuses_calls_without_a_usable_token(admin, method, path, body, which):
    token = {
        "none": lambda: None,
        "bad": lambda: "egd_000000000000_not-a-token",
        "expired": lambda: expired(admin),
        "revoked": lambda: revoked(admin),
    }[which]()
    response = call(Api(token), method, path, body)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert not EgressJob.objects.exists()


def test_a_signed_in_session_is_not_a_token(client, admin):
    client.force_login(admin)
    response = client.get("/api/jobs")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_it_refuses_people_without_a_role(outsider, method, path, body):
    response = call(Api(token_for(outsider)), method, path, body)
    assert response.status_code in (403, 404)  # 404: a recipe that does not exist, first
    assert "detail" in response.json()


def test_it_needs_no_csrf_token_and_records_the_use(producer):
    api = Api(token_for(producer))
    response = api.client.get("/api/jobs", headers=api.headers, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_from == "203.0.113.9"
    assert token.last_used_at is not None


def test_it_limits_calls_per_token(producer, support, settings):
    settings.API_RATE_LIMIT = "3/m"
    first, second = Api(token_for(producer)), Api(token_for(support))
    assert [first.get("/jobs").status_code for _ in range(3)] == [200] * 3
    refused = first.get("/jobs")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert second.get("/jobs").status_code == 200  # another token counts on its own


def test_it_serves_its_openapi_schema_and_docs_to_anyone(client):
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/rooms", "/api/recipes/start"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.content.decode()
    assert "cdn" not in docs.content.decode().lower()  # served from our own static files
