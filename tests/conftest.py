"""Shared fixtures: one LiveKit sandbox for the whole session, reset before each test using it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from egress_app.sandbox.config import Pacing
from egress_app.sandbox.testing import RunningSandbox, fast_config, running_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with running_sandbox(fast_config()) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox, settings: Settings) -> RunningSandbox:
    """The session's sandbox, back to the demo fixture, no egresses, no webhook URLs, fast pacing.

    Django's LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET point at it for the test.
    """
    sandbox_server.control.reset(fixture="demo", pacing=Pacing.fast(), webhook_urls=[])
    settings.LIVEKIT_URL = sandbox_server.url
    settings.LIVEKIT_API_KEY = sandbox_server.api_key
    settings.LIVEKIT_API_SECRET = sandbox_server.api_secret
    return sandbox_server


def pytest_configure(config: pytest.Config) -> None:
    # "secret" is LiveKit's well-known dev secret, shorter than PyJWT's recommended HMAC key.
    config.addinivalue_line("filterwarnings", "ignore::jwt.warnings.InsecureKeyLengthWarning")
