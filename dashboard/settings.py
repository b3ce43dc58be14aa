"""Settings for the Egress Dashboard.

Every value comes from an environment variable through the small typed helpers below, with
a safe development default. Each variable is listed in the README's configuration table.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

BASE_DIR = Path(__file__).resolve().parent.parent

# Refused outside DEBUG by the system check egress_app.E003.
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_seconds(name: str, default: float | None) -> float | None:
    """Seconds, or None when the variable is set but empty (no limit)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return float(value) if value.strip() else None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# "development" (the default) or "production"; production turns on the strict system checks.
ENVIRONMENT = env_str("ENVIRONMENT", "development")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_ROOT = env_str("SITE_ROOT", "http://127.0.0.1:8000").rstrip("/")
# Whether SITE_ROOT was set (not the development default): request webhooks need it (E011).
SITE_ROOT_SET = bool(env_str("SITE_ROOT").strip())


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL; a `*.` wildcard (CSRF_TRUSTED_ORIGINS) becomes the
    leading dot channels' origin check takes for "this domain and its subdomains"."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.removeprefix('*')}"


# The pages whose live websocket is let in: scheme, host and port must all match one.
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS") or [
    origin_of(url) for url in (SITE_ROOT, *CSRF_TRUSTED_ORIGINS)
]

# --- LiveKit -------------------------------------------------------------------------------
# With LIVEKIT_URL unset the dashboard talks to the bundled sandbox (`manage.py livekit_sandbox`)
# with the sandbox's well-known dev credentials, and every page shows a "sandbox" banner.
SANDBOX_HOST = env_str("SANDBOX_HOST", "127.0.0.1")
SANDBOX_PORT = env_int("SANDBOX_PORT", 7880)
LIVEKIT_SANDBOX = not env_str("LIVEKIT_URL")
LIVEKIT_URL = env_str("LIVEKIT_URL", f"http://{SANDBOX_HOST}:{SANDBOX_PORT}")
LIVEKIT_API_KEY = env_str("LIVEKIT_API_KEY", "devkey" if LIVEKIT_SANDBOX else "")
LIVEKIT_API_SECRET = env_str("LIVEKIT_API_SECRET", "secret" if LIVEKIT_SANDBOX else "")
# Twirp transport: "protobuf" (LiveKit's own SDKs' choice) or "json".
LIVEKIT_WIRE_FORMAT = env_str("LIVEKIT_WIRE_FORMAT", "protobuf")
# Seconds. LiveKit retries egress dispatch server-side for 20 s and more, so a Start call gets
# much longer than the other RPCs; a timed-out Start may still have created an egress.
LIVEKIT_TIMEOUT = env_float("LIVEKIT_TIMEOUT", 10.0)
LIVEKIT_START_TIMEOUT = env_float("LIVEKIT_START_TIMEOUT", 75.0)
# Webhooks: a larger body is refused with 413 before it is read (LiveKit's are a few kB).
WEBHOOK_MAX_BYTES = env_int("WEBHOOK_MAX_BYTES", 1_048_576)
# The reconciler (`manage.py egress_worker`): how often it runs, and when a job needs a person.
EGRESS_WORKER_INTERVAL = env_float("EGRESS_WORKER_INTERVAL", 5.0)
EGRESS_STUCK_STARTING_AFTER = env_float("EGRESS_STUCK_STARTING_AFTER", 120.0)
# An ACTIVE egress LiveKit has reported no change of for this long is flagged (0: never). LiveKit
# says nothing while an egress runs well, so this is also how long a healthy one may run: 12 h is
# LiveKit Cloud's longest (streams; files end at 3 h).
EGRESS_SILENT_AFTER = env_float("EGRESS_SILENT_AFTER", 12 * 3600.0)
EGRESS_WORKER_BATCH = env_int("EGRESS_WORKER_BATCH", 200)
# Schedules (the worker's schedule pass, every EGRESS_WORKER_INTERVAL): a run no worker took
# within this long of its time is reported missed, never started late.
EGRESS_SCHEDULE_GRACE_SECONDS = env_float("EGRESS_SCHEDULE_GRACE_SECONDS", 120.0)
# How long LiveKit lets an egress run before it ends it, shown as the time left on a running
# job's page. LiveKit Cloud ends file egress (files, HLS segments, images) at 3 h and streams at
# 12 h (docs.livekit.io/home/cloud/quotas-and-limits); a self-hosted egress has no such limit
# unless its operator set one: empty means none.
LIVEKIT_CLOUD = (urlsplit(LIVEKIT_URL).hostname or "").endswith(".livekit.cloud")
EGRESS_MAX_FILE_SECONDS = env_seconds(
    "EGRESS_MAX_FILE_SECONDS", 3 * 3600.0 if LIVEKIT_CLOUD else None
)
EGRESS_MAX_STREAM_SECONDS = env_seconds(
    "EGRESS_MAX_STREAM_SECONDS", 12 * 3600.0 if LIVEKIT_CLOUD else None
)
# How many egress may run at once on the LiveKit plan (LiveKit Cloud's free plan: 2); the
# Reports page shows the active ones against it. 0: no limit shown.
EGRESS_CONCURRENCY_LIMIT = env_int("EGRESS_CONCURRENCY_LIMIT", 0)
# Who controls a running job (stop, layout, streams): whoever started it and admins; with this on,
# every producer too (a team sharing its shows). Off: a producer cannot stop another's show.
EGRESS_PRODUCERS_SHARE_CONTROL = env_bool("EGRESS_PRODUCERS_SHARE_CONTROL", False)
# The Egress API the launch form uses by default: "v1" (per-type Start RPCs, every LiveKit) or "v2"
# (the unified StartEgress, LiveKit >= 1.13.2). Producers can still pick either per launch.
LIVEKIT_EGRESS_API = env_str("LIVEKIT_EGRESS_API", "v1")
# On: every Start request asks LiveKit to send that egress's events to SITE_ROOT/livekit/webhook
# too (its `webhooks` field, signed with LIVEKIT_API_KEY), so live status needs no change to the
# LiveKit project's own webhooks. Needs SITE_ROOT (check egress_app.E011).
LIVEKIT_REQUEST_WEBHOOKS = env_bool("LIVEKIT_REQUEST_WEBHOOKS", False)
# Whole seconds the Live page's reads of LiveKit (rooms, participants, active egress) are shared
# between everyone watching it (dashboard/livekit_cache.py); 0 reads LiveKit on every refresh.
# A change made from the dashboard, or told by a webhook, is shown at once regardless.
LIVE_CACHE_SECONDS = env_int("LIVE_CACHE_SECONDS", 2)
# Where egress dials the dashboard's audio endpoint (audio sessions): `ws[s]://host[:port]`, to
# which `/egress/audio/<tap>/?t=<token>` is added. Egress dials from its own host, so in
# production a public `wss://` address (check egress_app.E009); in development SITE_ROOT's.
AUDIO_INGEST_URL = env_str(
    "AUDIO_INGEST_URL", "" if PRODUCTION else "ws" + SITE_ROOT.removeprefix("http")
).rstrip("/")
# The longest recording of an audio session's mix, in seconds (16 kHz mono WAV: 115 MB an hour
# on the processing server's temporary disk until it is uploaded); past it the rest goes unrecorded.
AUDIO_RECORDING_MAX_SECONDS = env_float("AUDIO_RECORDING_MAX_SECONDS", 4 * 3600.0)
# Days a transcript is kept after it started; the worker deletes older ones. Empty (the
# default) or 0: kept until an admin deletes it. (env_seconds reads any number, empty as None.)
TRANSCRIPT_RETENTION_DAYS = env_seconds("TRANSCRIPT_RETENTION_DAYS", None)
# `manage.py audio_worker` (with REDIS_URL): how long its hold on a session it mixes lasts (it
# renews it every second; a dead worker's sessions move to another after it), and how many
# sessions one worker mixes at most.
AUDIO_WORKER_LEASE = env_float("AUDIO_WORKER_LEASE", 30.0)
AUDIO_WORKER_SESSIONS = env_int("AUDIO_WORKER_SESSIONS", 50)
# Where the sandbox sends its signed webhooks (a real LiveKit is configured on its own side).
SANDBOX_WEBHOOK_URL = env_str("SANDBOX_WEBHOOK_URL", f"{SITE_ROOT}/livekit/webhook")

# `GET /metrics` answers Prometheus sending `Authorization: Bearer <METRICS_TOKEN>` (unset: only
# signed-in support and admins may read it). Several processes: see PROMETHEUS_MULTIPROC_DIR.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Stored credentials ------------------------------------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt storage credentials and stream keys.
# The newest encrypts; every key decrypts, so a key can be rotated (`manage.py rotate_secrets`).
# In development only, an unset value falls back to a key derived from SECRET_KEY.
SECRETS_ENCRYPTION_KEYS = env_list("SECRETS_ENCRYPTION_KEYS")
# Seconds a storage connection test may take in all.
STORAGE_TEST_TIMEOUT = env_float("STORAGE_TEST_TIMEOUT", 20.0)
# Seconds an engine profile's Test (a short real session) may take in all.
ENGINE_TEST_TIMEOUT = env_float("ENGINE_TEST_TIMEOUT", 20.0)
# Where Azure Blob and GCS profiles are reached. LiveKit's upload messages carry no endpoint for
# these two, so only emulators (Azurite, a GCS emulator) need anything but the defaults.
AZURE_BLOB_ENDPOINT = env_str("AZURE_BLOB_ENDPOINT", "https://{account_name}.blob.core.windows.net")
GCS_ENDPOINT = env_str("GCS_ENDPOINT")
# `make run` (without LIVEKIT_URL): the port of the local S3 (moto's server) beside the sandbox,
# where the demo storage profile uploads.
DEMO_S3_PORT = env_int("DEMO_S3_PORT", 7890)

# Seconds a signed link to a job's output works (Play, Download, HLS segments, thumbnails). Each
# click or media request gets a fresh one; a player keeps using its link while it plays, so this
# bounds how long one playback may last without a reload.
SIGNED_URL_SECONDS = env_int("SIGNED_URL_SECONDS", 3600)
# The JSON API (dashboard/api): personal tokens last at most API_TOKEN_MAX_DAYS; each token may
# make API_RATE_LIMIT calls (django-ninja's "<count>/<s|m|h|d>") before it is answered 429.
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "120/m")

# --- Applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "egress_app.apps.DashboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "csp",
    "axes",
    "ninja",
    "egress_app",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # In development runserver serves static files itself; whitenoise serves collectstatic's output.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.livekit",
                "dashboard.context_processors.role",
            ],
        },
    },
]


# --- Alerts ----------------------------------------------------------------------------------
# How email leaves (dj-email-url: smtp://user:password@host:587/?tls=True, console:, ...); the
# alert worker sends (egress_worker), never a request.
EMAIL_URL = env_str("EMAIL_URL", "smtp://localhost:25" if PRODUCTION else "console:")
# Seconds: a mail server, webhook or chat service slower than this counts as a failed try.
ALERT_SEND_TIMEOUT = env_float("ALERT_SEND_TIMEOUT", 10.0)


def mailer(url: str) -> dict[str, object]:
    """Django's MAILERS entry for an EMAIL_URL (parsed by dj-email-url)."""
    parsed = dj_email_url.parse(url)
    backend = parsed["EMAIL_BACKEND"]
    if not backend.endswith("smtp.EmailBackend"):
        return {"BACKEND": backend}
    options = {
        "host": parsed["EMAIL_HOST"] or "localhost",
        "port": parsed["EMAIL_PORT"] or 25,
        "username": parsed["EMAIL_HOST_USER"] or "",
        "password": parsed["EMAIL_HOST_PASSWORD"] or "",
        "use_tls": parsed["EMAIL_USE_TLS"],
        "use_ssl": parsed["EMAIL_USE_SSL"],
        "timeout": parsed["EMAIL_TIMEOUT"] or ALERT_SEND_TIMEOUT,
    }
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": mailer(EMAIL_URL)}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "egress-dashboard@localhost")
ALERT_EMAIL_FROM = env_str("ALERT_EMAIL_FROM", DEFAULT_FROM_EMAIL)
# A failed delivery is tried again after ALERT_RETRY_SECONDS, doubling each time (at most an
# hour), up to ALERT_MAX_ATTEMPTS tries in all.
ALERT_RETRY_SECONDS = env_float("ALERT_RETRY_SECONDS", 10.0)
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 5)

# --- Data ------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
}
# Django turns psycopg's prepared statements off for poolers that cannot keep them: a statement
# run again (a webhook batch's, bound by the server) is then parsed and planned each time, a
# third of PostgreSQL's CPU a webhook. 0 keeps them off.
if DATABASES["default"]["ENGINE"].endswith("postgresql") and (
    threshold := env_int("DB_PREPARE_THRESHOLD", 5)
):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = threshold
if (
    DATABASES["default"]["ENGINE"].endswith("postgresql")
    and DATABASES["default"]["CONN_MAX_AGE"] == 0
):
    # Under ASGI each request runs in a thread of its own, so connections cannot persist: a
    # pool hands them out instead (a new PostgreSQL connection costs more than a webhook).
    if env_bool("DB_POOL", True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("DB_POOL_SIZE", 10),
        }
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the reconciler write at once in development: take the write lock at
    # the start of each transaction and wait for it, instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
REDIS_PREFIX = env_str("REDIS_PREFIX", "egress")  # channel layer groups and audio streams
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: a push to a group is published once and each server process relays it
            # to its own sockets (the list-based layer writes once per socket in Redis: 6x
            # slower to 500 sockets). Pushes are at-most-once; a reconnect gets a snapshot.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py gives up on a read after 5 s by default: longer, for a quiet Redis.
                # One retry on a new connection after a broken one: once Redis restarts, the
                # first command on each idle connection finds it dead (a websocket refused with a
                # 500, a push lost) unless it reconnects. Only connection errors: a timeout is
                # not retried (30 s more).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                    }
                ],
                "prefix": REDIS_PREFIX,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# `default` stays in each process's memory (the audio meters it keeps are the process's own);
# `live` holds LiveKit's answers the Live page shares, in Redis when there is one so that every
# server process shares them too.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "live": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
            # A Redis out of reach costs a refresh a second at most: it then reads LiveKit itself.
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "live"}
    ),
}

# --- Auth ------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard-home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-ins (django-axes): LOGIN_FAILURE_LIMIT failures for one username, or from one address,
# lock both out for LOGIN_LOCKOUT_MINUTES, counted from the latest failure; a success resets the
# count. Admins unlock early in Django admin (Axes > Access attempts: delete the row).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_LOCKOUT_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dashboard.signins.locked_out"
AXES_VERBOSE = False  # dashboard.signins logs each sign-in in one line of its own
# People (the admins' People page): an invitation or password reset link works once, for this
# many hours. With EMAIL_URL set the link is also emailed (the mailer alerts use); the admin
# always sees it once, to copy.
INVITE_LINK_HOURS = env_float("INVITE_LINK_HOURS", 72.0)
EMAIL_CONFIGURED = bool(env_str("EMAIL_URL"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# Production answers over HTTPS only: plain HTTP is redirected and browsers are told to stay on
# HTTPS for a year (HSTS). Subdomains and the browsers' preload list are a site owner's choice.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's plain-HTTP health probe
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
# Only the dashboard's own scripts, styles and websockets (htmx, Chart.js and app.js are
# vendored): no inline script or style and no eval anywhere, so injected markup cannot run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # At DEBUG the websockets library logs every handshake header: the speech engines'
        # Authorization (API keys, bearer tokens) among them.
        "websockets": {"level": "INFO"},
        # The server's access log already has a line for each request: Django's own warning
        # for a 4xx (with a traceback for a 403) would be a second. Errors (5xx) stay.
        "django.request": {"level": "ERROR"},
        # Apprise may log a service's URL (its tokens); the alert worker captures what it says
        # while sending (with the channel's secrets hidden) and nothing else is printed.
        "apprise": {"handlers": ["null"], "propagate": False},
    },
}
