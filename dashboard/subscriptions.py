"""What a live websocket may follow: the groups of a view and its snapshot, by permission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.http import QueryDict

from dashboard import audio, fragments
from egress_app import events
from egress_app.launch.config import row_id
from egress_app.models import EgressJob
from egress_app.roles import VIEW_ALL_JOBS, VIEW_DASHBOARD, perm

User = AbstractUser | AnonymousUser


@dataclass(frozen=True)
class Subscription:
    """The groups to join, and the snapshot to render once joined: a change committed between
    the two then still arrives as a push, where rendering first would lose it. `reviewer` and
    `user_id` say, without a query, whose finished jobs a push may still show (`sees_ended`)."""

    groups: tuple[str, ...]
    snapshot: Callable[[], str]
    user_id: int | None = None
    reviewer: bool = False

    def sees_ended(self, owner_id: int | None) -> bool:
        """Whether the user may see a finished job of `owner_id`'s (dashboard.fragments.jobs_for:
        reviewers every one, others only their own)."""
        return self.reviewer or (owner_id is not None and owner_id == self.user_id)


def subscribe(user: User | None, params: dict[str, str]) -> Subscription | None:
    """None when the user may not follow the view (anonymous, wrong role, not their job)."""
    if user is None or not user.is_authenticated:
        return None
    view = params.get("view", "")
    if view == "jobs":
        return _jobs(user, params)
    if view == "job":
        return _job(user, params.get("id", ""))
    if view == "audio":
        return _audio(user, params.get("id", ""))
    if view == "home" and user.has_perm(perm(VIEW_DASHBOARD)):
        return Subscription((events.group(events.HOME),), fragments.home_refresh)
    return None


def _jobs(user: User, params: dict[str, str]) -> Subscription | None:
    if user.has_perm(perm(VIEW_ALL_JOBS)):
        groups: tuple[str, ...] = (events.group(events.ALL_JOBS),)
    elif fragments.sees_jobs(user):
        groups = (events.group(events.ACTIVE_JOBS), events.group(events.USER_JOBS, user.pk))
    else:
        return None
    query = QueryDict(mutable=True)
    query.update({name: value for name, value in params.items() if name != "view"})
    return Subscription(groups, lambda: fragments.job_rows(user, query))


def _job(user: User, job_id: str) -> Subscription | None:
    if (pk := row_id(job_id)) is None or not fragments.sees_jobs(user):
        return None
    job = fragments.jobs_for(user).filter(pk=pk).first()
    if job is None:
        return None
    groups = (events.group(events.JOB, job.pk),)
    reviewer = user.has_perm(perm(VIEW_ALL_JOBS))
    return Subscription(groups, lambda: _live(user, job), user.pk, reviewer)


def _live(user: User, job: EgressJob) -> str:
    """The job's live part as it is now (read again: it may have changed since the check, and
    ended out of the user's sight)."""
    fresh = fragments.jobs_for(user).filter(pk=job.pk).first()
    return fragments.job_live(fresh) if fresh is not None else fragments.job_withheld()


def _audio(user: User, session_id: str) -> Subscription | None:
    """An audio session's page: its meters and taps, for whoever may open the page."""
    if (pk := row_id(session_id)) is None or not audio.sessions_for(user).filter(pk=pk).exists():
        return None
    return Subscription((events.group(events.AUDIO, pk),), lambda: audio.live_push(pk))
