"""start_egress against the sandbox over HTTP: one egress per launch, LiveKit's refusals kept on
the job in plain words, and a Start that times out reconciled through ListEgress, never retried."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.actions.calls import _plain
from egress_app.livekit import LiveKitError
from egress_app.models import EgressJob, EgressStatus, LaunchState, LedgerEntry, LedgerSource
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import (
    ADHOC,
    ADHOC_KEY,
    BUCKET,
    STREAM_KEY,
    assert_no_secrets,
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    new_token,
    start,
    stored_text,
    stream_config,
)

pytestmark = pytest.mark.django_db


def refusal(producer, config, **kwargs) -> EgressJob:
    with pytest.raises(actions.LaunchError) as caught:
        start(producer, config, **kwargs)
    job = caught.value.job
    job.refresh_from_db()
    assert caught.value.message == job.error
    return job


# --- starting -----------------------------------------------------------------------------------
def test_it_starts_a_room_composite_to_a_file(producer, admin, sandbox: RunningSandbox):
    profile = make_profile(admin)

    job = start(producer, file_config(profile))

    assert job.launch_state == LaunchState.LAUNCHED
    assert job.egress_id
    assert job.egress_id.startswith("EG_")
    assert job.status == EgressStatus.STARTING
    assert (job.kind, job.room_name, job.started_by) == ("room_composite", "town-hall", producer)
    assert job.storage_profile == profile
    assert job.config["storage_profile_id"] == profile.pk
    assert job.started_at is not None
    assert job.updated_at is not None
    assert job.error == job.details == ""
    [result] = job.results["files"]
    assert result["filename"] == "rec/town-hall.mp4"
    assert BUCKET in result["location"]
    assert sandbox.control.egress(job.egress_id).room_composite.layout == "grid"
    assert_no_secrets(job)


def test_it_follows_the_job_to_active(producer, admin, sandbox: RunningSandbox):
    job = start(producer, file_config(make_profile(admin)))

    job = live(sandbox, job)

    assert job.status == EgressStatus.ACTIVE
    assert job.is_active
    assert job.can_stop
    assert job.can_update_layout
    assert not job.can_update_stream


def test_it_starts_once_per_launch_token(producer, admin, sandbox: RunningSandbox):
    config, token = file_config(make_profile(admin)), new_token()

    first = actions.start_egress(producer, config, launch_token=token)
    second = actions.start_egress(producer, config, launch_token=token)

    assert second.pk == first.pk
    assert EgressJob.objects.count() == 1
    assert len(sandbox.control.egresses()) == 1


def test_it_does_not_retry_a_refused_launch_on_a_second_submit(producer, sandbox: RunningSandbox):
    sandbox.control.add_room("no-workers-studio")
    config, token = stream_config(make_destination(producer), room="no-workers-studio"), new_token()
    with pytest.raises(actions.LaunchError):
        actions.start_egress(producer, config, launch_token=token)

    again = actions.start_egress(producer, config, launch_token=token)

    assert again.launch_state == LaunchState.REFUSED
    assert EgressJob.objects.count() == 1


def test_it_refuses_an_invalid_config_and_writes_nothing(producer, admin, sandbox):
    config = file_config(make_profile(admin))
    config["room_name"] = ""

    with pytest.raises(ValidationError) as caught:
        start(producer, config)

    assert "room_name" in caught.value.message_dict
    assert not EgressJob.objects.exists()
    assert sandbox.control.egresses() == []


def test_it_refuses_a_launch_token_that_is_not_a_uuid(producer, admin, sandbox):
    with pytest.raises(ValidationError) as caught:
        actions.start_egress(producer, file_config(make_profile(admin)), launch_token="twice")

    assert "launch_token" in caught.value.message_dict
    assert not EgressJob.objects.exists()


def test_it_keeps_secrets_out_of_the_job_and_the_real_urls_encrypted(
    producer, admin, sandbox: RunningSandbox
):
    destination = make_destination(admin)
    config = stream_config(destination)

    job = start(
        producer,
        file_config(make_profile(admin), stream=config["outputs"]["stream"]),
        adhoc_urls=[ADHOC],
    )

    assert list(job.destinations.all()) == [destination]
    assert job.config["outputs"]["stream"]["adhoc"] == ["rtmp://live.example.com/app/{SEC...123}"]
    assert job.adhoc_outputs == ["rtmp://live.example.com/app/{SEC...123}"]
    assert job.stream_output_url("adhoc:0") == ADHOC
    assert job.stream_output_url(f"destination:{destination.pk}").endswith(STREAM_KEY)
    assert ADHOC_KEY not in job.encrypted_secrets
    assert job.stream_outputs() == [
        (f"destination:{destination.pk}", "YouTube"),
        ("adhoc:0", "rtmp://live.example.com/app/{SEC...123}"),
    ]
    assert_no_secrets(job)


def test_it_keeps_a_websocket_token_out_of_the_job(producer, sandbox: RunningSandbox):
    websocket = "ws://127.0.0.1:9/audio?token=SECRET-jobs-ws-token-XYZ123"
    track = {
        "track_id": sandbox.control.track_sid("podcast", "host", "microphone"),
        "websocket_url": websocket,
        "track_kind": "audio",
    }
    config = {"api": "v1", "kind": "track", "room_name": "podcast", "track": track}

    job = start(producer, config)

    assert job.config["track"]["websocket_url"] == "ws://127.0.0.1:9/audio?token={...}"
    assert job.stream_output_url("track:websocket_url") == websocket
    assert job.egress_id
    job = ended(sandbox, job, "FAILED")  # nobody listens on port 9
    assert "SECRET-jobs-ws-token-XYZ123" not in stored_text(job)
    assert job.results["streams"][0]["url"] == "ws://127.0.0.1:9/audio?token={...}"


def test_it_rotates_the_kept_urls_with_every_other_secret(
    producer, sandbox: RunningSandbox, settings: Settings
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old]
    job = start(producer, stream_config(make_destination(producer)), adhoc_urls=[ADHOC])
    settings.SECRETS_ENCRYPTION_KEYS = [new, old]

    actions.rotate_all_secrets(producer)

    settings.SECRETS_ENCRYPTION_KEYS = [new]
    job.refresh_from_db()
    assert job.stream_output_url("adhoc:0") == ADHOC


# --- LiveKit refuses ----------------------------------------------------------------------------
def test_it_keeps_no_worker_on_the_job(producer, admin, sandbox: RunningSandbox):
    sandbox.control.add_room("no-workers-studio")

    job = refusal(producer, file_config(make_profile(admin), room="no-workers-studio"))

    assert job.launch_state == LaunchState.REFUSED
    assert (job.egress_id, job.status, job.error_code) == (None, "", 503)
    assert "no egress worker accepted the job" in job.error.lower()
    assert job.details == "Twirp unavailable: twirp error unknown: no response from servers"
    assert not job.is_active
    assert not job.can_stop
    assert job.status_label == "Refused by LiveKit"
    assert_no_secrets(job)
    # The timeline tells the answer the page shows.
    [answer] = LedgerEntry.objects.filter(job=job)
    assert (answer.source, answer.event) == (LedgerSource.API, "StartRoomCompositeEgress")
    assert answer.reason == job.error


def test_it_keeps_a_missing_room_on_the_job(producer, admin, sandbox: RunningSandbox):
    job = refusal(producer, file_config(make_profile(admin), room="closed-room"))

    assert (job.launch_state, job.error_code) == (LaunchState.REFUSED, 404)
    assert "“closed-room” does not exist" in job.error
    assert job.details == "Twirp not_found: requested room does not exist"


def test_it_keeps_refused_credentials_on_the_job(
    producer, admin, sandbox: RunningSandbox, settings: Settings
):
    settings.LIVEKIT_API_SECRET = "not-the-secret"

    job = refusal(producer, file_config(make_profile(admin)))

    assert (job.launch_state, job.error_code) == (LaunchState.REFUSED, 401)
    assert "LIVEKIT_API_SECRET" in job.error
    assert job.details.startswith("Twirp unauthenticated: invalid token")
    assert "eyJ" not in job.details  # LiveKit quotes the token; the client hides it


def test_it_keeps_an_unreachable_livekit_on_the_job(
    producer, admin, sandbox, settings: Settings, closed_port_url: str
):
    settings.LIVEKIT_URL = closed_port_url

    job = refusal(producer, file_config(make_profile(admin)))

    assert (job.launch_state, job.error_code) == (LaunchState.REFUSED, None)
    assert job.error.startswith(f"LiveKit is unreachable at {closed_port_url}")
    assert job.details.startswith("Twirp unavailable: ")


def test_it_keeps_an_invalid_argument_without_the_stream_key(
    producer, admin, sandbox: RunningSandbox
):
    # Saved before LiveKit's URL rules were checked: no app part, so egress refuses the URL.
    destination = make_destination(admin)
    destination.set_secrets({"server_url": "rtmp://ingest.example.com", "stream_key": STREAM_KEY})
    destination.save()

    job = refusal(producer, stream_config(destination))

    assert (job.launch_state, job.error_code) == (LaunchState.REFUSED, 400)
    assert job.error.startswith("LiveKit rejected the request: invalid url")
    assert job.details.startswith("Twirp invalid_argument: invalid url rtmp://ingest.example.com/")
    assert "example.com/{…}: rtmp urls must be" in job.details  # not an RTMP URL egress redacts
    assert_no_secrets(job)


def test_it_names_the_field_livekit_says_is_missing():
    # The launch rules catch every such field before the call, so the sandbox cannot be made to
    # answer it through start_egress: the wording is checked on the error itself.
    error = LiveKitError("invalid_argument", "request has missing or invalid field: width", 400)

    assert _plain(error, "town-hall") == (
        "LiveKit rejected the request: the field “width” is missing or invalid."
    )


# --- LiveKit does not answer --------------------------------------------------------------------
def test_it_adopts_the_egress_a_timed_out_start_created(
    producer, admin, sandbox: RunningSandbox, settings: Settings
):
    sandbox.control.add_room("slow-studio")
    settings.LIVEKIT_START_TIMEOUT = 0.3

    job = start(producer, file_config(make_profile(admin), room="slow-studio"))

    [created] = sandbox.control.egresses()
    assert (job.launch_state, job.egress_id) == (LaunchState.LAUNCHED, created.egress_id)
    assert job.status in (EgressStatus.STARTING, EgressStatus.ACTIVE)  # as listed
    assert job.error == job.details == ""
    assert job.results["files"][0]["filename"] == "rec/slow-studio.mp4"


def test_it_does_not_adopt_an_egress_another_job_owns(
    producer, admin, sandbox: RunningSandbox, settings: Settings
):
    sandbox.control.add_room("slow-studio")
    profile = make_profile(admin)
    first = start(producer, file_config(profile, room="slow-studio"))
    settings.LIVEKIT_START_TIMEOUT = 0.3

    # Same room, same request: only the second egress can be this launch's.
    second = start(producer, file_config(profile, room="slow-studio"))

    assert first.egress_id != second.egress_id
    assert {first.egress_id, second.egress_id} == {
        info.egress_id for info in sandbox.control.egresses()
    }


class _SilentStart(http.server.BaseHTTPRequestHandler):
    """A proxy to the sandbox that swallows every Start*: LiveKit never hears of the launch."""

    upstream = ""
    release = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if "/Start" in self.path:
            self.release.wait(5)
            return
        headers = {name: self.headers[name] for name in ("Authorization", "Content-Type")}
        answer = httpx.post(self.upstream + self.path, content=body, headers=headers)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers["Content-Type"])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def silent_start(sandbox: RunningSandbox, settings: Settings) -> Iterator[None]:
    handler = type("Handler", (_SilentStart,), {"upstream": sandbox.url})
    handler.release = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LIVEKIT_URL = f"http://127.0.0.1:{server.server_port}"
    settings.LIVEKIT_START_TIMEOUT = 0.3
    yield
    handler.release.set()
    server.shutdown()
    server.server_close()


def test_it_leaves_the_outcome_unknown_when_no_egress_turns_up(
    producer, admin, sandbox: RunningSandbox, silent_start
):
    job = refusal(producer, file_config(make_profile(admin)))

    assert (job.launch_state, job.egress_id, job.status) == (LaunchState.UNKNOWN, None, "")
    assert job.error == (
        "LiveKit did not answer within 0.3 s; no egress was found for this launch. It may still "
        "appear: check the job list before starting it again."
    )
    assert job.details.startswith("Twirp deadline_exceeded: LiveKit did not answer")
    assert sandbox.control.egresses() == []


def test_it_does_not_start_again_after_an_unknown_outcome(
    producer, admin, sandbox: RunningSandbox, silent_start
):
    config, token = file_config(make_profile(admin)), new_token()
    with pytest.raises(actions.LaunchError):
        actions.start_egress(producer, config, launch_token=token)

    again = actions.start_egress(producer, config, launch_token=token)

    assert again.launch_state == LaunchState.UNKNOWN
    assert EgressJob.objects.count() == 1


def test_it_refuses_a_start_past_the_concurrency_limit_and_writes_nothing(
    producer, admin, sandbox: RunningSandbox, settings: Settings
):
    settings.EGRESS_CONCURRENCY_LIMIT = 1
    profile = make_profile(admin)
    live(sandbox, start(producer, file_config(profile)))

    with pytest.raises(ValidationError) as refused:
        start(producer, file_config(profile, room="podcast"))

    assert refused.value.messages == [
        "1 of the 1 egress your LiveKit plan runs at once are busy (EGRESS_CONCURRENCY_LIMIT): "
        "stop one first, then start this again."
    ]
    assert EgressJob.objects.count() == 1
