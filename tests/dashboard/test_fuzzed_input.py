"""Whatever a person posts, a page answers it: a field error, never a 500, never a row half
written (issue 13, section 4). Hypothesis posts arbitrary values to every field of every form,
through its view, as the role allowed to post it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.engine_forms import EngineProfileForm
from dashboard.forms import (
    AuditFilterForm,
    JobFilterForm,
    NameForm,
    NoteForm,
    StorageProfileForm,
    StreamDestinationForm,
)
from dashboard.launch_forms import LaunchForm
from egress_app import actions
from egress_app.actions.recipes import recipe_config
from egress_app.models import (
    AuditEntry,
    EgressJob,
    EgressStatus,
    EngineProfile,
    JobNote,
    LaunchState,
    Recipe,
    StorageProfile,
    StreamDestination,
)
from egress_app.storage.providers import PROVIDERS
from egress_app.transcribe.kinds import FIELDS as KIND_SPECS
from tests.dashboard.test_launch_views import room_composite_form
from tests.jobs import live, make_destination, make_profile, new_token, start, stream_config

pytestmark = pytest.mark.django_db

# Function-scoped fixtures (the client, the sandbox) serve every example of a test: each example
# checks what it changed, not that the database is empty.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Each field of the launch form is fuzzed on its own too: fewer examples each, plus the values
# that found its bugs (past int32, uint32 and int64, past any float, past int()'s digits).
PER_FIELD = settings(FUZZ, max_examples=6)
# Every other form: fewer examples, plus the values that found their bugs.
PER_FORM = settings(FUZZ, max_examples=30)

EDGES = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "+7",
    "1_000",
    "0x10",
    "1e3",
    "1e309",
    "-1e309",
    "inf",
    "-inf",
    "Infinity",
    "nan",
    "NaN",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775808",
    "18446744073709551616",
    "9" * 5000,  # past Python's int() digits limit
    "²",
    "١٢",  # Arabic-Indic digits
    "on",
    "true",
    "None",
    "null",
    "ADVANCED",
    "v2",
    "track",
    "web",
    "participant",
    "bogus",
    "\x00",
    "a\x00b",
    "\u202e",
    "🎥",
    "{room_name}/{time}",
    "../../etc/passwd",
    "rtmp://live.example.com/app/key",
    "srt://host:9000?streamid=x",
    "wss://host/ingest?token=t",
    "https://example.com/",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
]


def _numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers().map(str),
        st.integers(min_value=2**31 - 4, max_value=2**70).map(str),
        st.integers(min_value=-(2**70), max_value=0).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


VALUE = st.one_of(
    st.sampled_from(EDGES),
    _numbers(),
    st.text(max_size=40),
    st.dates().map(lambda day: day.isoformat()),
)
# A field posted once, or several times (a select-multiple, or a forged repeat).
VALUES = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3))


def fuzzed(fields: list[str], size: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields), VALUES, max_size=size)


def assert_answered(response: Any) -> None:
    """Answered: a page or a redirect, never a server error."""
    assert response.status_code < 500, response.status_code


# --- the launch form ------------------------------------------------------------------------------
LAUNCH = reverse("dashboard-launch")
SAVE_RECIPE = reverse("dashboard-launch-save-recipe")
LAUNCH_FIELDS = [*LaunchForm.base_fields, "recipe", "recipe_name"]
# Every part of the form open that a value alone can get past the rules with.
ALL_OPEN = {"encoding__preset": "ADVANCED", "outputs__segments": "on", "outputs__images": "on"}
# Switches that open a part of the form, so that the fuzzed values reach its rules.
OPENERS = st.fixed_dictionaries(
    {},
    optional={
        "encoding__preset": st.just("ADVANCED"),
        "outputs__segments": st.just("on"),
        "outputs__images": st.just("on"),
        "outputs__stream": st.just("on"),
    },
)


@pytest.fixture
def as_producer(client: Client, producer: Any) -> Client:
    client.force_login(producer)
    return client


def _jobs() -> dict[int, str]:
    return dict(EgressJob.objects.values_list("pk", "launch_state"))


def _post_launch(client: Client, url: str, data: dict[str, Any]) -> None:
    before = _jobs()
    response = client.post(url, data)
    assert_answered(response)
    after = _jobs()
    new = set(after) - set(before)
    if response.status_code == 200:  # the form again, with its errors: nothing written
        assert not new
    assert len(new) <= 1
    # A job row is written whole: it never stays launching once the answer is sent.
    assert all(after[pk] != LaunchState.LAUNCHING for pk in new)


@pytest.mark.parametrize("field", LAUNCH_FIELDS)
def test_it_answers_any_value_of_each_launch_field(as_producer, producer, sandbox, field):
    # One field fuzzed, the others valid: the value reaches every rule, and the call to LiveKit.
    profile = make_profile(producer)

    @PER_FIELD
    @given(opened=OPENERS, value=VALUES)
    @example(opened=ALL_OPEN, value="4294967296")
    @example(opened=ALL_OPEN | {"outputs__stream": "on"}, value="9223372036854775808")
    @example(opened=ALL_OPEN, value="1e309")
    @example(opened=ALL_OPEN, value="9" * 5000)
    def post(opened: dict[str, str], value: Any) -> None:
        data = room_composite_form(profile) | {"launch_token": new_token()} | opened
        _post_launch(as_producer, LAUNCH, data | {field: value})

    post()


@pytest.mark.parametrize("url", [LAUNCH, SAVE_RECIPE])
def test_it_answers_any_launch_form(as_producer, producer, sandbox, url):
    profile = make_profile(producer)

    @FUZZ
    @given(opened=OPENERS, values=fuzzed(LAUNCH_FIELDS))
    def post(opened: dict[str, str], values: dict[str, Any]) -> None:
        data = room_composite_form(profile) | {"launch_token": new_token()} | opened
        _post_launch(as_producer, url, data | values)

    post()


# --- every other form, through its view -------------------------------------------------------
WRITTEN = (
    StorageProfile,
    StreamDestination,
    Recipe,
    EgressJob,
    JobNote,
    AuditEntry,
    EngineProfile,
)


def _rows() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WRITTEN)


def _fields(form: type[Any], *more: str) -> list[str]:
    return [*form.base_fields, *more]


PROVIDER_FIELDS = sorted({field.name for spec in PROVIDERS.values() for field in spec.fields})
STORAGE_FIELDS = _fields(StorageProfileForm, *PROVIDER_FIELDS)
STORAGE_FIELDS += [f"clear_{name}" for name in PROVIDER_FIELDS]
KIND_FIELDS = sorted({field.name for fields in KIND_SPECS.values() for field in fields})
ENGINE_FIELDS = _fields(EngineProfileForm, *KIND_FIELDS, *(f"clear_{n}" for n in KIND_FIELDS))
DESTINATION_FIELDS = _fields(StreamDestinationForm)
NAME_FIELDS = _fields(NameForm)
# The history's URL also carries its keyset cursors and page.
JOB_FILTERS = _fields(JobFilterForm, "started_by", "after", "before", "page")


@dataclass(frozen=True)
class Posted:
    """A form as its view takes it: who may send it, where, and its fields."""

    persona: str
    url: str
    fields: list[str]
    target: str = ""  # the object whose pk the URL takes (see `_target`)
    method: str = "post"
    sandbox: bool = False  # the view asks LiveKit


FORMS = {
    "storage-create": Posted("admin", "dashboard-storage-create", STORAGE_FIELDS),
    "storage-edit": Posted("admin", "dashboard-storage-edit", STORAGE_FIELDS, "profile"),
    "storage-duplicate": Posted("admin", "dashboard-storage-duplicate", NAME_FIELDS, "profile"),
    "engine-create": Posted("admin", "dashboard-engine-create", ENGINE_FIELDS),
    "engine-edit": Posted("admin", "dashboard-engine-edit", ENGINE_FIELDS, "engine"),
    "destination-create": Posted("admin", "dashboard-destination-create", DESTINATION_FIELDS),
    "destination-edit": Posted(
        "admin", "dashboard-destination-edit", DESTINATION_FIELDS, "destination"
    ),
    "destination-duplicate": Posted(
        "admin", "dashboard-destination-duplicate", NAME_FIELDS, "destination"
    ),
    "recipe-duplicate": Posted("producer", "dashboard-recipe-duplicate", NAME_FIELDS, "recipe"),
    "job-note": Posted("support", "dashboard-job-note", _fields(NoteForm), "failed"),
    "job-triage": Posted("support", "dashboard-job-triage", ["state"], "failed"),
    "audit": Posted("admin", "dashboard-audit", _fields(AuditFilterForm, "page"), method="get"),
    "jobs-producer": Posted("producer", "dashboard-job-list", JOB_FILTERS, method="get"),
    "jobs-support": Posted("support", "dashboard-job-list", JOB_FILTERS, method="get"),
    "job-rows": Posted("support", "dashboard-job-rows", JOB_FILTERS, method="get"),
    "job-export": Posted("support", "dashboard-job-export", JOB_FILTERS, method="get"),
    # The launch page's own GETs: a clone or recipe to start from, and its fragments.
    "launch-page": Posted("producer", "dashboard-launch", ["clone", "recipe"], method="get"),
    "launch-preview": Posted("producer", "dashboard-launch-preview", LAUNCH_FIELDS, method="get"),
    "launch-source": Posted(
        "producer", "dashboard-launch-source", LAUNCH_FIELDS, method="get", sandbox=True
    ),
    # The job page's controls (their forms live in views/jobs.py) and a recipe's start.
    "job-layout": Posted("producer", "dashboard-job-layout", ["layout"], "running"),
    "job-streams-add": Posted(
        "producer", "dashboard-job-streams-add", ["destination_ids", "adhoc_urls"], "running"
    ),
    "job-streams-remove": Posted("producer", "dashboard-job-streams-remove", ["output"], "running"),
    "recipe-start": Posted(
        "producer", "dashboard-recipe-start", ["room_name", "launch_token"], "recipe"
    ),
    # The Live page's room cards: Record, Go live (their confirmations too) and Stop.
    "live-record-page": Posted("producer", "dashboard-live-record", ["room"], method="get"),
    "live-stream-page": Posted("producer", "dashboard-live-stream", ["room"], method="get"),
    "live-record": Posted(
        "producer",
        "dashboard-live-record",
        ["room", "storage_profile_id", "launch_token"],
        sandbox=True,
    ),
    "live-stream": Posted(
        "producer",
        "dashboard-live-stream",
        ["room", "recipe", "destination_ids", "launch_token"],
        sandbox=True,
    ),
    "live-stop": Posted("producer", "dashboard-live-stop", ["confirmed"], "running"),
}


def _target(request: Any, name: str) -> Any:
    """The object a form's URL names, made when the test needs it."""
    admin, producer = request.getfixturevalue("admin"), request.getfixturevalue("producer")
    if name == "engine":
        return actions.create_engine_profile(
            admin, name="Gladia", kind="gladia", config={}, secrets={"api_key": "fuzzed-key-1234"}
        )
    if name in ("profile", "destination"):
        return {"profile": make_profile, "destination": make_destination}[name](admin)
    if name == "failed":
        return EgressJob.objects.create(
            egress_id="EG_fuzzed",
            kind="room_composite",
            room_name="town-hall",
            status=EgressStatus.FAILED,
            error="Start signal not received",
        )
    sandbox = request.getfixturevalue("sandbox")
    destination = make_destination(admin)
    if name == "recipe":
        config = recipe_config(stream_config(destination))
        return Recipe.objects.create(name="Show", config=config)
    return live(sandbox, start(producer, stream_config(destination)))


def _read(response: Any) -> None:
    """A streamed answer (the CSV export) is read whole: its errors happen as it streams."""
    if getattr(response, "streaming", False):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*consume asynchronous iterators")
            b"".join(response)


@pytest.mark.parametrize("name", FORMS)
def test_it_answers_any_value_of_every_form(client, request, name):
    form = FORMS[name]
    args = [_target(request, form.target).pk] if form.target else []
    if form.sandbox:
        request.getfixturevalue("sandbox")
    url = reverse(form.url, args=args)
    client.force_login(request.getfixturevalue(form.persona))

    @PER_FORM
    @given(values=fuzzed(form.fields))
    @example(values=dict.fromkeys(form.fields, "9" * 5000))
    @example(values=dict.fromkeys(form.fields, "9999-12-31"))
    @example(values=dict.fromkeys(form.fields, "\x00"))
    def send(values: dict[str, Any]) -> None:
        before, launching = _rows(), _launching()
        response = getattr(client, form.method)(url, values)
        _read(response)
        assert_answered(response)
        if form.method == "get" or response.status_code != 302:
            assert _rows() == before  # the form again, with its errors: nothing written
        # A launch (a recipe's start) is written whole: no job stays launching after the answer.
        assert _launching() == launching

    send()


def _launching() -> int:
    return EgressJob.objects.filter(launch_state=LaunchState.LAUNCHING).count()


@pytest.mark.parametrize("kind", list(KIND_SPECS))
def test_it_answers_any_value_of_each_engine_kinds_form(client, admin, kind):
    # The kind fixed, so that the fuzzed values reach its own fields' rules.
    client.force_login(admin)
    url = reverse("dashboard-engine-create")

    @PER_FORM
    @given(values=fuzzed(ENGINE_FIELDS))
    @example(values=dict.fromkeys(ENGINE_FIELDS, "9" * 5000))
    @example(values=dict.fromkeys(ENGINE_FIELDS, "\x00"))
    def send(values: dict[str, Any]) -> None:
        before = _rows()
        response = client.post(url, values | {"kind": kind})
        assert_answered(response)
        if response.status_code != 302:
            assert _rows() == before

    send()


# Test these settings, on a profile form: any value answers; only an audit entry may be written.
SETTINGS_TESTS = {
    "storage-create-test": Posted("admin", "dashboard-storage-create-test", STORAGE_FIELDS),
    "storage-edit-test": Posted("admin", "dashboard-storage-edit-test", STORAGE_FIELDS, "profile"),
    "engine-create-test": Posted("admin", "dashboard-engine-create-test", ENGINE_FIELDS),
    "engine-edit-test": Posted("admin", "dashboard-engine-edit-test", ENGINE_FIELDS, "engine"),
}


@pytest.mark.parametrize("name", SETTINGS_TESTS)
def test_it_answers_any_value_of_each_settings_test(client, request, name):
    form = SETTINGS_TESTS[name]
    url = reverse(form.url, args=[_target(request, form.target).pk] if form.target else [])
    client.force_login(request.getfixturevalue(form.persona))
    # Values good enough to reach the Test run it for real: keep each one short.
    django_settings = request.getfixturevalue("settings")
    django_settings.STORAGE_TEST_TIMEOUT = django_settings.ENGINE_TEST_TIMEOUT = 1.0

    @PER_FORM
    @given(values=fuzzed(form.fields))
    @example(values=dict.fromkeys(form.fields, "9" * 5000))
    @example(values=dict.fromkeys(form.fields, "\x00"))
    def send(values: dict[str, Any]) -> None:
        before = _rows()
        response = client.post(url, values)
        assert_answered(response)
        after, audit = _rows(), WRITTEN.index(AuditEntry)
        assert after[:audit] + after[audit + 1 :] == before[:audit] + before[audit + 1 :]

    send()
