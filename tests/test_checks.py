from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks

from dashboard.settings import DEFAULT_SECRET_KEY, env_bool, env_float, env_int, env_list

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS_LAYER = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}


def ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=False) if message.id}


@pytest.fixture
def production(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings.ENVIRONMENT = "production"
    settings.DEBUG = False
    settings.SECRET_KEY = "a-real-production-secret-key-of-some-length-1234567890"
    settings.CHANNEL_LAYERS = REDIS_LAYER
    settings.LIVEKIT_SANDBOX = False
    settings.LIVEKIT_API_KEY = "APIkey"
    settings.LIVEKIT_API_SECRET = "secret"
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return settings


def test_it_passes_a_sane_production_configuration(production):
    found = ids()
    assert not {i for i in found if i.startswith("egress_app.E")}
    assert "egress_app.W003" not in found


def test_it_refuses_debug_in_production(production):
    production.DEBUG = True
    assert "egress_app.E001" in ids()


def test_it_refuses_the_in_memory_layer_in_production(production):
    production.CHANNEL_LAYERS = MEMORY_LAYER
    assert "egress_app.E002" in ids()


def test_it_refuses_the_default_secret_key_outside_debug(production):
    production.SECRET_KEY = DEFAULT_SECRET_KEY
    assert "egress_app.E003" in ids()


def test_it_accepts_the_default_secret_key_in_development(settings):
    settings.DEBUG = True
    assert "egress_app.E003" not in ids()


@pytest.mark.parametrize(("key", "secret"), [("APIkey", ""), ("", "secret")])
def test_it_refuses_a_key_without_its_secret(production, key, secret):
    production.LIVEKIT_API_KEY = key
    production.LIVEKIT_API_SECRET = secret
    assert "egress_app.E004" in ids()


def test_it_refuses_a_livekit_url_without_credentials(production):
    production.LIVEKIT_API_KEY = production.LIVEKIT_API_SECRET = ""
    assert "egress_app.E005" in ids()


def test_it_refuses_production_without_encryption_keys(production):
    production.SECRETS_ENCRYPTION_KEYS = []
    assert "egress_app.E006" in ids()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_it_warns_about_sqlite_and_the_sandbox_in_production(production):
    production.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    production.LIVEKIT_SANDBOX = True
    assert {"egress_app.W001", "egress_app.W002"} <= ids()


@pytest.mark.parametrize("value", [None, ""])
def test_it_warns_about_production_metrics_without_a_shared_directory(
    production, monkeypatch, value
):
    if value is None:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    else:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", value)
    assert "egress_app.W003" in ids()


def test_it_leaves_metrics_alone_outside_production(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert "egress_app.W003" not in ids()


def test_it_reads_typed_env_vars(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_FLOAT", "2.5")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True
    assert env_bool("X_MISSING", True) is True
    assert env_int("X_INT", 0) == 42
    assert env_float("X_FLOAT", 0.0) == 2.5
    assert env_list("X_LIST") == ["a", "b", "c"]


def test_it_refuses_an_unknown_egress_api(settings):
    settings.LIVEKIT_EGRESS_API = "v3"
    assert "egress_app.E008" in ids()


@pytest.mark.parametrize(("limit", "refused"), [(0, True), (-5, True), (200_000, True), (1, False)])
def test_it_refuses_a_recording_limit_no_wav_file_fits(settings, limit, refused):
    settings.AUDIO_RECORDING_MAX_SECONDS = limit
    assert ("egress_app.E010" in ids()) is refused


@pytest.mark.parametrize(
    ("site_root", "is_set", "sandbox", "refused"),
    [
        ("https://dashboard.example.com", True, False, False),
        ("http://127.0.0.1:8000", False, False, True),  # the default, with a real LiveKit
        ("http://127.0.0.1:8000", False, True, False),  # the default, beside the sandbox
        ("dashboard.example.com", True, False, True),  # no scheme
        ("ftp://dashboard.example.com", True, False, True),
    ],
)
def test_it_refuses_request_webhooks_without_the_dashboards_address(
    settings, site_root, is_set, sandbox, refused
):
    settings.LIVEKIT_REQUEST_WEBHOOKS = True
    settings.SITE_ROOT, settings.SITE_ROOT_SET = site_root, is_set
    settings.LIVEKIT_SANDBOX = sandbox
    assert ("egress_app.E011" in ids()) is refused


def test_it_ignores_the_address_while_request_webhooks_are_off(settings):
    settings.LIVEKIT_REQUEST_WEBHOOKS = False
    settings.SITE_ROOT, settings.SITE_ROOT_SET, settings.LIVEKIT_SANDBOX = "", False, False
    assert "egress_app.E011" not in ids()


@pytest.mark.parametrize(
    ("rate", "refused"),
    [("120/m", False), ("5000/hour", False), ("abc", True), ("0/m", True), ("10/w", True)],
)
def test_it_refuses_an_api_rate_limit_that_does_not_read(settings, rate, refused):
    settings.API_RATE_LIMIT = rate
    assert ("egress_app.E012" in ids()) is refused


@pytest.mark.parametrize(("grace", "warned"), [(120.0, False), (5.0, True), (2.0, True)])
def test_it_warns_of_a_schedule_grace_within_the_worker_interval(settings, grace, warned):
    settings.EGRESS_WORKER_INTERVAL = 5.0
    settings.EGRESS_SCHEDULE_GRACE_SECONDS = grace
    assert ("egress_app.W004" in ids()) is warned


@pytest.mark.parametrize(
    ("seconds", "error", "warning"),
    [(2, False, False), (0, False, False), (-1, True, False), (5, False, True)],
)
def test_it_checks_the_live_cache_seconds(settings, seconds, error, warning):
    settings.LIVE_CACHE_SECONDS = seconds
    assert ("egress_app.E013" in ids()) is error
    assert ("egress_app.W005" in ids()) is warning
