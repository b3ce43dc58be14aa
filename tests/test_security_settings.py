"""The production security settings: a Content-Security-Policy that allows only the dashboard's
own files, HTTPS only in production (redirect and HSTS), and one log line per request."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.django_db
def test_it_sends_a_policy_of_the_dashboards_own_files_only(client, producer):
    client.force_login(producer)

    policy = policy_of(client.get(reverse("dashboard-home")))

    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"  # the live websocket is same-origin
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert not [value for value in policy.values() if "unsafe" in value or "*" in value]


@pytest.mark.django_db
def test_it_sends_the_policy_on_the_sign_in_page_too(client):
    assert "script-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_it_keeps_every_template_free_of_inline_script_and_style(template):
    # What the policy would block in a browser: caught here, before a page breaks.
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script>"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html), "an inline style attribute"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert not re.search(r"\shx-on", html), "hx-on (evaluated by htmx)"
    assert not re.search(r"hx-trigger=\"[^\"]*\[", html), "an hx-trigger filter (evaluated)"
    assert "javascript:" not in html


def test_it_is_plain_http_in_development():
    assert django_settings.SECURE_SSL_REDIRECT is False
    assert django_settings.SECURE_HSTS_SECONDS == 0


def deploy_check(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": "a-real-production-secret-key-" + "x" * 40,
        "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "LIVEKIT_URL": "https://livekit.example.com",
        "LIVEKIT_API_KEY": "APIkey",
        "LIVEKIT_API_SECRET": "a-livekit-secret-of-32-characters",
        "PROMETHEUS_MULTIPROC_DIR": "/tmp",
        "AUDIO_INGEST_URL": "wss://dashboard.example.com",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_djangos_deploy_check_when_configured_as_the_readme_says():
    done = deploy_check(SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout, done.stderr


def test_it_leaves_only_the_site_owners_hsts_choices_to_the_deploy_check():
    done = deploy_check()
    found = set(re.findall(r"\((security\.\w+)\)", done.stdout + done.stderr))
    assert found == {"security.W005", "security.W021"}  # subdomains, the preload list


@pytest.mark.django_db
def test_it_logs_no_second_line_for_a_refused_request(client, outsider, caplog):
    client.force_login(outsider)
    caplog.set_level(logging.INFO)

    assert client.get(reverse("dashboard-storage-list")).status_code == 403
    assert client.get("/no-such-page/").status_code == 404

    assert not [record for record in caplog.records if record.name == "django.request"]
