"""Create the demo users and a little job history (development only): `python manage.py
seed_demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from egress_app.launch.normalize import normalize_launch_config
from egress_app.models import (
    EgressJob,
    EgressStatus,
    EngineKind,
    EngineProfile,
    LedgerEntry,
    LedgerOutcome,
    LedgerSource,
    StorageProfile,
)
from egress_app.roles import ADMINS, PRODUCERS, SUPPORT
from egress_app.storage.providers import PROVIDERS


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    superuser: bool = False


# Known passwords on purpose: anyone with the README can log in, which is why the command
# refuses to run anywhere but a development machine.
DEMO_USERS = (
    DemoUser("producer", "producer-demo-pass", PRODUCERS),
    DemoUser("admin", "admin-demo-pass", ADMINS, superuser=True),
    DemoUser("support", "support-demo-pass", SUPPORT),
)


def seed_demo_users() -> list[User]:
    """Create or reset the demo users; running it again changes nothing else."""
    with transaction.atomic():
        return [_seed(demo) for demo in DEMO_USERS]


def _seed(demo: DemoUser) -> User:
    user, _ = User.objects.get_or_create(username=demo.username)
    user.set_password(demo.password)
    # The demo admin also gets Django admin (/admin/) for users and roles.
    user.is_staff = user.is_superuser = demo.superuser
    user.is_active = True
    user.save()
    user.groups.set([Group.objects.get(name=demo.role)])
    return user


@dataclass(frozen=True)
class DemoJob:
    """A finished job of the demo history: LiveKit's words as it reports them."""

    egress_id: str
    config: dict[str, Any]
    status: EgressStatus
    hours_ago: int
    error: str = ""
    error_code: int | None = None
    details: str = ""


def _recording(room: str) -> dict[str, Any]:
    return {
        "kind": "room_composite",
        "room_name": room,
        "outputs": {"file": {"filepath": "demo/{room_name}-{time}.mp4"}},
        "server_storage": True,
    }


# Ids of LiveKit's shape that no egress of LiveKit's will ever have (they spell "demo").
DEMO_JOBS = (
    DemoJob("EG_demoComplete01", _recording("town-hall"), EgressStatus.COMPLETE, 26),
    DemoJob(
        "EG_demoStartSignal",
        {
            "kind": "web",
            "web": {"url": "https://example.com/show", "await_start_signal": True},
            "outputs": {"file": {}},
            "server_storage": True,
        },
        EgressStatus.ABORTED,
        5,
        error="Start signal not received",
        error_code=412,
    ),
    DemoJob(
        "EG_demoRoomLost01",
        _recording("podcast"),
        EgressStatus.FAILED,
        2,
        error="recording ended early: connection to room failed",
        error_code=503,
        details="End reason: Failure",
    ),
)


def seed_demo_jobs(owner: User) -> list[EgressJob]:
    """Create the demo history, started by `owner`: one recording that completed and two that
    failed in ways the failure inbox knows, each with the webhooks it would have had. No
    LiveKit is asked: these are records. Run again,
    it writes each job's own fields (status, times, error, configuration) back as they were
    first seeded; what was done with the jobs since (triage, flags, notes, retries) is kept."""
    with transaction.atomic():
        return [_seed_job(demo, owner) for demo in DEMO_JOBS]


def _seed_job(demo: DemoJob, owner: User) -> EgressJob:
    started = timezone.now() - timedelta(hours=demo.hours_ago)
    ended = started + timedelta(minutes=47 if demo.status == EgressStatus.COMPLETE else 1)
    config = normalize_launch_config(demo.config)
    results: dict[str, Any] = {}
    if demo.status == EgressStatus.COMPLETE:
        name = f"demo/{config['room_name']}-{started:%Y-%m-%dT%H%M%S}.mp4"
        file = {"filename": name, "location": f"/recordings/{name}", "size": 183_500_800}
        results = {"files": [file | {"duration": 2820.0}]}
    job, _ = EgressJob.objects.update_or_create(
        egress_id=demo.egress_id,
        defaults={
            "kind": config["kind"],
            "room_name": config["room_name"],
            "status": demo.status,
            "started_by": owner,
            "config": config,
            "started_at": started,
            "ended_at": ended,
            "updated_at": ended,
            "error": demo.error,
            "error_code": demo.error_code,
            "details": demo.details,
            "results": results,
        },
    )
    _seed_webhooks(job, started, ended)
    return job


def _seed_webhooks(job: EgressJob, started: datetime, ended: datetime) -> None:
    """The two webhooks such a job would have had, so its timeline tells what its page shows
    (LiveKit's error in the last one)."""
    heard = [
        ("egress_started", started, EgressStatus.ACTIVE, ""),
        ("egress_ended", ended, job.status, job.error or job.details),
    ]
    for event, at, status, reason in heard:
        LedgerEntry.objects.update_or_create(
            job=job,
            event=event,
            source=LedgerSource.WEBHOOK,
            defaults={
                "outcome": LedgerOutcome.APPLIED,
                "egress_id": job.egress_id or "",
                "room_name": job.room_name,
                "status": status,
                "received_at": at,
                "reason": reason,
            },
        )


DEMO_ENGINE = "Built-in (offline)"


def seed_demo_engine() -> EngineProfile:
    """The built-in engine as the default profile, so Transcribe works out of the box (kept as
    it is when it exists; no other profile is made the default)."""
    profile, _ = EngineProfile.objects.get_or_create(
        name=DEMO_ENGINE,
        defaults={
            "kind": EngineKind.BUILTIN,
            "config": {"language": "en"},
            "is_default": not EngineProfile.objects.filter(is_default=True).exists(),
        },
    )
    return profile


DEMO_STORAGE = "Demo S3 (local)"
DEMO_BUCKET = "demo-recordings"
DEMO_REGION = "us-east-1"
# moto's server checks no signature: any key pair works; these name themselves as the demo's.
DEMO_S3_KEYS = {"access_key": "DEMOACCESSKEY0000001", "secret": "demo-s3-secret-not-a-real-key"}


def demo_s3_endpoint() -> str:
    return f"http://127.0.0.1:{settings.DEMO_S3_PORT}"


def uses_sandbox() -> bool:
    """True when LiveKit is `make run`'s sandbox (LIVEKIT_URL unset), beside the demo S3."""
    return f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}" == settings.LIVEKIT_URL


def seed_demo_storage() -> StorageProfile | None:
    """The storage profile for `make run`'s local S3 (moto's server, started by scripts/run-dev
    with the bucket), so the first recording is really uploaded and can be played. Made the
    default when no profile is; run again, it points at DEMO_S3_PORT again and keeps the rest.
    None with a real LiveKit: its egress could not reach this machine's S3."""
    if not uses_sandbox():
        return None
    spec = PROVIDERS["s3"]
    config = spec.clean(
        {
            "bucket": DEMO_BUCKET,
            "region": DEMO_REGION,
            "endpoint": demo_s3_endpoint(),
            "force_path_style": True,
        }
    )
    with transaction.atomic():
        profile = StorageProfile.objects.filter(name=DEMO_STORAGE).first()
        if profile is None:
            profile = StorageProfile(
                name=DEMO_STORAGE,
                provider="s3",
                is_default=not StorageProfile.objects.filter(is_default=True).exists(),
            )
        profile.config = config
        profile.set_secrets(spec.clean_secrets(DEMO_S3_KEYS))
        profile.save()
    return profile


class Command(BaseCommand):
    help = (
        "Create the demo users producer, admin and support with known passwords, and a little "
        "job history (dev only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT == "production" or not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users with publicly known passwords, so it only runs in "
                "development (DEBUG on and ENVIRONMENT not 'production')."
            )
        users = seed_demo_users()
        seed_demo_jobs(next(user for user in users if user.username == "producer"))
        seed_demo_engine()
        seed_demo_storage()
        self.stdout.write(self.style.SUCCESS("Demo users and job history are ready."))
        self.stdout.write(f"Log in at {settings.SITE_ROOT}{reverse('login')}\n")
        self.stdout.write(_table(DEMO_USERS))


def _table(users: tuple[DemoUser, ...]) -> str:
    rows = [("username", "password", "role")]
    rows += [(demo.username, demo.password, demo.role) for demo in users]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
