"""The Transcripts list and its search (issue 15, section 3): PostgreSQL full-text search when
the tests run on PostgreSQL (DATABASE_URL), words as written on SQLite; filters by room, day,
speaker and engine; keyset pages; empty states; a pinned query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from egress_app import transcripts
from egress_app.models import EngineKind, Transcription, Utterance
from tests.dashboard.test_home import text_of
from tests.transcripts.conftest import PODCAST, STARTED, make_transcript

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-transcript-list")
POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def shows(producer):
    """Three transcripts: the podcast (built-in), a town hall a day later (Deepgram), and a
    studio session two days later."""
    make_transcript(started_by=producer, lines=PODCAST)
    make_transcript(
        "town-hall",
        created_at=STARTED + timedelta(days=1),
        engine=EngineKind.DEEPGRAM,
        lines=[("mayor", "The river bridge opens in May."), ("clerk", "Motion carried.")],
    )
    make_transcript(
        "studio",
        created_at=STARTED + timedelta(days=2),
        lines=[("singer", "One more take, from the bridge.")],
    )


def matches(response) -> list[str]:
    return [utterance.text for utterance in response.context["page"].rows]


def rooms(response) -> list[str]:
    return [transcription.session.room_name for transcription in response.context["page"].rows]


def test_it_lists_transcripts_newest_first(client, support, shows):
    client.force_login(support)
    response = client.get(LIST)
    assert rooms(response) == ["studio", "town-hall", "podcast"]
    assert "Deepgram (Deepgram live)" in text_of(response)


def test_it_searches_every_transcript_for_words(client, support, shows):
    client.force_login(support)
    response = client.get(LIST, {"words": "bridge"})
    assert matches(response) == [
        "One more take, from the bridge.",
        "The river bridge opens in May.",
    ]
    text = text_of(response)
    assert "town-hall · Mayor · 2026-12-06 16:00:00 UTC The river bridge opens in May." in text
    first = response.context["page"].rows[0]
    link = reverse("dashboard-transcript-detail", args=[first.transcription_id])
    # Its transcript from 20 s before it: a long one's first page may not hold it.
    assert f'href="{link}?after=-20#utterance-{first.pk}"' in response.content.decode()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's full-text search")
def test_it_searches_whole_words_on_postgresql(client, support, shows):
    client.force_login(support)
    # Every word, in any order, anywhere in the utterance; not parts of words.
    assert matches(client.get(LIST, {"words": "bridge river"})) == [
        "The river bridge opens in May."
    ]
    assert matches(client.get(LIST, {"words": "riv"})) == []
    assert matches(client.get(LIST, {"words": '"river bridge"'})) == [
        "The river bridge opens in May."
    ]
    assert matches(client.get(LIST, {"words": "bridge -river"})) == [
        "One more take, from the bridge."
    ]
    # Words with no meaning to the search syntax are no error.
    assert matches(client.get(LIST, {"words": "&|!(:*"})) == []


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's full-text search")
def test_it_reads_the_search_index_on_postgresql(support, shows):
    found = transcripts.matching(Utterance.objects.order_by(), "bridge").only("pk")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: the planner would scan
        sql, params = found.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "egress_utterance_text_fts" in plan


@pytest.mark.skipif(POSTGRES, reason="SQLite's fallback")
def test_it_searches_parts_of_the_text_on_sqlite(client, support, shows):
    client.force_login(support)
    assert matches(client.get(LIST, {"words": "RIVER BRI"})) == ["The river bridge opens in May."]
    assert matches(client.get(LIST, {"words": "bridge river"})) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"room": "TOWN"}, ["town-hall"]),
        ({"engine": "deepgram"}, ["town-hall"]),
        ({"speaker": "gues"}, ["podcast"]),
        ({"since": "2026-12-06"}, ["studio", "town-hall"]),
        ({"since": "2026-12-06", "until": "2026-12-06"}, ["town-hall"]),
        ({"until": "2026-12-05"}, ["podcast"]),
    ],
)
def test_it_filters_the_transcripts(client, support, shows, query, expected):
    client.force_login(support)
    assert rooms(client.get(LIST, query)) == expected


def test_it_filters_the_search(client, support, shows):
    client.force_login(support)
    assert matches(client.get(LIST, {"words": "bridge", "room": "studio"})) == [
        "One more take, from the bridge."
    ]
    assert matches(client.get(LIST, {"words": "bridge", "speaker": "mayor"})) == [
        "The river bridge opens in May."
    ]
    assert matches(client.get(LIST, {"words": "bridge", "engine": "builtin"})) == [
        "One more take, from the bridge."
    ]
    assert matches(client.get(LIST, {"words": "bridge", "until": "2026-12-06"})) == [
        "The river bridge opens in May."
    ]


def test_it_reads_days_in_the_server_zone(client, support, settings):
    settings.TIME_ZONE = "America/New_York"  # 16:00 UTC on the 5th is 11:00 there, still the 5th
    make_transcript(created_at=STARTED + timedelta(hours=8))  # 00:00 UTC the 6th: 19:00 the 5th
    client.force_login(support)
    assert rooms(client.get(LIST, {"since": "2026-12-05", "until": "2026-12-05"})) == ["podcast"]


def test_it_shows_bad_filters_with_their_error(client, support, shows):
    client.force_login(support)
    response = client.get(LIST, {"since": "2026-12-07", "until": "2026-12-05", "engine": "nope"})
    assert response.status_code == 200
    assert "The end date is before the start date." in text_of(response)
    assert "Select a valid choice." in text_of(response)


def test_it_pages_the_list_and_the_search_by_keyset(client, support, monkeypatch):
    monkeypatch.setattr("dashboard.transcripts.PAGE_SIZE", 2)
    for day in range(5):
        make_transcript(
            f"room-{day}", created_at=STARTED + timedelta(days=day), lines=[("a", f"word {day}")]
        )
    client.force_login(support)
    first = client.get(LIST)
    assert rooms(first) == ["room-4", "room-3"]
    second = client.get(LIST, {"after": str(first.context["page"].older)})
    assert rooms(second) == ["room-2", "room-1"]
    back = client.get(LIST, {"before": str(second.context["page"].newer)})
    assert rooms(back) == ["room-4", "room-3"]
    found = client.get(LIST, {"words": "word"})
    assert matches(found) == ["word 4", "word 3"]
    more = client.get(LIST, {"words": "word", "after": str(found.context["page"].older)})
    assert matches(more) == ["word 2", "word 1"]
    assert client.get(LIST, {"after": "garbage~x"}).status_code == 200


def test_it_says_when_there_is_nothing(client, support, shows):
    client.force_login(support)
    assert "Nothing said matches this search." in text_of(client.get(LIST, {"words": "zebra"}))
    assert "No transcript matches these filters." in text_of(client.get(LIST, {"room": "zzz"}))
    Transcription.objects.all().delete()
    assert "No transcripts yet" in text_of(client.get(LIST))


def test_it_shows_transcripts_in_the_navigation(client, producer, support):
    for persona in (producer, support):
        client.force_login(persona)
        assert f'href="{LIST}"' in client.get(reverse("dashboard-job-list")).content.decode()


def test_it_pins_the_query_count_of_the_list(client, support, shows, django_assert_num_queries):
    client.force_login(support)
    # Session, user, the user's and their groups' permissions, a page of transcripts with their
    # sessions, the user's role. No count: keyset pages.
    with django_assert_num_queries(6):
        assert len(rooms(client.get(LIST, {"room": "o"}))) == 3
    with django_assert_num_queries(6):  # the search: a page of utterances with their sessions
        assert len(matches(client.get(LIST, {"words": "the", "speaker": "o"}))) >= 1
