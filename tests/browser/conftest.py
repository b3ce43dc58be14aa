"""Playwright journeys against the dashboard served by pytest-django's live_server.

Playwright's sync API keeps an asyncio loop running on this thread while a browser is open, and
Django refuses ORM calls from a thread with a running loop. Rather than switching that safety off
(DJANGO_ALLOW_ASYNC_UNSAFE), every database write happens before the browser starts, and the
browser closes before pytest-django flushes the database: the `page` fixture depends on the
database fixtures, so it is set up after them and torn down before them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, sync_playwright

from egress_app.management.commands.seed_demo import seed_demo_users

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


@pytest.fixture
def demo_users(transactional_db, django_db_serialized_rollback) -> list[User]:
    # live_server needs real transactions, so each test ends with a flush that would also wipe
    # the roles migration 0002 created; serialized rollback puts them back for the next test.
    # The same helper as `manage.py seed_demo`, without its development-only guard.
    return seed_demo_users()


@pytest.fixture
def page(live_server, sandbox, demo_users) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()
