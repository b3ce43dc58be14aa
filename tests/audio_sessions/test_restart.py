"""A dashboard restart mid-session (issue 14, section 1): egress fails when our side of its
socket goes and never dials again; the reconciler starts new taps, and the session's timeline
shows how long each track went unheard."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from egress_app.actions.reconcile import reconcile
from egress_app.models import EgressStatus, TapState
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.conftest import serving_dashboard
from tests.audio_sessions.test_endpoint import folded, listening, tap_of, taps, until
from tests.dashboard.test_home import text_of


def test_it_taps_again_after_a_restart_and_shows_the_gap(
    producer: User,
    transactional_db: None,
    django_db_serialized_rollback: None,
    sandbox: RunningSandbox,
    settings: Settings,
):
    with serving_dashboard(settings, ws_ping_interval=0) as before:
        first = listening(before, sandbox, producer)
    # The dashboard is gone: each egress fails on its next write, as LiveKit reports it.
    with serving_dashboard(settings, ws_ping_interval=0) as after:
        for tap in first:
            assert tap.job is not None
            assert folded(after, sandbox, tap.job, "FAILED").status == EgressStatus.FAILED

        after.run(reconcile)

        session = first[0].session
        again = [tap for tap in taps(after, session) if tap.pk not in {t.pk for t in first}]
        assert sorted(tap.track_sid for tap in again) == sorted(tap.track_sid for tap in first)
        for tap in again:
            until(lambda t=tap: tap_of(after, t.pk).state, TapState.CONNECTED.__eq__, "again")
        page = after.run(_session_page, producer, session.pk)

    assert page.count("egress connected · gap ") == 2
    assert page.count("egress Failed") == 2


def _session_page(user: User, pk: int) -> str:
    client = Client()
    client.force_login(user)
    return text_of(client.get(reverse("dashboard-audio-session", args=[pk])))
