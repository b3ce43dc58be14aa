"""The transcript pages (issue 15, section 3): the Transcripts list, a transcript's page, its
downloads and its deletion, for each role; a transcript read as speaker turns with its times."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from egress_app.models import (
    AudioSession,
    AudioSessionState,
    AuditEntry,
    AuditTarget,
    Transcription,
    Utterance,
)
from tests.dashboard.test_home import text_of
from tests.transcripts.conftest import make_transcript

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-transcript-list")


def pages(transcription: Transcription) -> list[str]:
    pk = transcription.pk
    return [
        LIST,
        reverse("dashboard-transcript-detail", args=[pk]),
        reverse("dashboard-transcript-download", args=[pk, "srt"]),
        reverse("dashboard-transcript-delete", args=[pk]),
    ]


def delete_url(transcription: Transcription) -> str:
    return reverse("dashboard-transcript-delete", args=[transcription.pk])


def detail_url(transcription: Transcription) -> str:
    return reverse("dashboard-transcript-detail", args=[transcription.pk])


# --- who may see what ---------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_log_in(client, podcast):
    for url in pages(podcast):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    assert client.post(delete_url(podcast)).status_code == 302
    assert Transcription.objects.filter(pk=podcast.pk).exists()


def test_it_refuses_users_without_a_role(client, outsider, podcast):
    # An outsider sees no session, so no transcript of one.
    client.force_login(outsider)
    for url in pages(podcast):
        assert client.get(url).status_code == 403, url
    assert client.post(delete_url(podcast)).status_code == 403
    assert "Transcripts" not in text_of(client.get(reverse("dashboard-home"), follow=True))


@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_shows_and_exports_transcripts_to_whoever_sees_sessions(
    client, request, podcast, persona
):
    # Producers and support see every session (dashboard.audio.sessions_for), so every transcript.
    client.force_login(request.getfixturevalue(persona))
    assert podcast.session.room_name in text_of(client.get(LIST))
    assert "Welcome to the show." in text_of(client.get(detail_url(podcast)))
    response = client.get(reverse("dashboard-transcript-download", args=[podcast.pk, "txt"]))
    assert response.status_code == 200
    assert response.streaming
    with pytest.warns(Warning, match="consume asynchronous iterators"):
        assert b"Welcome to the show." in b"".join(response)


@pytest.mark.parametrize("persona", ["producer", "support"])
def test_it_refuses_to_delete_for_anyone_but_admins(client, request, podcast, persona):
    client.force_login(request.getfixturevalue(persona))
    assert "Delete" not in text_of(client.get(detail_url(podcast)))
    assert client.get(delete_url(podcast)).status_code == 403
    assert client.post(delete_url(podcast)).status_code == 403
    assert Utterance.objects.filter(transcription=podcast).count() == 4


def test_it_lets_an_admin_delete_a_transcript_after_confirming(client, admin, podcast):
    Transcription.objects.filter(pk=podcast.pk).update(ended_at=timezone.now())
    client.force_login(admin)
    assert "Delete the transcript" in text_of(client.get(delete_url(podcast)))
    response = client.post(delete_url(podcast))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard-audio-session", args=[podcast.session_id])
    assert not Transcription.objects.filter(pk=podcast.pk).exists()
    assert not Utterance.objects.exists()
    entry = AuditEntry.objects.get(target_type=AuditTarget.TRANSCRIPT)
    assert (entry.actor, entry.action, entry.target_id) == (admin, "deleted", podcast.pk)
    assert entry.target_name == f"transcript {podcast.pk} (podcast)"


def test_it_refuses_to_delete_a_transcript_still_being_written(client, admin, podcast):
    assert podcast.session.is_running
    client.force_login(admin)
    response = client.post(delete_url(podcast))
    assert response.status_code == 200
    assert "Not deleted This transcript is still being written" in text_of(response)
    assert Transcription.objects.filter(pk=podcast.pk).exists()
    AudioSession.objects.filter(pk=podcast.session_id).update(state=AudioSessionState.ENDED)
    assert client.post(delete_url(podcast)).status_code == 302  # the session ended: it may go
    assert not Transcription.objects.exists()


def test_it_answers_404_for_a_missing_transcript_or_format(client, support, podcast):
    client.force_login(support)
    assert (
        client.get(reverse("dashboard-transcript-detail", args=[podcast.pk + 1])).status_code == 404
    )
    url = reverse("dashboard-transcript-download", args=[podcast.pk, "docx"])
    assert client.get(url).status_code == 404


def test_it_refuses_other_methods(client, support, podcast):
    client.force_login(support)
    assert client.post(LIST).status_code == 405
    assert client.post(detail_url(podcast)).status_code == 405


# --- the transcript page ------------------------------------------------------------------------
def test_it_groups_consecutive_utterances_of_a_speaker_into_turns(client, support, podcast):
    client.force_login(support)
    page = client.get(detail_url(podcast)).content.decode()
    assert page.count('class="turn"') == 3  # host, guest, host
    text = text_of(client.get(detail_url(podcast)))
    assert "Host 00:00 · 16:00:00 UTC Welcome to the show. Today we talk about rivers." in text
    assert "Guest 00:05 · 16:00:05 UTC Thanks for having me." in text
    assert "Built-in (Built-in (PocketSphinx" in text
    assert "Language en" in text


def test_it_shows_times_in_the_server_zone_labelled(client, support, podcast, settings):
    settings.TIME_ZONE = "Europe/Paris"
    client.force_login(support)
    assert "Host 00:00 · 17:00:00 CET" in text_of(client.get(detail_url(podcast)))


def test_it_shows_a_failed_engine_and_its_error(client, support, podcast):
    Transcription.objects.filter(pk=podcast.pk).update(error="Gladia refused the key")
    client.force_login(support)
    assert "Failed Gladia refused the key" in text_of(client.get(detail_url(podcast)))


def test_it_says_when_nothing_was_said(client, support):
    client.force_login(support)
    quiet = make_transcript()
    assert "Nothing said yet" in text_of(client.get(detail_url(quiet)))


def test_it_pages_a_long_transcript(client, support, podcast, settings, monkeypatch):
    monkeypatch.setattr("dashboard.transcripts.TURNS_PAGE", 3)
    client.force_login(support)
    first = client.get(detail_url(podcast))
    assert "Where does the water go?" not in text_of(first)
    later = first.context["later"]
    second = text_of(client.get(detail_url(podcast), {"after": later}))
    assert "Where does the water go?" in second
    assert "Welcome" not in second
    from_a_time = text_of(client.get(detail_url(podcast), {"after": "7"}))  # a search's link
    assert "Where does the water go?" in from_a_time
    assert "Thanks for having me." not in from_a_time
    for junk in ("x", "nan~1", "1~99999999999999999999999", "inf~2", "1~", "nan"):
        assert "Welcome" in text_of(client.get(detail_url(podcast), {"after": junk}))


def test_it_links_a_session_to_its_transcripts(client, producer, podcast):
    client.force_login(producer)
    response = client.get(reverse("dashboard-audio-session", args=[podcast.session_id]))
    assert f'href="{detail_url(podcast)}"' in response.content.decode()


def test_it_pins_the_query_count_of_a_transcript_page(
    client, support, podcast, django_assert_num_queries
):
    client.force_login(support)
    # Session, user, permissions (user's, groups'), the transcript with its session, its
    # utterances, its gaps, the role.
    with django_assert_num_queries(8):
        client.get(detail_url(podcast))
