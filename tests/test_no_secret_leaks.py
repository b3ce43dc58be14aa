"""No stored secret ever leaves its encrypted column.

Storage profiles of every provider and stream destinations are created with distinctive secret
values; then every page that could show them is fetched (the lists, edit, duplicate and delete
pages, the provider fieldsets, the audit log, the home page, Django admin's index and every page
of each model it registers), a form with typed secrets is re-rendered with errors, a connection
test fails for each provider, and every log record down to DEBUG is captured. None of the values
may appear in a response (body, headers, cookies), a log record, an audit row or any database
column other than the two `encrypted_secrets` columns.

The live websocket is covered too: a job recording through an S3 profile and streaming to a
destination (its stream key) and an ad-hoc RTMP URL (its key) is followed on its page and in the
job list, by its producer and by an admin, while it runs, is stopped and completes; no frame
(snapshots and pushes) may carry any of those secrets.

What a job's secrets could reach beyond its pages is covered too: the job history filtered and
exported as CSV, a retry of the job (which reads them again), the failure inbox, the reports and
`GET /metrics`.

And LiveKit's own words: an error, details, stream results or a room event quoting any stored
stream key or credential (not only the job's own, in any case, URL-encoded) are stored without it.

Engine profiles' keys (issue 15) likewise, in any case, URL-encoded or base64-encoded too: their
pages, a Test the engine refuses while quoting the key, a refused form, the audit log, the
database, exports, frames and LiveKit's words (tests/transcripts/test_no_secrets.py follows a
key an engine quotes back through a transcription).

Alert channels' URLs and signing secrets (issue 17) likewise: their pages, the Alerts page, a
Send test that fails (the URL's service down) with and without htmx, the worker's failed
deliveries and their log, a refused form, the audit log and the database.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib import admin as django_admin
from django.db import connection
from django.test import Client
from django.urls import reverse
from google.protobuf import json_format
from livekit.protocol import egress, models, webhook

from egress_app import actions
from egress_app.actions.alert_delivery import deliver_due
from egress_app.actions.alerts import ChannelFields, RuleFields, save_alert_channel, save_rule
from egress_app.launch.command import lk_command
from egress_app.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AuditAction,
    AuditEntry,
    EgressJob,
    EgressStatus,
    EngineProfile,
    StorageProfile,
    StreamDestination,
)
from egress_app.sandbox.testing import RunningSandbox
from tests import jobs
from tests.conftest import make_user
from tests.dashboard.test_storage_settings_test import form_data
from tests.jobs.test_lk_command import launched
from tests.leaked import forms, found_in
from tests.live.test_consumer import ORIGIN, WAIT, prepare, socket
from tests.transcribe.listener import listening
from tests.transcribe.standins import ForwardStandIn

pytestmark = pytest.mark.django_db

AZURE_KEY = base64.b64encode(b"SECRET-azure-key-XYZ123-decoded-form").decode()
GCP_KEY_ID = "SECRET-gcp-keyid-XYZ123-0001"
GCP_BROKEN_KEY = "SECRET-gcp-private-key-XYZ123-not-a-pem"

S3_SECRETS = {
    "access_key": "SECRET-s3-accesskey-XYZ123",
    "secret": "SECRET-s3-secret-XYZ123-abcdef",
    "session_token": "SECRET-s3-session-XYZ123-token",
    "assume_role_external_id": "SECRET-s3-externalid-XYZ123",
    "proxy_password": "SECRET-s3-proxypass-XYZ123",
}
OSS_SECRETS = {"access_key": "SECRET-oss-accesskey-XYZ123", "secret": "SECRET-oss-secret-XYZ123"}
DESTINATIONS = {
    "YouTube": ("rtmp://a.rtmp.youtube.com/SECRET-rtmp-app-XYZ123", "SECRET-rtmp-key-XYZ123"),
    "Studio SRT": ("srt://ingest.example.com:9000?passphrase=SECRET-srt-pass-XYZ123", ""),
    "Twitch": ("twitch://", "SECRET-twitch-key-XYZ123"),
}
TYPED_BUT_REFUSED = "SECRET-typed-in-a-refused-form-XYZ123"
# The test engine (tests/transcribe/listener.py) refuses a "wrong-key…" and quotes it back.
ENGINES = {
    "Gladia": ("gladia", {"model": "solaria-1"}, {"api_key": "wrong-key-SECRET-gladia-XYZ123"}),
    "Deepgram": ("deepgram", {"model": "nova-3"}, {"api_key": "SECRET-deepgram-key-XYZ123"}),
    "AssemblyAI": ("assemblyai", {}, {"api_key": "SECRET-assemblyai-key-XYZ123"}),
    "Own ASR": (
        "forward",
        {"mode": "mix"},  # and the URL of a stand-in service (`engines`)
        {"token": "SECRET-forward-token-XYZ123"},
    ),
}
ENGINE_SECRET = "SECRET-engine+key=XYZ123"  # one more, for what a job's pages show
ENGINE_KEYS = [value for _, _, secrets in ENGINES.values() for value in secrets.values()]
ALERT_HOOK_PATH = "SECRET-alert-hook-XYZ123"
ALERT_SIGNING_SECRET = "SECRET-alert-signing-XYZ123"
ALERT_APPRISE_TOKEN = "SECRET-alert-apprise-XYZ123"
ALERT_SECRETS = [ALERT_HOOK_PATH, ALERT_SIGNING_SECRET, ALERT_APPRISE_TOKEN]
# The emulators run in this process and log what they receive: their logs are the far side's.
EMULATORS = ("moto", "werkzeug", "gcp_storage_emulator")


def gcp_credentials(emulator, *, private_key: str | None = None) -> str:
    """A service account key the token endpoint refuses (unknown key id)."""
    info = json.loads(emulator.service_account_json(known=False))
    info["private_key_id"] = GCP_KEY_ID
    if private_key is not None:
        info["private_key"] = private_key
    return json.dumps(info)


def secret_values(credentials: Iterable[str]) -> list[str]:
    values = [*S3_SECRETS.values(), *OSS_SECRETS.values(), AZURE_KEY, GCP_KEY_ID, GCP_BROKEN_KEY]
    values += [base64.b64decode(AZURE_KEY).decode(), TYPED_BUT_REFUSED, *ENGINE_KEYS]
    values += ALERT_SECRETS
    for server_url, key in DESTINATIONS.values():
        values += [server_url.rsplit("/", 1)[-1].split("=")[-1], key]
    for text in credentials:
        key = json.loads(text)["private_key"]
        values += [text, key, *(line for line in key.splitlines() if len(line) >= 16)]
    return [value for value in values if value]


@pytest.fixture
def profiles(
    db, s3_storage, azure_storage, gcs_storage, alioss_storage, gcs_emulator, closed_port_url
) -> list[StorageProfile]:
    s3_config = s3_storage["config"] | {
        "assume_role_arn": "arn:aws:iam::123456789012:role/egress-uploader",
        "metadata": {"team": "video"},
    }
    made = [
        ("S3 via moto", "s3", s3_config, S3_SECRETS | {"proxy_password": ""}),
        ("S3 via proxy", "s3", s3_config | {"proxy_url": closed_port_url}, S3_SECRETS),
        ("Azure", "azure", azure_storage["config"], {"account_key": AZURE_KEY}),
        ("GCS", "gcp", gcs_storage["config"], {"credentials": gcp_credentials(gcs_emulator)}),
        (
            "GCS broken key",
            "gcp",
            gcs_storage["config"],
            {"credentials": gcp_credentials(gcs_emulator, private_key=GCP_BROKEN_KEY)},
        ),
        ("OSS", "alioss", alioss_storage["config"], OSS_SECRETS),
    ]
    return [
        actions.create_storage_profile(
            None, name=name, provider=provider, config=config, secrets=secrets
        )
        for name, provider, config, secrets in made
    ]


@pytest.fixture
def destinations(db) -> list[StreamDestination]:
    return [
        actions.create_stream_destination(None, name=name, server_url=url, stream_key=key)
        for name, (url, key) in DESTINATIONS.items()
    ]


@pytest.fixture
def engines(db) -> Iterator[list[EngineProfile]]:
    # Own ASR's service refuses its token and quotes the Authorization header it got back.
    with ForwardStandIn("another-token").running() as standin:
        made = []
        for name, (kind, config, secrets) in ENGINES.items():
            if kind == "forward":
                config = config | {"url": standin.url}
            made.append(
                actions.create_engine_profile(
                    None, name=name, kind=kind, config=config, secrets=secrets
                )
            )
        yield made


@pytest.fixture
def alert_channels(db, closed_port_url) -> list[AlertChannel]:
    """A webhook and an Apprise channel whose services are down (their Send tests fail)."""
    hook = save_alert_channel(
        None,
        None,
        ChannelFields(name="Hook", kind="webhook"),
        {"url": f"{closed_port_url}/{ALERT_HOOK_PATH}", "signing_secret": ALERT_SIGNING_SECRET},
    )
    chat = save_alert_channel(
        None,
        None,
        ChannelFields(name="Chat", kind="apprise"),
        {"url": closed_port_url.replace("http", "json", 1) + f"/{ALERT_APPRISE_TOKEN}"},
    )
    fields = RuleFields("All", ["job_failed"], [], "", [], [hook, chat])
    save_rule(None, None, fields)
    return [hook, chat]


def alert_urls(channels) -> list[str]:
    urls = [reverse(f"dashboard-alert-{name}") for name in ("list", "channel-list", "rule-list")]
    urls += [reverse("dashboard-alert-channel-create"), reverse("dashboard-alert-rule-create")]
    for channel in channels:
        urls += [
            reverse(f"dashboard-alert-channel-{n}", args=[channel.pk]) for n in ("edit", "delete")
        ]
    urls.append(f"{reverse('dashboard-audit')}?target_type=alert_channel")
    return urls


def visit_alerts(client, channels) -> list[str]:
    """Send tests that fail, with and without htmx; a refused form with a URL typed in; the
    worker failing to deliver an alert (and logging it)."""
    seen = []
    for channel in channels:
        test = reverse("dashboard-alert-channel-test", args=[channel.pk])
        seen.append(everything_in(client.post(test, headers={"HX-Request": "true"})))
        seen.append(everything_in(client.post(test)))
    assert not AlertChannel.objects.filter(last_test_ok=True).exists()
    refused = {"name": "", "kind": "webhook", "url": TYPED_BUT_REFUSED, "max_per_hour": "1"}
    seen.append(everything_in(client.post(reverse("dashboard-alert-channel-create"), refused)))
    alert = Alert.objects.create(event="job_failed", dedupe_key="leak", title="Job failed")
    for channel in channels:
        AlertDelivery.objects.create(alert=alert, channel=channel)
    assert deliver_due().retrying == len(channels)
    return seen


def engine_urls(engines) -> list[str]:
    urls = [reverse("dashboard-engine-list"), reverse("dashboard-engine-create")]
    for kind in ("builtin", "gladia", "deepgram", "assemblyai", "forward"):
        urls.append(f"{reverse('dashboard-engine-fields')}?kind={kind}")
    for profile in engines:
        urls += [
            reverse(f"dashboard-engine-{name}", args=[profile.pk]) for name in ("edit", "delete")
        ]
    urls.append(f"{reverse('dashboard-audit')}?target_type=engine_profile")
    return urls


def dashboard_urls(profiles, destinations) -> list[str]:
    urls = [
        reverse(name)
        for name in (
            "dashboard-home",
            "dashboard-storage-list",
            "dashboard-storage-create",
            "dashboard-destination-list",
            "dashboard-destination-create",
            "dashboard-audit",
        )
    ]
    for provider in ("s3", "gcp", "azure", "alioss"):
        urls.append(f"{reverse('dashboard-storage-fields')}?provider={provider}")
        urls.append(f"{reverse('dashboard-storage-create')}?provider={provider}")
    for profile in profiles:
        for name in ("edit", "duplicate", "delete"):
            urls.append(reverse(f"dashboard-storage-{name}", args=[profile.pk]))
    for destination in destinations:
        for name in ("edit", "duplicate", "delete"):
            urls.append(reverse(f"dashboard-destination-{name}", args=[destination.pk]))
    urls.append(f"{reverse('dashboard-audit')}?action=tested&target_type=storage_profile")
    return urls


def admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in django_admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:app_list", args=[app]))
        urls += [reverse(f"admin:{app}_{name}_{page}") for page in ("changelist", "add")]
        for pk in model._default_manager.values_list("pk", flat=True):
            for page in ("change", "history", "delete"):
                urls.append(reverse(f"admin:{app}_{name}_{page}", args=[pk]))
    return urls


def database_text() -> str:
    """Every column of every table, except the encrypted secrets themselves."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            names = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                chunks += [
                    str(value)
                    for name, value in zip(names, row, strict=True)
                    if name != "encrypted_secrets"
                ]
    return "\n".join(chunks)


def everything_in(response) -> str:
    body = response.content.decode(errors="replace")
    return f"{response.status_code}\n{response.headers}\n{response.cookies}\n{body}"


@dataclass
class Visit:
    responses: list[str]
    values: list[str]


@pytest.fixture
def visit(
    client, admin, profiles, destinations, engines, alert_channels, caplog, settings
) -> Visit:
    """Everything an admin can do that might show a secret; every log record from DEBUG up."""
    caplog.set_level(logging.DEBUG)
    settings.STORAGE_TEST_TIMEOUT = 10
    seen: list[str] = []
    client.force_login(admin)

    # Connection tests that fail, with and without htmx, each recorded in the audit log.
    for profile in profiles:
        test = reverse("dashboard-storage-test", args=[profile.pk])
        response = client.post(test, headers={"HX-Request": "true"})
        assert response.status_code == 200
        seen.append(everything_in(response))
    failed = {p.name for p in StorageProfile.objects.filter(last_test_ok=False)}
    assert failed == {p.name for p in profiles}
    seen.append(
        everything_in(client.post(reverse("dashboard-storage-test", args=[profiles[0].pk])))
    )

    # Test these settings on each edit form, its secrets left empty: the stored ones are used
    # on the server only, with and without htmx.
    for profile in profiles:
        data = form_data({"provider": profile.provider, "config": profile.config, "secrets": {}})
        test = reverse("dashboard-storage-edit-test", args=[profile.pk])
        response = client.post(test, data | {"name": profile.name}, headers={"HX-Request": "true"})
        assert "data-test-result" in response.content.decode(), profile.name
        seen.append(everything_in(response))
    seen.append(everything_in(client.post(test, data | {"name": profile.name})))

    # Forms re-rendered with errors do not echo what was typed into secret fields.
    refused = {"name": "", "secret": TYPED_BUT_REFUSED, "access_key": TYPED_BUT_REFUSED}
    edit = reverse("dashboard-storage-edit", args=[profiles[0].pk])
    seen.append(everything_in(client.post(edit, refused)))
    edit = reverse("dashboard-destination-edit", args=[destinations[0].pk])
    seen.append(everything_in(client.post(edit, {"name": "", "stream_key": TYPED_BUT_REFUSED})))

    # Engine Tests, the engine refusing and quoting the key, with and without htmx; and an
    # engine form refused with a key typed in.
    # Deepgram's and AssemblyAI's engines would dial the real services: not from here.
    with listening():
        for profile in (p for p in engines if p.name in ("Gladia", "Own ASR")):
            test = reverse("dashboard-engine-test", args=[profile.pk])
            seen.append(everything_in(client.post(test, headers={"HX-Request": "true"})))
            seen.append(everything_in(client.post(test)))
            test = reverse("dashboard-engine-edit-test", args=[profile.pk])
            data = {"name": profile.name, **profile.config}
            seen.append(everything_in(client.post(test, data, headers={"HX-Request": "true"})))
    assert set(EngineProfile.objects.filter(last_test_ok=False).values_list("name", flat=True)) == {
        "Gladia",
        "Own ASR",
    }
    edit = reverse("dashboard-engine-edit", args=[engines[0].pk])
    seen.append(everything_in(client.post(edit, {"name": "", "api_key": TYPED_BUT_REFUSED})))
    for role in ("producers", "support"):
        looker = Client()
        looker.force_login(make_user(f"{role}-looker", role))
        seen.append(everything_in(looker.get(reverse("dashboard-engine-list"))))

    seen += visit_alerts(client, alert_channels)

    urls = dashboard_urls(profiles, destinations) + engine_urls(engines)
    for url in urls + alert_urls(alert_channels):
        response = client.get(url)
        assert response.status_code == 200, url
        seen.append(everything_in(response))

    root = Client()
    root.force_login(make_user("root", is_superuser=True, is_staff=True))
    for url in admin_urls():
        response = root.get(url)
        # 403: a model admin that allows no adding or deleting (a read-only log, say).
        assert response.status_code in (200, 403), url
        seen.append(everything_in(response))

    credentials = [p.secrets()["credentials"] for p in profiles if p.provider == "gcp"]
    # An engine may quote its key in any form: none may show (tests/leaked.py).
    values = secret_values(credentials) + [form for key in ENGINE_KEYS for form in forms(key)]
    assert len(values) > 20
    return Visit(seen, values)


def leaks(values: list[str], places: Iterable[tuple[str, str]]) -> list[str]:
    found = {
        f"{value[:28]}… in {where}" for where, text in places for value in values if value in text
    }
    return sorted(found)


def test_it_never_shows_a_secret_value(visit):
    places = [(f"response {number}", text) for number, text in enumerate(visit.responses)]
    assert leaks(visit.values, places) == []
    # The pages did show the hints instead.
    assert any(f"••••{S3_SECRETS['secret'][-4:]}" in text for text in visit.responses)
    assert any(f"••••{ENGINE_KEYS[0][-4:]}" in text for text in visit.responses)
    assert any(f"••••{ALERT_SIGNING_SECRET[-4:]}" in text for text in visit.responses)


def test_it_keeps_secret_values_only_in_the_encrypted_columns(
    visit, profiles, destinations, engines, alert_channels
):
    assert leaks(visit.values, [("the database", database_text())]) == []
    tests = AuditEntry.objects.filter(action=AuditAction.TESTED)
    saved, unsaved = (
        tests.exclude(outcome__startswith="unsaved"),
        tests.filter(outcome__startswith="unsaved"),
    )
    assert saved.filter(target_type="storage_profile").count() == len(profiles) + 1
    assert saved.filter(target_type="engine_profile").count() == 4  # two, each twice
    # Test these settings: each storage profile's edit form, the last one twice; two engines.
    assert unsaved.filter(target_type="storage_profile").count() == len(profiles) + 1
    assert unsaved.filter(target_type="engine_profile").count() == 2
    assert tests.filter(target_type="alert_channel").count() == 4
    for owner in (*profiles, *destinations, *engines, *alert_channels):
        owner.refresh_from_db()
        assert owner.encrypted_secrets.startswith("gAAAAA")


def test_it_never_logs_a_secret_value_even_at_debug(visit, caplog):
    records = [
        record
        for record in caplog.get_records("setup")  # the `visit` fixture's records
        if not record.name.startswith(EMULATORS)
    ]
    assert any(record.levelno == logging.DEBUG for record in records)
    places = [
        (f"log {record.name}", f"{record.getMessage()} {record.exc_text or ''}")
        for record in records
    ]
    found = leaks(visit.values, places)
    assert not found, "Secret values in the logs:\n" + "\n".join(found)


# --- the live websocket -------------------------------------------------------------------------
async def frames_of(communicator: WebsocketCommunicator) -> list[str]:
    """Every frame the socket has sent so far."""
    frames = []
    while not await communicator.receive_nothing(timeout=0.5):
        frames.append(await communicator.receive_from(timeout=WAIT))
    return frames


@pytest.fixture
def asgi_loaded(transactional_db, settings) -> None:
    settings.WEBSOCKET_ALLOWED_ORIGINS = [ORIGIN.decode()]
    prepare()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_it_never_sends_a_secret_value_over_the_live_websocket(
    producer, admin, sandbox: RunningSandbox, asgi_loaded
):
    # Every kind of secret a job has: S3 credentials, a destination's key, an ad-hoc URL's key.
    stream = (await database_sync_to_async(jobs.make_destination)(admin)).pk
    await database_sync_to_async(actions.create_engine_profile)(
        admin, name="Gladia", kind="gladia", config={}, secrets={"api_key": ENGINE_SECRET}
    )
    profile = await database_sync_to_async(jobs.make_profile)(admin)
    config = jobs.file_config(profile, stream={"destination_ids": [stream], "adhoc": []})

    def run(job: EgressJob) -> None:
        """Running, stopped, ended: each change pushed while the page is open."""
        jobs.live(sandbox, job)
        actions.stop_egress(producer, job)
        jobs.ended(sandbox, job)

    sent: list[tuple[str, str]] = []
    for user in (producer, admin):
        for query in ("view=job&id={job}", "view=jobs", "view=home"):
            job = await database_sync_to_async(jobs.start)(
                producer, config, adhoc_urls=[jobs.ADHOC]
            )
            query = query.format(job=job.pk)
            async with socket(query, user) as (connected, communicator):
                assert connected, query
                await database_sync_to_async(run)(job)
                frames = await frames_of(communicator)
            sent += [(f"{query} as {user.username}, frame {n}", f) for n, f in enumerate(frames)]
            # The snapshot and the pushes of the job's changes all came through.
            assert len(frames) >= (2 if "home" in query else 4), (query, user.username)
            if "home" not in query:
                assert "Complete" in frames[-1]

    pages = "".join(frame for where, frame in sent if where.startswith("view=job&"))
    assert "YouTube" in pages  # the destination is shown by name
    assert "{SEC...123}" in pages  # and the ad-hoc URL redacted
    assert leaks([*jobs.SECRETS, ENGINE_SECRET], sent) == []


# --- the job page's `lk` command ----------------------------------------------------------------
ADHOC_SECRET = "SECRET-lk-adhoc-key-XYZ123"


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_never_shows_a_secret_in_the_lk_command(client, admin, profiles, destinations, api):
    """A job through each provider's profile, streaming to every destination and an ad-hoc URL:
    its "Copy as `lk` command" has placeholders where the request had secrets, and still
    parses as the request LiveKit's CLI sends."""
    client.force_login(admin)
    seen: list[str] = []
    for profile in profiles:
        given = {
            "api": api,
            "kind": "room_composite",
            "room_name": "town-hall",
            "room_composite": {"layout": "grid"},
            "outputs": {
                "file": {"filepath": "rec/{room_name}.mp4"},
                "stream": {"destination_ids": [destinations[0].pk, destinations[2].pk]},
            },
            "storage_profile_id": profile.pk,
        }
        adhoc = (f"rtmps://live.example.com/app/{ADHOC_SECRET}",)
        job = launched(
            given, profile=profile, destinations=(destinations[0], destinations[2]), adhoc=adhoc
        )
        command = lk_command(job)
        assert command is not None
        message = (
            egress.StartEgressRequest() if api == "v2" else egress.RoomCompositeEgressRequest()
        )
        json_format.Parse(command.request_json, message)
        seen += [command.request_json, str(command.placeholders)]
        seen.append(everything_in(client.get(reverse("dashboard-job-detail", args=[job.pk]))))
        assert "lk egress start" in seen[-1]
    credentials = [p.secrets()["credentials"] for p in profiles if p.provider == "gcp"]
    places = [(f"text {number}", text) for number, text in enumerate(seen)]
    assert leaks([*secret_values(credentials), ADHOC_SECRET], places) == []
    assert any("&lt;AZURE_ACCOUNT_KEY&gt;" in text for text in seen)
    assert any("&lt;GCP_CREDENTIALS&gt;" in text for text in seen)


# --- the Live page's room cards ------------------------------------------------------------------
def test_it_never_shows_a_secret_value_on_the_live_pages_cards(client, producer, admin, sandbox):
    """The town hall recorded through an S3 profile and streamed to a destination and to one
    that fails (LiveKit quoting its URL in the error): no card, dialog or answer shows a key."""
    profile = jobs.make_profile(admin)
    good = jobs.make_destination(admin)
    bad = actions.create_stream_destination(
        admin, name="Fails", server_url="rtmp://fail.example.com/live2", stream_key=jobs.OTHER_KEY
    )
    stream = {"destination_ids": [good.pk, bad.pk], "adhoc": []}
    job = jobs.live(sandbox, jobs.start(producer, jobs.file_config(profile, stream=stream)))
    seen = []
    for user in (producer, admin, make_user("support-looker", "support")):
        client.force_login(user)
        seen.append(everything_in(client.get(reverse("dashboard-home-live"))))
    client.force_login(producer)
    for name in ("dashboard-live-record", "dashboard-live-stream"):
        seen.append(everything_in(client.get(f"{reverse(name)}?room=town-hall")))
    stop = reverse("dashboard-live-stop", args=[job.pk])
    seen.append(everything_in(client.post(stop, {"confirmed": "1"}, headers={"HX-Request": "1"})))
    assert any("fail.example.com" in text for text in seen)  # the failing stream is shown
    places = [(f"text {number}", text) for number, text in enumerate(seen)]
    assert leaks([*jobs.SECRETS], places) == []


# --- exports, reports, metrics ------------------------------------------------------------------
def test_it_never_exports_or_reports_a_secret_value(client, producer, admin, support, sandbox):
    """A stream to a destination that fails, LiveKit quoting its URL and key in the error, and
    its retry: no page, export or metric about either shows a secret."""
    destination = actions.create_stream_destination(
        admin, name="Fails", server_url="rtmp://fail.example.com/live2", stream_key=jobs.STREAM_KEY
    )
    actions.create_engine_profile(
        admin, name="Gladia", kind="gladia", config={}, secrets={"api_key": ENGINE_SECRET}
    )
    job = jobs.start(producer, jobs.stream_config(destination))
    job = jobs.ended(sandbox, job, status="FAILED")
    assert "rtmp://fail.example.com" in job.error  # LiveKit's words, the key taken out
    retry = actions.retry_egress(producer, job, launch_token=jobs.new_token())
    jobs.ended(sandbox, retry, status="FAILED")
    seen = []
    for user in (producer, support, admin):
        client.force_login(user)
        urls = [
            reverse("dashboard-job-list"),
            reverse("dashboard-job-list") + "?status=EGRESS_FAILED&error=rtmp",
            reverse("dashboard-job-rows"),
            reverse("dashboard-job-detail", args=[job.pk]),
            reverse("dashboard-job-detail", args=[retry.pk]),
        ]
        if user != producer:
            urls += [reverse("dashboard-failures"), reverse("dashboard-reports")]
            urls.append(reverse("egress-metrics"))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            seen.append(everything_in(response))
        export = client.get(reverse("dashboard-job-export"))
        with pytest.warns(Warning, match="consume asynchronous iterators"):  # WSGI buffers
            body = b"".join(export)
        seen.append(body.decode())
    assert sum(text.count(job.egress_id or "-") for text in seen) > 6
    places = [(f"response {number}", text) for number, text in enumerate(seen)]
    assert leaks([*jobs.SECRETS, ENGINE_SECRET], places) == []


# --- LiveKit's words ----------------------------------------------------------------------------
OTHER_KEY = "SECRET-other+key=XYZ&123"  # another destination's: URL-encoding changes it
PROFILE_SECRET = "SECRET/profile+secret=XYZ123"


def failed_quoting(job: EgressJob, updated_at: int) -> egress.EgressInfo:
    """LiveKit's report of the job's failure, quoting stored secrets that are not the job's."""
    return egress.EgressInfo(
        egress_id=job.egress_id,
        room_name=job.room_name,
        status=egress.EgressStatus.EGRESS_FAILED,
        updated_at=updated_at,
        ended_at=updated_at,
        error=f"failed to connect to rtmp://backup.example.com/live/{OTHER_KEY.lower()}",
        details=f"retried with stream={quote_plus(OTHER_KEY)}; upload as {PROFILE_SECRET.upper()}"
        f"; transcribe with {quote(ENGINE_SECRET, safe='')}",
        stream_results=[
            egress.StreamInfo(
                url="rtmp://backup.example.com/live/{SEC...123}",
                status=egress.StreamInfo.Status.FAILED,
                error=f"dial rtmp://backup.example.com/live/{quote(OTHER_KEY, safe='')} refused",
            )
        ],
    )


def test_it_never_stores_a_stored_secret_livekit_quotes(admin, producer):
    own = jobs.make_destination(admin)
    jobs.make_destination(admin, name="Backup", key=OTHER_KEY)
    actions.create_storage_profile(
        admin,
        name="Archive",
        provider="s3",
        config={"bucket": "archive", "region": "eu-west-1"},
        secrets={"access_key": "SECRET-archive-access-XYZ123", "secret": PROFILE_SECRET},
    )
    actions.create_engine_profile(
        admin, name="Gladia", kind="gladia", config={}, secrets={"api_key": ENGINE_SECRET}
    )
    job = EgressJob(
        egress_id="EG_quoting", kind="room_composite", room_name="town-hall", started_by=producer
    )
    job.status = EgressStatus.ACTIVE
    job.set_secrets({f"destination:{own.pk}": own.output_url()})
    job.save()

    now = time.time_ns()
    failed = failed_quoting(job, now)
    for number, event in enumerate(["egress_ended", "egress_updated"]):  # applied, then noted
        ended = webhook.WebhookEvent(event=event, id=f"EV_ended_{number}", egress_info=failed)
        assert actions.receive_webhook(ended) is True
    joined = webhook.WebhookEvent(
        event="participant_joined",
        id="EV_joined",
        room=models.Room(name="town-hall", metadata=f"backup={quote_plus(OTHER_KEY)}"),
        participant=models.ParticipantInfo(identity="host", metadata=PROFILE_SECRET.lower()),
    )
    assert actions.receive_webhook(joined) is True
    later = failed_quoting(job, now + 1)
    later.error = f"still no {OTHER_KEY.swapcase()}"
    actions.observe(later)

    job.refresh_from_db()
    assert job.status == EgressStatus.FAILED
    assert job.error == "still no {…}"  # LiveKit's words stay, the key taken out
    assert "{…}" in job.details
    stored = database_text()
    for value in (OTHER_KEY, PROFILE_SECRET, ENGINE_SECRET):
        assert found_in(stored, value) == [], value
