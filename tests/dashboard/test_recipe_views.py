from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from egress_app.actions.recipes import save_recipe
from egress_app.models import EgressJob, LaunchState, Recipe
from egress_app.sandbox.testing import RunningSandbox
from tests.dashboard.test_home import text_of
from tests.jobs import file_config, make_destination, make_profile, stream_config

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-recipe-list")
ROOMS = reverse("dashboard-recipe-rooms")


@pytest.fixture
def recipe(producer) -> Recipe:
    return save_recipe(producer, name="YouTube live", config=stream_config(make_destination(None)))


@pytest.fixture
def as_producer(client, producer):
    client.force_login(producer)
    return client


def token_of(html: str, recipe: Recipe) -> str:
    form = html.split(f'action="{reverse("dashboard-recipe-start", args=[recipe.pk])}"')[1]
    match = re.search(r'name="launch_token" value="([^"]+)"', form)
    assert match
    return match.group(1)


# --- who may open what ----------------------------------------------------------------------
PAGES = [
    ("dashboard-recipe-list", False),
    ("dashboard-recipe-rooms", False),
    ("dashboard-recipe-duplicate", True),
    ("dashboard-recipe-delete", True),
]
POSTS = [
    ("dashboard-recipe-start", True),
    ("dashboard-recipe-duplicate", True),
    ("dashboard-recipe-delete", True),
]


def url_of(name: str, recipe: Recipe, needs_pk: bool) -> str:
    return reverse(name, args=[recipe.pk]) if needs_pk else reverse(name)


@pytest.mark.parametrize(("name", "needs_pk"), PAGES + POSTS)
def test_it_sends_anonymous_visitors_to_the_login_page(client, recipe, name, needs_pk):
    url = url_of(name, recipe, needs_pk)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("persona", ["support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), PAGES)
def test_it_refuses_other_roles_each_page(client, request, recipe, persona, name, needs_pk):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url_of(name, recipe, needs_pk))
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), POSTS)
def test_it_refuses_other_roles_each_change(client, request, recipe, persona, name, needs_pk):
    client.force_login(request.getfixturevalue(persona))
    data = {"name": "Copy", "room_name": "town-hall", "launch_token": str(uuid.uuid4())}
    response = client.post(url_of(name, recipe, needs_pk), data)
    assert response.status_code == 403
    assert list(Recipe.objects.values_list("name", flat=True)) == ["YouTube live"]
    assert not EgressJob.objects.exists()


@pytest.mark.parametrize("persona", ["producer", "admin"])
@pytest.mark.parametrize(("name", "needs_pk"), PAGES)
def test_it_opens_every_page_for_launchers(
    client, request, sandbox, recipe, persona, name, needs_pk
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url_of(name, recipe, needs_pk)).status_code == 200


def test_it_only_starts_on_a_post(as_producer, recipe):
    assert as_producer.get(reverse("dashboard-recipe-start", args=[recipe.pk])).status_code == 405


# --- the list -------------------------------------------------------------------------------
def test_it_shows_the_empty_state(as_producer):
    text = text_of(as_producer.get(LIST))
    assert "No recipes yet. Set up a launch on the Launch page and save it as a recipe." in text


def test_it_lists_recipes_with_a_summary_and_their_actions(as_producer, producer, admin, recipe):
    profile = make_profile(admin)
    config = file_config(profile) | {"encoding": {"preset": "H264_1080P_30"}}
    config["outputs"]["file"]["file_type"] = "MP4"
    webinar = save_recipe(producer, name="Webinar 1080p", config=config)

    response = as_producer.get(LIST)
    text, html = text_of(response), response.content.decode()

    assert text.index("Webinar 1080p") < text.index("YouTube live")
    assert "Room composite · v1 API · H264_1080P_30 · MP4 file to Recordings" in text
    assert "Room composite · v1 API · H264_720P_30 · stream to YouTube" in text
    assert f'href="{reverse("dashboard-launch")}?recipe={webinar.pk}"' in html
    assert reverse("dashboard-recipe-duplicate", args=[webinar.pk]) in html
    assert reverse("dashboard-recipe-delete", args=[webinar.pk]) in html
    assert token_of(html, webinar) != token_of(html, recipe)
    assert f'hx-get="{ROOMS}"' in html
    assert "Loading live rooms from LiveKit" in text


def test_it_pins_the_query_count_of_the_list(
    as_producer, producer, admin, django_assert_num_queries
):
    profile = make_profile(admin)
    for number in range(5):
        destination = make_destination(admin, name=f"Channel {number}")
        config = stream_config(destination) | {"storage_profile_id": profile.pk}
        config["outputs"]["file"] = {}
        save_recipe(producer, name=f"Recipe {number}", config=config)
    # Session, user, the user's and their groups' permissions, recipes, profiles, destinations,
    # and the user's groups for the role shown in the header.
    with django_assert_num_queries(8):
        response = as_producer.get(LIST)
    assert text_of(response).count("to Recordings") == 5


def test_it_says_a_recipe_records_audio_only(as_producer, producer, admin):
    config = file_config(make_profile(admin))
    config["room_composite"]["audio_only"] = True
    config["outputs"]["file"]["file_type"] = "MP3"
    save_recipe(producer, name="Podcast audio MP3", config=config)

    text = text_of(as_producer.get(LIST))

    assert "Room composite, audio only · v1 API · H264_720P_30 · MP3 file to Recordings" in text


# --- the rooms fragment ---------------------------------------------------------------------
def test_it_fills_every_room_select_with_the_live_rooms(as_producer, sandbox: RunningSandbox):
    sandbox.control.add_room("aaa-studio")

    html = as_producer.get(ROOMS).content.decode()

    assert 'hx-swap-oob="innerHTML:select.recipe-room"' in html
    assert '<option value="aaa-studio">aaa-studio</option>' in html
    assert '<option value="town-hall">town-hall</option>' in html
    assert html.index("aaa-studio") < html.index("town-hall")


def test_it_says_when_livekit_cannot_list_rooms(as_producer, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url

    response = as_producer.get(ROOMS)

    assert response.status_code == 200
    assert "Could not load the rooms from LiveKit" in text_of(response)
    assert '<option value="">LiveKit unavailable</option>' in response.content.decode()


# --- starting -------------------------------------------------------------------------------
def test_it_starts_a_recipe_and_opens_its_job(as_producer, admin, sandbox: RunningSandbox):
    recipe = save_recipe(admin, name="Webinar", config=file_config(make_profile(admin)))
    token = token_of(as_producer.get(LIST).content.decode(), recipe)
    url = reverse("dashboard-recipe-start", args=[recipe.pk])

    response = as_producer.post(url, {"room_name": "town-hall", "launch_token": token})
    again = as_producer.post(url, {"room_name": "town-hall", "launch_token": token})

    job = EgressJob.objects.get()
    assert response.status_code == again.status_code == 302
    assert response["Location"] == again["Location"] == f"/jobs/{job.pk}/"
    assert (job.room_name, job.launch_state) == ("town-hall", LaunchState.LAUNCHED)
    assert len(sandbox.control.egresses()) == 1


def test_it_opens_the_job_livekit_refused(as_producer, recipe, sandbox: RunningSandbox):
    sandbox.control.add_room("no-workers-studio")
    url = reverse("dashboard-recipe-start", args=[recipe.pk])

    data = {"room_name": "no-workers-studio", "launch_token": str(uuid.uuid4())}
    response = as_producer.post(url, data)

    job = EgressJob.objects.get()
    assert job.launch_state == LaunchState.REFUSED
    assert response["Location"] == f"/jobs/{job.pk}/"


def test_it_goes_back_to_the_list_with_what_is_wrong(as_producer, recipe, sandbox):
    url = reverse("dashboard-recipe-start", args=[recipe.pk])

    response = as_producer.post(
        url, {"room_name": "", "launch_token": str(uuid.uuid4())}, follow=True
    )

    assert response.redirect_chain == [(LIST, 302)]
    assert "YouTube live was not started: Choose a room." in text_of(response)
    assert not EgressJob.objects.exists()


# --- duplicate and delete -------------------------------------------------------------------
def test_it_duplicates_a_recipe_and_opens_it_on_the_launch_form(as_producer, recipe):
    url = reverse("dashboard-recipe-duplicate", args=[recipe.pk])
    assert 'value="YouTube live (copy)"' in as_producer.get(url).content.decode()

    response = as_producer.post(url, {"name": "YouTube live 2"})

    copy = Recipe.objects.get(name="YouTube live 2")
    assert response["Location"] == f"{reverse('dashboard-launch')}?recipe={copy.pk}"
    assert copy.config == recipe.config


def test_it_refuses_a_duplicate_name(as_producer, recipe):
    url = reverse("dashboard-recipe-duplicate", args=[recipe.pk])

    response = as_producer.post(url, {"name": "youtube live"})

    assert response.status_code == 200
    assert "There is already a recipe called youtube live." in text_of(response)
    assert Recipe.objects.count() == 1


def test_it_asks_before_deleting_a_recipe(as_producer, recipe):
    url = reverse("dashboard-recipe-delete", args=[recipe.pk])

    assert "Delete the recipe YouTube live?" in text_of(as_producer.get(url))
    assert Recipe.objects.exists()
    response = as_producer.post(url, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Deleted the recipe YouTube live." in text_of(response)
    assert not Recipe.objects.exists()
