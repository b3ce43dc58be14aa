"""Every page a person can open, for each demo role that may open it, with demo data in it
(tables have rows, the job page has a running egress with its Stop button): the pages the
phone-width and contrast checks walk through.

`seed_every_page` writes the rows before the browser starts (see conftest.py) and returns the
pages as (role, path) pairs; `log_in_as` signs a page in as a demo role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from egress_app import actions
from egress_app.actions import alerts, people
from egress_app.actions.room_rules import RuleInput, save_rule
from egress_app.management.commands.seed_demo import seed_demo_jobs
from egress_app.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AudioSession,
    EgressJob,
    EgressStatus,
    EngineKind,
    NotificationRule,
    Recipe,
    RunState,
    Schedule,
    ScheduleRun,
    StorageProfile,
    StreamDestination,
    TranscriptGap,
    Transcription,
    Utterance,
)
from egress_app.roles import PRODUCERS
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import file_config, live, make_destination, make_profile, start

PASSWORDS = {
    "producer": "producer-demo-pass",
    "admin": "admin-demo-pass",
    "support": "support-demo-pass",
}
EVERYONE = ("producer", "admin", "support")
LAUNCHERS = ("producer", "admin")
REVIEWERS = ("admin", "support")
ADMINS = ("admin",)


@dataclass(frozen=True)
class Shown:
    """A page (URL name and its arguments) and the demo roles that may open it."""

    name: str
    roles: tuple[str, ...]
    args: tuple[int, ...] = ()
    query: str = ""  # e.g. "?words=river": a search's results
    status: int = 200  # a page that says why something cannot be done answers 4xx

    @property
    def path(self) -> str:
        return reverse(self.name, args=self.args) + self.query


def seed_every_page(users: list[User], sandbox: RunningSandbox) -> list[Shown]:
    """Rows for every list, a running job, and an egress running in the sandbox's town hall
    (its room card shows it with a healthy and a failing stream); returns every page that
    shows them."""
    admin = next(user for user in users if user.username == "admin")
    producer = next(user for user in users if user.username == "producer")
    done = seed_demo_jobs(producer)
    profile = make_profile(admin)
    destination = make_destination(admin, name="YouTube main channel of the town hall")
    recipe = actions.save_recipe(
        producer, name="Town hall 1080p recording", config=file_config(profile)
    )
    running = EgressJob.objects.create(
        egress_id="EG_everyPageRun1",
        kind="room_composite",
        room_name="town-hall-with-a-rather-long-room-name",
        status=EgressStatus.ACTIVE,
        started_by=producer,
        config=file_config(profile, room="town-hall-with-a-rather-long-room-name"),
        started_at=timezone.now() - timedelta(minutes=7),
    )
    seed_live_show(producer, admin, sandbox, profile, destination)
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    transcript = seed_transcript(session)
    rule = save_rule(
        producer,
        RuleInput(pattern="town-hall-with-a-rather-long-*", recipe_id=recipe.pk, each_track=True),
    )
    engine = actions.create_engine_profile(
        admin,
        name="Gladia, EU region, for the town hall",
        kind="gladia",
        config={"region": "eu-west", "languages": "en, fr"},
        secrets={"api_key": "gladia-every-page-key-1234"},
    )
    token = actions.create_token(
        producer,
        name="Nightly CI recordings of the town hall, with a long name",
        expires_at=timezone.now() + timedelta(days=30),
    ).token
    actions.record_use(token, "2001:db8:85a3::8a2e:370:7334")
    invited, _ = people.create_person(
        admin,
        username="invited-with-a-rather-long-username-for-a-phone",
        email="invited.person.with.a.long.address@example-company.example.com",
        role=PRODUCERS,
        password=None,
    )
    channel, alert_rule = seed_alerts(admin, running)
    schedule = seed_schedule(producer, recipe)
    return [
        Shown("dashboard-home", EVERYONE),
        Shown("dashboard-live-record", LAUNCHERS, query="?room=town-hall"),
        Shown("dashboard-live-stream", LAUNCHERS, query="?room=town-hall"),
        Shown("dashboard-launch", LAUNCHERS),
        Shown("dashboard-job-list", EVERYONE),
        Shown("dashboard-job-detail", EVERYONE, (running.pk,)),
        Shown("dashboard-job-detail", EVERYONE, (done[0].pk,)),
        Shown("dashboard-job-detail", EVERYONE, (done[2].pk,)),
        # A recording the dashboard cannot link to (no storage profile): the page says why.
        Shown("dashboard-job-output-download", REVIEWERS, (done[0].pk, 0), status=409),
        Shown("dashboard-job-stop", LAUNCHERS, (running.pk,)),
        Shown("dashboard-failures", REVIEWERS),
        Shown("dashboard-reports", REVIEWERS),
        Shown("dashboard-audit", REVIEWERS),
        Shown("dashboard-recipe-list", LAUNCHERS),
        Shown("dashboard-recipe-delete", LAUNCHERS, (recipe.pk,)),
        Shown("dashboard-rule-list", EVERYONE),
        Shown("dashboard-rule-create", LAUNCHERS),
        Shown("dashboard-rule-edit", LAUNCHERS, (rule.pk,)),
        Shown("dashboard-rule-delete", LAUNCHERS, (rule.pk,)),
        Shown("dashboard-room-create", LAUNCHERS),
        Shown("dashboard-schedule-list", EVERYONE),
        Shown("dashboard-schedule-detail", EVERYONE, (schedule.pk,)),
        Shown("dashboard-schedule-add", LAUNCHERS),
        Shown("dashboard-schedule-edit", LAUNCHERS, (schedule.pk,)),
        Shown("dashboard-schedule-delete", LAUNCHERS, (schedule.pk,)),
        Shown("dashboard-storage-list", ADMINS),
        Shown("dashboard-storage-create", ADMINS),
        Shown("dashboard-storage-edit", ADMINS, (profile.pk,)),
        Shown("dashboard-storage-delete", ADMINS, (profile.pk,)),
        Shown("dashboard-destination-list", ADMINS),
        Shown("dashboard-destination-create", ADMINS),
        Shown("dashboard-destination-edit", ADMINS, (destination.pk,)),
        Shown("dashboard-destination-delete", ADMINS, (destination.pk,)),
        Shown("dashboard-engine-list", EVERYONE),  # producers and support: the names only
        Shown("dashboard-engine-create", ADMINS),
        Shown("dashboard-engine-edit", ADMINS, (engine.pk,)),
        Shown("dashboard-engine-delete", ADMINS, (engine.pk,)),
        Shown("dashboard-audio-session", EVERYONE, (session.pk,)),
        Shown("dashboard-audio-stop", LAUNCHERS, (session.pk,)),
        Shown("dashboard-transcript-list", EVERYONE),
        Shown("dashboard-transcript-list", EVERYONE, query="?words=river"),
        Shown("dashboard-transcript-detail", EVERYONE, (transcript.pk,)),
        Shown("dashboard-transcript-delete", ADMINS, (transcript.pk,)),
        Shown("dashboard-token-list", EVERYONE),  # support's is the empty state
        Shown("dashboard-token-revoke", LAUNCHERS, (token.pk,)),
        Shown("dashboard-people-list", ADMINS),
        Shown("dashboard-people-list", ADMINS, query="?q=nobody-at-all"),
        Shown("dashboard-person-create", ADMINS),
        Shown("dashboard-person-detail", ADMINS, (producer.pk,)),
        Shown("dashboard-person-detail", ADMINS, (invited.pk,)),
        Shown("dashboard-person-deactivate", ADMINS, (producer.pk,)),
        Shown("dashboard-person-reset", ADMINS, (producer.pk,)),
        # Without a link opened first, the page says to open one.
        Shown("dashboard-welcome", EVERYONE, status=410),
        Shown("dashboard-alert-list", REVIEWERS),
        Shown("dashboard-alert-list", REVIEWERS, query="?state=rate_limited"),  # none match
        Shown("dashboard-alert-channel-list", ADMINS),
        Shown("dashboard-alert-channel-create", ADMINS),
        Shown("dashboard-alert-channel-edit", ADMINS, (channel.pk,)),
        Shown("dashboard-alert-channel-delete", ADMINS, (channel.pk,)),
        Shown("dashboard-alert-rule-list", ADMINS),
        Shown("dashboard-alert-rule-create", ADMINS),
        Shown("dashboard-alert-rule-edit", ADMINS, (alert_rule.pk,)),
        Shown("dashboard-alert-rule-delete", ADMINS, (alert_rule.pk,)),
    ]


def seed_alerts(admin: User, job: EgressJob) -> tuple[AlertChannel, NotificationRule]:
    """A webhook channel, a rule for webinar rooms, and a sent and a failed delivery."""
    channel = alerts.save_alert_channel(
        admin,
        None,
        alerts.ChannelFields(name="Operations on-call webhook for the town hall", kind="webhook"),
        {"url": "https://hooks.example.com/alerts", "signing_secret": "every-page-signing-key"},
    )
    fields = alerts.RuleFields(
        "Failed webinars and their streams",
        ["job_failed", "stream_failed", "job_stuck"],
        ["upload_failed", "stream_failed"],
        "webinar-*-with-a-rather-long-pattern",
        ["room_composite", "track_composite"],
        [channel],
    )
    rule = alerts.save_rule(admin, None, fields)
    alert = Alert.objects.create(
        event="job_failed",
        dedupe_key="every-page",
        job=job,
        title=f"Job {job.pk} (Room composite) in {job.room_name}: Uploading the output failed",
    )
    AlertDelivery.objects.create(alert=alert, channel=channel, state="sent", attempts=1)
    email = alerts.save_alert_channel(
        admin, None, alerts.ChannelFields("Email", "email", "oncall@example.com"), {}
    )
    error = "The mail server refused or could not be reached: [Errno 111] Connection refused"
    AlertDelivery.objects.create(
        alert=alert, channel=email, state="pending", attempts=2, last_error=error
    )
    return channel, rule


def seed_schedule(producer: User, recipe: Recipe) -> Schedule:
    """A weekly schedule with a long room name, one run started and one never started."""
    schedule = Schedule.objects.create(
        name="Town hall every week, recorded in 1080p for the archive",
        recipe=recipe,
        room_name="town-hall-with-a-rather-long-room-name-for-the-weekly-show",
        repeat="weekly",
        weekdays=[0, 2, 4],
        at_time=time(9, 30),
        time_zone="America/Argentina/ComodRivadavia",
        next_run_at=timezone.now() + timedelta(days=1),
        created_by=producer,
    )
    ScheduleRun.objects.create(
        schedule=schedule,
        due_at=timezone.now() - timedelta(days=2),
        state=RunState.NEVER_STARTED,
        message=(
            "Room never started: no room 'town-hall-with-a-rather-long-room-name-for-the-weekly"
            "-show' by Wed 2 Dec 2026, 09:45 -03 (waited 15 min)."
        ),
    )
    return schedule


FAILING_URL = "rtmp://fail.example.com/live"  # the sandbox fails a stream to a fail.* host


def seed_live_show(
    producer: User,
    admin: User,
    sandbox: RunningSandbox,
    profile: StorageProfile,
    good: StreamDestination,
) -> EgressJob:
    """The town hall recorded and streamed live in the sandbox, one of its streams failing."""
    bad = actions.create_stream_destination(
        admin, name="Broken RTMP server", server_url=FAILING_URL, stream_key="every-page-key"
    )
    config = file_config(profile, stream={"destination_ids": [good.pk, bad.pk], "adhoc": []})
    return live(sandbox, start(producer, config))


def seed_transcript(session: AudioSession) -> Transcription:
    """A transcript of the session, with a long word a phone must break, a long turn and a gap
    with a long reason between two turns."""
    transcription = Transcription.objects.create(
        session=session, engine=EngineKind.BUILTIN, profile_name="Built-in", language="en"
    )
    lines = [
        ("host-with-a-rather-long-identity", "Welcome to the show about the river."),
        ("host-with-a-rather-long-identity", "https://example.com/a/very/long/link/" * 3),
        ("guest", "Thanks for having me; the river is " + "very " * 40 + "long."),
    ]
    start = timezone.now() - timedelta(minutes=5)
    Utterance.objects.bulk_create(
        Utterance(
            transcription=transcription,
            speaker_identity=identity,
            speaker_name=identity.title(),
            start_seconds=number * 3.0,
            end_seconds=number * 3.0 + 2.5,
            started_at=start + timedelta(seconds=number * 3),
            ended_at=start + timedelta(seconds=number * 3 + 2.5),
            text=text,
        )
        for number, (identity, text) in enumerate(lines)
    )
    TranscriptGap.objects.create(
        transcription=transcription,
        speaker_identity="guest",
        speaker_name="Guest",
        start_seconds=5.6,
        end_seconds=5.9,
        started_at=start + timedelta(seconds=5.6),
        ended_at=start + timedelta(seconds=5.9),
        reason="Deepgram was away longer than the 10 s buffer (reconnecting (1 of 5): "
        + "cannot-connect-to-wss://api.deepgram.com/v1/listen?model=nova-3&language=en)",
        engine="Deepgram live",
    )
    return transcription


def log_in_as(page: Page, role: str) -> None:
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".account")).to_contain_text(role)
