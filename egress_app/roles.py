"""The three roles and what each may do, in one place.

A role is a Django group holding explicit permissions (created by migration 0002). Views check
permissions, never group names, so a superuser passes every check and a new role needs no code.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AbstractUser, AnonymousUser, Group

APP_LABEL = "egress_app"

# Permission codenames on the `Access` model (egress_app.models), with their human names.
VIEW_DASHBOARD = "view_dashboard"
LAUNCH_EGRESS = "launch_egress"
CONTROL_EGRESS = "control_egress"
VIEW_ALL_JOBS = "view_all_jobs"
MANAGE_STORAGE = "manage_storage"
MANAGE_DESTINATIONS = "manage_destinations"
MANAGE_USERS = "manage_users"
MANAGE_ENGINES = "manage_engines"
MANAGE_ALERTS = "manage_alerts"

PERMISSIONS: dict[str, str] = {
    VIEW_DASHBOARD: "Can open the dashboard and its live overview",
    LAUNCH_EGRESS: "Can launch egress (recordings and streams)",
    CONTROL_EGRESS: "Can stop and update running egress",
    VIEW_ALL_JOBS: "Can review every job, not only their own",
    MANAGE_STORAGE: "Can manage storage credentials",
    MANAGE_DESTINATIONS: "Can manage stream destinations",
    MANAGE_USERS: "Can manage users and their roles",
    MANAGE_ENGINES: "Can manage speech-to-text engine profiles and their keys",
    MANAGE_ALERTS: "Can manage alert channels and notification rules",
}

# Django admin's own permissions, so admins can manage users and groups there.
AUTH_ADMIN_PERMISSIONS = tuple(
    f"auth.{action}_{model}"
    for model in ("user", "group")
    for action in ("add", "change", "delete", "view")
)

# django-axes's records of sign-ins, so admins can see lockouts and lift one in Django admin
# (deleting an access attempt unlocks it).
SIGNIN_ADMIN_PERMISSIONS = (
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accessfailurelog",
    "axes.view_accesslog",
)

PRODUCERS = "producers"
ADMINS = "admins"
SUPPORT = "support"


def perm(codename: str) -> str:
    """The dotted name `user.has_perm()` expects."""
    return f"{APP_LABEL}.{codename}"


ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    PRODUCERS: (perm(VIEW_DASHBOARD), perm(LAUNCH_EGRESS), perm(CONTROL_EGRESS)),
    ADMINS: tuple(perm(codename) for codename in PERMISSIONS)
    + AUTH_ADMIN_PERMISSIONS
    + SIGNIN_ADMIN_PERMISSIONS,
    # Support reviews every job, triages failures (notes, acknowledge, resolve) and may start a
    # finished job again (Retry, `may_retry`), and controls the retries it started
    # (`may_control`); it cannot launch, nor stop or update other egress, nor touch
    # credentials, destinations or users.
    SUPPORT: (perm(VIEW_DASHBOARD), perm(VIEW_ALL_JOBS)),
}

# Highest first: a user in several groups is shown with the most powerful one.
ROLE_LABELS: dict[str, str] = {ADMINS: "Admin", PRODUCERS: "Producer", SUPPORT: "Support"}

AnyUser = AbstractBaseUser | AnonymousUser


class Started(Protocol):
    """What `may_retry` and `may_control` need of a job (an EgressJob: the models import this
    module)."""

    @property
    def started_by_id(self) -> int | None: ...


def role_for_groups(group_names: set[str], *, superuser: bool = False) -> str | None:
    """The display label of the most powerful role among these group names."""
    if superuser:
        return ROLE_LABELS[ADMINS]
    return next((label for name, label in ROLE_LABELS.items() if name in group_names), None)


def user_role(user: AnyUser) -> str | None:
    """The user's role for display ("Admin", "Producer", "Support"), or None without one."""
    if not user.is_authenticated:
        return None
    names = set(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))
    return role_for_groups(names, superuser=getattr(user, "is_superuser", False))


def may_retry(user: AbstractUser | AnonymousUser, job: Started) -> bool:
    """Whether `user` may start `job` again (Retry): reviewers (support, admins) any job,
    producers only the jobs they started."""
    if user.has_perm(perm(VIEW_ALL_JOBS)):
        return True
    owner = job.started_by_id is not None and job.started_by_id == user.pk
    return owner and user.has_perm(perm(LAUNCH_EGRESS))


def may_control(user: AbstractUser | AnonymousUser, job: Started) -> bool:
    """Whether `user` may stop `job` or change its layout and streams: whoever started it (a
    support agent's retry included), admins (control_egress with view_all_jobs) any job, and
    other producers only where `EGRESS_PRODUCERS_SHARE_CONTROL` shares every job with them."""
    if not user.is_authenticated:
        return False
    owner = job.started_by_id is not None and job.started_by_id == user.pk
    if owner and user.has_perm(perm(VIEW_DASHBOARD)):
        return True
    if not user.has_perm(perm(CONTROL_EGRESS)):
        return False
    return user.has_perm(perm(VIEW_ALL_JOBS)) or settings.EGRESS_PRODUCERS_SHARE_CONTROL


def may_listen(user: AbstractUser | AnonymousUser) -> bool:
    """Whether `user` may start an audio session (its taps are egress they launch): producers
    and admins; support and people without a role may not."""
    return user.is_authenticated and user.has_perm(perm(LAUNCH_EGRESS))


def may_moderate(user: AbstractUser | AnonymousUser) -> bool:
    """Whether `user` may mute a participant's track or remove a participant from a room (the
    Live page's moderation): producers and admins, who run shows; support may not."""
    return user.is_authenticated and user.has_perm(perm(CONTROL_EGRESS))


def may_delete_transcript(user: AbstractUser | AnonymousUser) -> bool:
    """Whether `user` may delete a transcript: admins (control_egress with view_all_jobs, as
    `may_control` knows them); producers and support read and download only."""
    if not user.is_authenticated:
        return False
    return user.has_perm(perm(CONTROL_EGRESS)) and user.has_perm(perm(VIEW_ALL_JOBS))
