"""The room rules pages and the Live page's Create room, for every role: producers and admins
manage rules and create rooms, support reads the rules, the rest are refused; every change is
audited; bad input gets a clear error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from egress_app.actions.recipes import save_recipe
from egress_app.models import AuditEntry, AuditTarget, Recipe, RoomRule, RoomRuleStart
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import make_profile
from tests.rules import make_recipe, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipe(admin) -> Recipe:
    return make_recipe(admin)


@pytest.fixture
def rule(admin, recipe) -> RoomRule:
    return make_rule(admin, recipe)


PAGES = [
    ("dashboard-rule-list", False),
    ("dashboard-rule-create", False),
    ("dashboard-rule-edit", True),
    ("dashboard-rule-delete", True),
    ("dashboard-room-create", False),
]
CHANGES = PAGES[1:]


def url_of(name: str, rule: RoomRule, needs_pk: bool) -> str:
    return reverse(name, args=[rule.pk]) if needs_pk else reverse(name)


def form(chosen: Recipe, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {"pattern": "town-*", "recipe": chosen.pk, "record_room": "on"}
    data |= {"enabled": "on"}
    return data | changes


@pytest.mark.parametrize(("name", "needs_pk"), PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(client, rule, name, needs_pk):
    url = url_of(name, rule, needs_pk)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("persona", ["support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), CHANGES)
def test_it_refuses_changes_to_support_and_outsiders(
    client, request, rule, recipe, persona, name, needs_pk
):
    client.force_login(request.getfixturevalue(persona))
    url = url_of(name, rule, needs_pk)
    assert client.get(url).status_code == 403
    assert client.post(url, form(recipe, name="webinar-9")).status_code == 403
    assert list(RoomRule.objects.values_list("pattern", flat=True)) == ["webinar-*"]


def test_it_lets_support_read_the_rules(client, support, rule):
    client.force_login(support)
    page = client.get(reverse("dashboard-rule-list")).content.decode()
    assert "webinar-*" in page
    assert "Webinar 1080p" in page
    assert reverse("dashboard-rule-edit", args=[rule.pk]) not in page  # no changes offered


def test_it_refuses_the_rules_to_people_without_a_role(client, outsider, rule):
    client.force_login(outsider)
    assert client.get(reverse("dashboard-rule-list")).status_code == 403


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_lets_producers_and_admins_add_a_rule(client, request, recipe, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("dashboard-rule-create")).status_code == 200

    response = client.post(reverse("dashboard-rule-create"), form(recipe, each_track="on"))

    assert response.status_code == 302
    rule = RoomRule.objects.get()
    assert (rule.pattern, rule.recipe, rule.record_room, rule.each_track) == (
        "town-*",
        recipe,
        True,
        True,
    )
    entry = AuditEntry.objects.get(target_type=AuditTarget.ROOM_RULE)
    assert (entry.actor, entry.action, entry.target_id) == (user, "created", rule.pk)


def test_it_explains_the_two_ways_and_an_empty_list(client, producer, recipe):
    client.force_login(producer)
    page = client.get(reverse("dashboard-rule-list")).content.decode()
    assert "No room rules yet" in page
    assert "Rooms the dashboard creates" in page
    assert "Rooms created by someone else" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"pattern": ""}, "pattern", "This field is required."),
        ({"pattern": "web inar-*"}, "pattern", "no spaces"),
        ({"pattern": "webinar-[ab"}, "pattern", "never closed"),
        ({"recipe": ""}, "recipe", "This field is required."),
        ({"record_room": ""}, "record_room", "Choose what to record"),
    ],
)
def test_it_refuses_a_bad_rule_with_a_clear_message(
    client, producer, recipe, changes, field, message
):
    client.force_login(producer)
    data = {k: v for k, v in form(recipe, **changes).items() if v != ""}
    response = client.post(reverse("dashboard-rule-create"), data)
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not RoomRule.objects.exists()


def test_it_refuses_a_recipe_that_does_not_record_the_room(client, producer, admin):
    config = {
        "api": "v1",
        "kind": "participant",
        "room_name": "x",
        "participant": {"identity": "host"},
        "outputs": {"file": {"filepath": "p.mp4"}},
        "storage_profile_id": make_profile(admin).pk,
    }
    other = save_recipe(admin, name="Host only", config=config)
    client.force_login(producer)
    response = client.post(reverse("dashboard-rule-create"), form(other))
    assert response.status_code == 400
    assert not RoomRule.objects.exists()


def test_it_edits_a_rule_and_audits_the_fields_changed(client, producer, rule, recipe):
    client.force_login(producer)
    url = reverse("dashboard-rule-edit", args=[rule.pk])
    response = client.post(url, form(recipe, pattern="webinar-*", enabled=""))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False
    entry = AuditEntry.objects.get(target_type=AuditTarget.ROOM_RULE, action="changed")
    assert entry.changed_fields == ["enabled"]


def test_it_confirms_before_deleting_a_rule(client, producer, rule):
    client.force_login(producer)
    url = reverse("dashboard-rule-delete", args=[rule.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert RoomRule.objects.exists()
    assert client.post(url).status_code == 302
    assert not RoomRule.objects.exists()
    assert AuditEntry.objects.filter(target_type=AuditTarget.ROOM_RULE, action="deleted").exists()


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_creates_a_room_from_the_live_page(client, request, sandbox: RunningSandbox, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert "Create room" in client.get(reverse("dashboard-home")).content.decode()

    response = client.post(
        reverse("dashboard-room-create"),
        {"name": "standup-1", "empty_timeout": "60", "max_participants": "5"},
    )

    assert response.status_code == 302
    [room] = [r for r in sandbox.control.rooms() if r.name == "standup-1"]
    assert (room.empty_timeout, room.max_participants) == (60, 5)
    entry = AuditEntry.objects.get(target_type=AuditTarget.ROOM)
    assert (entry.actor, entry.target_name) == (user, "standup-1")


def test_it_refuses_a_room_that_exists_or_a_bad_timeout(client, producer, sandbox):
    client.force_login(producer)
    taken = client.post(reverse("dashboard-room-create"), {"name": "town-hall"})
    bad = client.post(reverse("dashboard-room-create"), {"name": "x", "empty_timeout": "-1"})
    assert (taken.status_code, bad.status_code) == (400, 400)
    assert "exists already" in taken.content.decode()
    assert not AuditEntry.objects.filter(target_type=AuditTarget.ROOM).exists()


def test_it_says_when_livekit_cannot_be_reached(client, producer, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    client.force_login(producer)
    response = client.post(reverse("dashboard-room-create"), {"name": "standup-2"})
    assert response.status_code == 400
    assert "LiveKit" in response.content.decode()


def test_it_keeps_a_recipe_a_rule_starts(client, producer, rule, recipe):
    client.force_login(producer)
    response = client.post(reverse("dashboard-recipe-delete", args=[recipe.pk]))
    assert response.status_code == 409
    assert "room rules start it (webinar-*)" in response.content.decode()
    assert Recipe.objects.filter(pk=recipe.pk).exists()


def test_it_lists_rules_and_their_starts_in_fixed_queries(
    client, support, admin, recipe, django_assert_max_num_queries
):
    for number in range(5):
        rule = make_rule(admin, recipe, pattern=f"show-{number}-*")
        RoomRuleStart.objects.create(
            rule=rule, room_sid=f"RM_{number}", room_name=f"show-{number}-a"
        )
    client.force_login(support)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("dashboard-rule-list"))
    assert response.content.decode().count("show-4-a") == 1
