"""Names people can't tell apart are one name: profiles, destinations and recipes (issue 13 §5)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from egress_app import actions, names
from egress_app.actions.recipes import save_recipe
from egress_app.models import Recipe, StorageProfile, StreamDestination
from tests.jobs import make_destination, make_profile, stream_config

# Each looks like "Studio A" on a page.
LOOK_ALIKES = [
    "Studio\u200b A",  # a zero-width space
    "Studio\u00a0A",  # a no-break space
    "Studio  A",  # two spaces
    " Studio A\t",
    "Studio \u0410",  # Cyrillic capital A
    "\u202eStudio A",  # a right-to-left override
    "Stu\x00dio A",  # NUL
    "\uff33tudio A",  # fullwidth S
    "studio a",
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_it_takes_look_alikes_for_the_same_name(name):
    assert names.same(name, "Studio A")


@pytest.mark.parametrize("other", ["Studio B", "Studio", "Studio AA", "Stüdio A", "Студия A"])
def test_it_tells_different_names_apart(other):
    assert not names.same(other, "Studio A")


def test_it_reads_a_greek_capital_beta_as_b_not_as_sharp_s():
    assert names.same("\u039f\u0392S main", "OBS main")


def test_it_keeps_non_latin_names_and_their_case_rule():
    assert names.clean("Студия") == "Студия"
    assert names.same("Студия", "СТУДИЯ")


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200d\u2060", "\x00", "\u202e", " \t "])
def test_it_cleans_invisible_names_to_nothing(name):
    assert names.clean(name) == ""


@given(st.text(max_size=40))
def test_it_cleans_to_a_fixed_point_with_nothing_invisible(raw):
    cleaned = names.clean(raw)
    assert names.clean(cleaned) == cleaned
    assert "\x00" not in cleaned
    assert cleaned == cleaned.strip()
    assert names.same(cleaned, raw)


# --- the actions that name things -----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_it_refuses_a_destination_named_like_another(producer, name):
    make_destination(producer, name="Studio A")

    with pytest.raises(ValidationError) as caught:
        make_destination(producer, name=name)

    [message] = caught.value.message_dict["name"]
    assert message.startswith("There is already a stream destination called ")
    assert StreamDestination.objects.count() == 1


@pytest.mark.django_db
def test_it_names_the_look_alike_it_found(admin):
    profile = make_profile(admin)

    with pytest.raises(ValidationError) as caught:
        actions.duplicate_storage_profile(admin, profile, name="R\u0435cordings")  # Cyrillic e

    assert caught.value.message_dict == {
        "name": ["There is already a storage profile called Recordings, which looks the same."]
    }
    assert StorageProfile.objects.count() == 1


@pytest.mark.django_db
def test_it_stores_the_name_as_a_person_sees_it(producer):
    destination = make_destination(producer, name=" \u202eYouTube\u200b\u00a0main\x00 ")
    assert destination.name == "YouTube main"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["\u200b\u200b", "\x00", "\u2060"])
def test_it_refuses_a_recipe_named_only_with_invisible_characters(producer, name):
    with pytest.raises(ValidationError) as caught:
        save_recipe(producer, name=name, config=stream_config(make_destination(producer)))

    assert caught.value.message_dict["name"] == ["Name is required."]
    assert not Recipe.objects.exists()


@pytest.mark.django_db
def test_it_lets_a_recipe_keep_its_own_name_when_saved_again(producer):
    config = stream_config(make_destination(producer))
    recipe = save_recipe(producer, name="Live", config=config)

    again = save_recipe(producer, name="live\u200b", config=config, recipe=recipe)

    assert (again.pk, again.name) == (recipe.pk, "live")
