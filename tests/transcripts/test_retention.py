"""Transcript retention (issue 15, section 3): with `TRANSCRIPT_RETENTION_DAYS` set, the worker
deletes transcripts started longer ago than that, utterances with them; empty keeps them all."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from egress_app import actions
from egress_app.models import AudioSession, AudioSessionState, Transcription, Utterance
from egress_app.sandbox.testing import RunningSandbox
from tests.transcripts.conftest import PODCAST, make_transcript

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_and_new() -> tuple[Transcription, Transcription]:
    now = timezone.now()
    old = make_transcript("old-show", created_at=now - timedelta(days=31), lines=PODCAST)
    new = make_transcript("new-show", created_at=now - timedelta(days=29), lines=PODCAST)
    AudioSession.objects.update(state=AudioSessionState.ENDED)
    return old, new


def test_it_keeps_every_transcript_when_no_retention_is_set(settings, old_and_new):
    settings.TRANSCRIPT_RETENTION_DAYS = None
    assert actions.purge_transcripts() == 0
    assert Transcription.objects.count() == 2


def test_it_purges_transcripts_past_their_retention(settings, old_and_new, monkeypatch):
    monkeypatch.setattr("egress_app.actions.transcripts.PURGE_BATCH", 1)
    settings.TRANSCRIPT_RETENTION_DAYS = 30
    old, new = old_and_new
    make_transcript("older-show", created_at=old.created_at - timedelta(days=1))
    AudioSession.objects.update(state=AudioSessionState.ENDED)  # over, never marked ended
    running = make_transcript("month-long-show", created_at=old.created_at)  # its engine writes
    assert actions.purge_transcripts() == 2
    assert Transcription.objects.filter(pk=running.pk).exists()
    Transcription.objects.filter(pk=running.pk).update(ended_at=timezone.now())
    assert actions.purge_transcripts() == 1
    assert list(Transcription.objects.all()) == [new]
    assert Utterance.objects.count() == len(PODCAST)
    assert AudioSession.objects.count() == 4  # the sessions stay
    assert actions.purge_transcripts() == 0


def test_it_purges_from_the_worker_loop(settings, sandbox: RunningSandbox, old_and_new):
    settings.TRANSCRIPT_RETENTION_DAYS = 30
    out = io.StringIO()
    call_command("egress_worker", "--once", stdout=out)
    assert out.getvalue().endswith("transcripts purged 1\n")
    assert list(Transcription.objects.values_list("session__room_name", flat=True)) == ["new-show"]
