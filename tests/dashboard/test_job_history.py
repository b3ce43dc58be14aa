"""The job history: filters kept in the URL, orders, keyset pages and the CSV export, per role."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django import forms
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.db import connection
from django.test import Client
from django.urls import reverse

from dashboard.forms import JobFilterForm, PlainSelect
from egress_app import history
from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState
from tests.conftest import make_user
from tests.dashboard.test_home import text_of
from tests.jobs import live, make_destination, start, stream_config

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-job-list")
ROWS = reverse("dashboard-job-rows")
EXPORT = reverse("dashboard-job-export")
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def job(egress_id: str, user: User | None = None, **fields: object) -> EgressJob:
    fields.setdefault("status", EgressStatus.COMPLETE)
    fields.setdefault("kind", EgressKind.ROOM_COMPOSITE)
    fields.setdefault("room_name", "town-hall")
    created_at = fields.pop("created_at", None)
    made = EgressJob.objects.create(egress_id=egress_id, started_by=user, **fields)
    if created_at is not None:  # auto_now_add sets it on create
        EgressJob.objects.filter(pk=made.pk).update(created_at=created_at)
    return made


def shown(response) -> list[str]:
    """The egress ids (or "Job <pk>") of the rows, top to bottom."""
    html = response.content.decode()
    return re.findall(r'<tr id="job-\d+"[^>]*>.*?<code>(\w+)</code>', html, re.S)


def link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.content.decode())
    return unescape(found.group(1)) if found else None


def exported(response) -> list[dict[str, str]]:
    with pytest.warns(Warning, match="consume asynchronous iterators"):
        # The test client is WSGI-like: it buffers what an ASGI server streams.
        text = b"".join(response).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- who may see what ---------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_log_in(client):
    for url in (LIST, ROWS, EXPORT):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_refuses_outsiders_the_history_and_its_export(client, outsider):
    job("EG_secret")
    client.force_login(outsider)
    for url in (LIST, ROWS, f"{EXPORT}?status=EGRESS_COMPLETE"):
        assert client.get(url).status_code == 403


def test_it_keeps_a_producer_to_their_own_jobs_whatever_the_filters(client, producer):
    other = make_user("olga-other", "producers")
    job("EG_mine", producer)
    job("EG_theirs", other)
    job("EG_theirs_running", other, status=EgressStatus.ACTIVE)
    client.force_login(producer)

    response = client.get(LIST, {"room": "town-hall"})

    assert sorted(shown(response)) == ["EG_mine", "EG_theirs_running"]
    assert 'name="started_by"' not in response.content.decode()
    rows = exported(client.get(EXPORT, {"started_by": other.pk}))
    assert sorted(row["egress_id"] for row in rows) == ["EG_mine", "EG_theirs_running"]


# --- filters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "EGRESS_FAILED"}, ["EG_failed"]),
        ({"status": "refused"}, ["EG_refused"]),
        ({"kind": "track"}, ["EG_track"]),
        ({"room": "studio"}, ["EG_studio"]),
        ({"error": "START SIGNAL"}, ["EG_failed"]),
        ({"error": "bucket"}, ["EG_details"]),
        ({"external": "yes"}, ["EG_external"]),
        ({"empty_output": "on"}, ["EG_empty"]),
        ({"since": "2026-03-11"}, ["EG_late"]),
        ({"until": "2026-03-09"}, ["EG_early"]),
        ({"kind": "track", "room": "town-hall"}, []),
    ],
)
def test_it_filters_the_history(client, support, query, expected):
    job("EG_plain", created_at=NOON)
    job("EG_failed", status=EgressStatus.FAILED, error="Start signal not received")
    job("EG_refused", status="", launch_state=LaunchState.REFUSED, error="no room")
    job("EG_track", kind=EgressKind.TRACK, room_name="other")
    job("EG_studio", room_name="studio")
    job("EG_details", details="could not reach bucket")
    job("EG_external", external=True)
    empty = [{"filename": "a.mp4", "size": 0, "location": "s3://b/a.mp4"}]
    job("EG_empty", results={"files": empty})
    job("EG_early", created_at=NOON - timedelta(days=2))
    job("EG_late", created_at=NOON + timedelta(days=2))
    EgressJob.objects.exclude(egress_id__in=["EG_early", "EG_late"]).update(created_at=NOON)
    client.force_login(support)

    response = client.get(LIST, query)

    assert shown(response) == expected
    if not expected:
        assert "No job matches these filters." in text_of(response)
    assert sorted(row["egress_id"] for row in exported(client.get(EXPORT, query))) == expected


def test_it_filters_by_who_started_the_job(client, support, producer):
    job("EG_mine", producer)
    job("EG_nobody")
    client.force_login(support)
    assert shown(client.get(LIST, {"started_by": producer.pk})) == ["EG_mine"]


def test_it_reads_days_in_the_configured_time_zone(client, support, settings):
    settings.TIME_ZONE = "America/New_York"
    job("EG_evening", created_at=datetime(2026, 3, 11, 2, 0, tzinfo=UTC))  # 10 March, 22:00 there
    client.force_login(support)
    assert shown(client.get(LIST, {"since": "2026-03-10", "until": "2026-03-10"})) == ["EG_evening"]
    assert shown(client.get(LIST, {"since": "2026-03-11"})) == []


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_it_reads_the_calendar_s_first_and_last_days_as_no_bound(client, support, settings, zone):
    # Their midnights may not exist in UTC: 9999-12-31 answered 500 (issue 13, section 4).
    settings.TIME_ZONE = zone
    job("EG_one")
    client.force_login(support)
    for url in (LIST, ROWS):
        response = client.get(url, {"since": "0001-01-01", "until": "9999-12-31"})
        assert response.status_code == 200
        assert shown(response) == ["EG_one"]


def test_it_shows_a_filter_that_does_not_validate_and_ignores_it(client, support):
    job("EG_one")
    client.force_login(support)
    response = client.get(LIST, {"since": "2026-03-11", "until": "2026-03-01", "kind": "nope"})
    words = text_of(response)
    assert "The end date is before the start date." in words
    assert "Select a valid choice." in words
    assert shown(response) == ["EG_one"]


def test_it_keeps_the_filters_in_every_link_and_the_live_socket(client, support):
    for number in range(51):
        job(f"EG_{number:02}", room_name="studio")
    client.force_login(support)
    html = client.get(LIST, {"room": "studio", "sort": "room"}).content.decode()
    assert 'ws-connect="/ws/live/?room=studio&amp;sort=room&amp;view=jobs"' in html
    assert f'hx-get="{ROWS}?room=studio&amp;sort=room"' in html
    assert 'value="studio"' in html
    older = link(client.get(LIST, {"room": "studio", "sort": "room"}), "next")
    assert older is not None
    assert older.startswith("?room=studio&sort=room&after=studio")
    assert f'href="{EXPORT}?room=studio&amp;sort=room" download' in html


# --- order and pages ----------------------------------------------------------------------------
def test_it_orders_the_history(client, support):
    job("EG_b", room_name="b-room", created_at=NOON)
    job("EG_a", room_name="a-room", created_at=NOON + timedelta(hours=1))
    job("EG_c", room_name="c-room", created_at=NOON - timedelta(hours=1))
    client.force_login(support)
    assert shown(client.get(LIST)) == ["EG_a", "EG_b", "EG_c"]
    assert shown(client.get(LIST, {"sort": "created"})) == ["EG_c", "EG_b", "EG_a"]
    assert shown(client.get(LIST, {"sort": "room"})) == ["EG_a", "EG_b", "EG_c"]
    assert shown(client.get(LIST, {"sort": "-room"})) == ["EG_c", "EG_b", "EG_a"]


@pytest.mark.parametrize(
    ("sort", "words"),
    [
        ("-created", ("Newer", "Older")),
        ("created", ("Older", "Newer")),
        ("-room", ("Previous", "Next")),
    ],
)
def test_it_names_the_links_by_what_the_order_puts_there(client, support, sort, words):
    for number in range(51):
        job(f"EG_{number:02}")
    client.force_login(support)
    first = client.get(LIST, {"sort": sort}).content.decode()
    assert f'rel="next">{words[1]}</a>' in first
    second = client.get(LIST + str(link(client.get(LIST, {"sort": sort}), "next")))
    assert f'rel="prev">{words[0]}</a>' in second.content.decode()


def test_it_leads_back_from_a_cursor_past_the_end(client, support):
    job("EG_only")
    client.force_login(support)
    past = history.Cursor(NOON - timedelta(days=400), 1)

    response = client.get(LIST, {"after": str(past)})

    assert shown(response) == []
    assert "No more jobs past this point." in text_of(response)
    assert "data-first-page" not in response.content.decode()
    assert shown(client.get(LIST + str(link(response, "prev")))) == ["EG_only"]


@pytest.mark.parametrize("sort", ["-created", "created", "room", "status"])
def test_it_walks_every_page_and_back_without_a_gap_or_a_repeat(client, support, sort):
    for number in range(120):  # equal values too: the pk breaks ties
        job(f"EG_{number:03}", room_name=f"room-{number % 7}", created_at=NOON)
    client.force_login(support)
    pages, url = [], f"{LIST}?sort={sort}"
    while url:
        response = client.get(url if url.startswith("/") else LIST + url)
        pages.append(shown(response))
        url = link(response, "next") or ""
    assert [len(page) for page in pages] == [50, 50, 20]
    assert sorted(name for page in pages for name in page) == sorted(
        f"EG_{n:03}" for n in range(120)
    )

    back = link(client.get(LIST + str(link(client.get(f"{LIST}?sort={sort}"), "next"))), "prev")
    assert shown(client.get(LIST + str(back))) == pages[0]
    page_three = client.get(LIST + str(link(client.get(LIST + str(back)), "next")))
    page_three = client.get(LIST + str(link(page_three, "next")))
    assert shown(page_three) == pages[2]
    assert shown(client.get(LIST + str(link(page_three, "prev")))) == pages[1]


def test_it_keeps_page_two_in_place_when_new_jobs_arrive(client, support):
    for number in range(60):
        job(f"EG_{number:02}", created_at=NOON + timedelta(minutes=number))
    client.force_login(support)
    older = str(link(client.get(LIST), "next"))
    before = shown(client.get(LIST + older))
    job("EG_new", created_at=NOON + timedelta(days=1))
    assert shown(client.get(LIST + older)) == before == [f"EG_{n:02}" for n in range(9, -1, -1)]


def test_it_shows_the_first_page_for_a_cursor_it_cannot_read(client, support):
    job("EG_one")
    client.force_login(support)
    unreadable = ["nonsense", "2026-13-01~4", "2026-03-01T00:00:00~x", "2026-03-01~1"]
    # A pk "²" passes str.isdigit(), 5000 digits pass int()'s limit (issue 13, section 4).
    unreadable += ["2026-03-01T00:00:00+00:00~²", f"2026-03-01T00:00:00+00:00~{'9' * 5000}"]
    for cursor in unreadable:
        for sort in ("", "room"):
            response = client.get(LIST, {"after": cursor, "sort": sort})
            assert shown(response) == ["EG_one"]


@pytest.mark.parametrize("typed", ["pod", "POD", "cast", "Podcast-1", "dcast-"])
def test_it_finds_rooms_by_part_of_their_name_in_any_case(client, support, typed):
    job("EG_pod", room_name="Podcast-1")
    job("EG_hall", room_name="town-hall")
    client.force_login(support)
    assert shown(client.get(LIST, {"room": typed})) == ["EG_pod"]


def test_it_matches_room_wildcards_literally(client, support):
    job("EG_pct", room_name="50%_off")
    job("EG_other", room_name="500-off")
    client.force_login(support)
    assert shown(client.get(LIST, {"room": "%_"})) == ["EG_pct"]


def test_it_finds_rooms_by_the_whole_text_when_it_looks_up_a_rarer_word(
    client, support, monkeypatch
):
    # On PostgreSQL the index is asked for "0042", which few of the newest jobs' rooms hold.
    monkeypatch.setattr(history, "_room_sample", None)
    EgressJob.objects.bulk_create(
        EgressJob(egress_id=f"EG_other{n}", room_name=f"room-{n:04}", status=EgressStatus.COMPLETE)
        for n in range(100)
    )
    job("EG_in", room_name="big-Room-0042-b")
    job("EG_near", room_name="room-0042x")
    job("EG_apart", room_name="room 0042")  # the word, not the text
    job("EG_far", room_name="0042-room")
    client.force_login(support)
    by_room = ["EG_in", "EG_other42", "EG_near"]
    assert shown(client.get(LIST, {"room": "ROOM-0042", "sort": "room"})) == by_room
    assert shown(client.get(LIST, {"room": "m-0042"})) == ["EG_near", "EG_in", "EG_other42"]


def test_it_writes_the_filter_selects_as_django_does(support):
    form = JobFilterForm({"status": "EGRESS_FAILED", "started_by": str(support.pk), "sort": "x"})
    form.is_valid()
    for name in ("status", "kind", "started_by", "external", "sort"):
        field = form[name]
        attrs = field.build_widget_attrs({"id": field.auto_id, "data-x": 'a"<b>', "hidden": True})
        value = field.value()
        choices = [*field.field.choices, ("<&>", 'a "label" & more')]
        ours = PlainSelect(choices=choices).render(field.html_name, value, attrs)
        assert ours == forms.Select(choices=choices).render(field.html_name, value, attrs)
        assert str(field).startswith(f'<select name="{name}"')


def test_it_looks_up_the_word_of_a_room_that_few_rooms_hold():
    rooms = [f"room-{number:04}" for number in range(100)]
    assert history.rarest("room-0042", ["room", "0042"], rooms) == "0042"
    assert history.rarest("0042-room", ["0042", "room"], rooms) == "0042"
    # No word rarer than the text: the whole text, as the index would have had it.
    assert history.rarest("room-00", ["room"], rooms) == "room-00"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_it_serves_the_room_filter_from_its_trigram_index():
    # Unordered: a handful of rows would otherwise be read in the order's index.
    query = history.filtered(EgressJob.objects.all(), {"room": "pod"}).order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: force the choice
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "egress_job_room_name_trgm" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_it_keeps_fine_statistics_on_room_names_for_the_room_filters_estimates():
    # With the default 100 buckets, some samples made a rare room look common: the list was then
    # read backwards by date instead of through the trigram index (migration 0035).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'egress_job_room_name_trgm'::regclass AND attnum = 1"
        )
        assert cursor.fetchone()[0] == 1000


def test_it_pins_the_query_count_of_a_filtered_page(client, support, django_assert_num_queries):
    for number in range(5):
        job(f"EG_{number}", status=EgressStatus.FAILED)
    client.force_login(support)
    client.get(LIST, {"room": "town-hall"})  # on PostgreSQL, the rooms it reads once a while
    # Session, user, the user's and their groups' permissions, the jobs with who started them,
    # the users to pick from, the user's role. No count: keyset pages. No destinations: no row
    # streams.
    with django_assert_num_queries(7):
        response = client.get(LIST, {"status": "EGRESS_FAILED", "room": "town-hall"})
    assert len(shown(response)) == 5
    with django_assert_num_queries(5):  # the polled rows: no user list, no role
        assert len(shown(client.get(ROWS, {"status": "EGRESS_FAILED"}))) == 5


# --- the export ---------------------------------------------------------------------------------
def test_it_exports_the_filtered_set_without_secrets(client, support, producer, admin, sandbox):
    destination = make_destination(admin)
    streaming = live(sandbox, start(producer, stream_config(destination)))
    job("EG_failed", producer, status=EgressStatus.FAILED, error="=HYPERLINK(1)", error_code=500)
    client.force_login(support)

    response = client.get(EXPORT, {"room": "town-hall", "sort": "created"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="egress-jobs-\d{4}-\d\d-\d\d\.csv"', response["Content-Disposition"]
    )
    rows = exported(response)
    assert [row["egress_id"] for row in rows] == [streaming.egress_id, "EG_failed"]
    assert list(rows[0]) == list(history.CSV_HEADER)
    assert rows[1]["error"] == "'=HYPERLINK(1)"  # never run as a formula
    assert rows[1]["status"] == "EGRESS_FAILED"
    assert rows[1]["started_by"] == producer.username
    assert rows[1]["retry_of"] == ""


def test_it_exports_more_jobs_than_one_chunk_in_order(client, support, monkeypatch):
    monkeypatch.setattr(history, "EXPORT_CHUNK", 7)
    for number in range(30):
        job(f"EG_{number:02}", created_at=NOON + timedelta(minutes=number))
    client.force_login(support)
    rows = exported(client.get(EXPORT))
    assert [row["egress_id"] for row in rows] == [f"EG_{n:02}" for n in range(29, -1, -1)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_it_streams_the_export_under_asgi(monkeypatch):
    """Served by Django's ASGI handler: the body leaves in several messages, a chunk of rows at
    a time, instead of being held whole."""
    monkeypatch.setattr(history, "EXPORT_CHUNK", 10)
    session = await sync_to_async(_support_session)(jobs=35)
    scope = {
        "type": "http",
        "method": "GET",
        "path": EXPORT,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"cookie", f"sessionid={session}".encode())],
    }
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    bodies = []
    while True:
        message = await communicator.receive_output(timeout=10)
        bodies.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    assert start["status"] == 200
    assert len(b"".join(bodies).decode().splitlines()) == 36
    assert len([body for body in bodies if body]) > 4  # streamed, not one buffered body


def _support_session(*, jobs: int) -> str:
    EgressJob.objects.bulk_create(
        EgressJob(egress_id=f"EG_{n:02}", kind="track", status="EGRESS_COMPLETE")
        for n in range(jobs)
    )
    browser = Client()
    browser.force_login(make_user("sam-support", "support"))
    return browser.cookies["sessionid"].value
