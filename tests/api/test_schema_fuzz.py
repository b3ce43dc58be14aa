"""The OpenAPI schema fuzzed with schemathesis against the app in-process (WSGI), with a real
admin token and the sandbox behind it: no answer is a 500, none breaks the schema (status
codes, content types, bodies). Bounded (FUZZ_EXAMPLES per operation) to stay under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api import bearer, token_for
from tests.jobs import file_config, make_destination, make_profile, start

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app():
    """Django's WSGI app that keeps the test's database connection between requests (as the
    test client does): closing it would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_it_answers_fuzzed_requests_within_its_schema(admin, sandbox, wsgi_app, django_settings):
    django_settings.API_RATE_LIMIT = "100000/m"
    make_destination(admin)
    start(admin, file_config(make_profile(admin)))  # a job, a profile, a destination to find
    headers = bearer(token_for(admin))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        fuzz()


@pytest.fixture
def django_settings(settings):
    return settings
