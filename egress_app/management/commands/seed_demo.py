"""Create the demo users (development only): `python manage.py seed_demo`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from egress_app.roles import ADMINS, PRODUCERS, SUPPORT


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


class Command(BaseCommand):
    help = "Create the demo users producer, admin and support with known passwords (dev only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT == "production" or not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users with publicly known passwords, so it only runs in "
                "development (DEBUG on and ENVIRONMENT not 'production')."
            )
        seed_demo_users()
        self.stdout.write(self.style.SUCCESS("Demo users are ready."))
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
