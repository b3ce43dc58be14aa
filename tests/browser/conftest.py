"""Playwright journeys against the dashboard served over ASGI, websockets included.

`asgi_server` runs `dashboard.asgi.application` (static files served by Django's
`ASGIStaticFilesHandler`) with uvicorn in a background thread of the test process, on a free
127.0.0.1 port, against the test database. The `browser` fixture (under `page`, and `new_page`
for a second person with their own cookies) points the sandbox's webhooks at that server's
`/livekit/webhook`, so egresses move on as they do with a real LiveKit: the sandbox sends
`egress_started`, `egress_updated` and `egress_ended`, the dashboard applies them and pushes the
change to every open page over its websocket.

How the server runs in a thread of the test process, on the test database, is in
tests/threaded_server.py.

Playwright's sync API keeps an asyncio loop running on this thread while a browser is open, and
Django refuses ORM calls from a thread with a running loop. Rather than switching that safety off
(DJANGO_ALLOW_ASYNC_UNSAFE), a test writes to the database before the browser starts or through
the browser (the server); the browser closes before pytest-django flushes the database: these
fixtures depend on the database fixtures, so they are set up after them and torn down before
them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.fixtures import Settings

from egress_app.management.commands.seed_demo import seed_demo_users
from egress_app.sandbox.testing import RunningSandbox
from tests.browser.every_page import Shown, seed_every_page
from tests.emulators import MotoS3, moto_checks_signatures
from tests.threaded_server import HOST, asgi_application, serving_in_a_thread

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class AsgiServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash


@pytest.fixture
def demo_users(transactional_db: None, django_db_serialized_rollback: None) -> list[User]:
    # The server sees only committed rows, so each test ends with a flush that would also wipe
    # the roles migration 0002 created; serialized rollback puts them back for the next test.
    # The same helper as `manage.py seed_demo`, without its development-only guard.
    return seed_demo_users()


@pytest.fixture
def asgi_server(transactional_db: None, settings: Settings) -> Iterator[AsgiServer]:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST, "localhost"]

    def let_its_pages_in(port: int) -> None:
        settings.WEBSOCKET_ALLOWED_ORIGINS = [f"http://{HOST}:{port}"]

    app = ASGIStaticFilesHandler(asgi_application())
    with serving_in_a_thread(
        app, name="asgi-test-server", on_port=let_its_pages_in, ws="websockets-sansio"
    ) as server:
        yield AsgiServer(url=server.url)


@pytest.fixture
def browser(
    asgi_server: AsgiServer, sandbox: RunningSandbox, demo_users: list[User]
) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    # The sandbox reports every egress change to the dashboard, as a real LiveKit would.
    sandbox.control.set_webhook_urls([f"{asgi_server.url}/livekit/webhook"])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        sandbox.control.set_webhook_urls([])


@pytest.fixture
def new_page(browser: Browser, asgi_server: AsgiServer) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser context (its own cookies: another person), with any
    of Playwright's context options (a locale, a time zone)."""
    contexts = []

    def open_page(**options: Any) -> Page:
        context = browser.new_context(
            base_url=asgi_server.url, viewport={"width": 1280, "height": 800}, **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture
def every_page(demo_users: list[User], sandbox: RunningSandbox) -> list[Shown]:
    """Demo data in every list and every page that shows it (written before the browser
    starts: list this fixture before `page` or `new_page`)."""
    return seed_every_page(demo_users, sandbox)


@pytest.fixture
def moto_open(moto_s3: MotoS3) -> Iterator[None]:
    """moto answers presigned GETs only with its IAM check off: it cannot check their signatures
    (tests/storage/test_objects.py does), so a browser playing through them needs it off."""
    with moto_checks_signatures(moto_s3, False):
        yield
