from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from dashboard.launch_forms import config_from_data, initial_from_config
from egress_app import actions
from egress_app.launch.normalize import normalize_launch_config
from egress_app.models import EgressJob, EgressStatus, Recipe, StorageProfile
from tests.dashboard.test_home import text_of
from tests.jobs import ADHOC, ADHOC_KEY, make_destination, make_profile, new_token, start

pytestmark = pytest.mark.django_db

LAUNCH = reverse("dashboard-launch")
ROOMS = reverse("dashboard-launch-rooms")
SOURCE = reverse("dashboard-launch-source")
PREVIEW = reverse("dashboard-launch-preview")
SAVE_RECIPE = reverse("dashboard-launch-save-recipe")

GETS = [LAUNCH, ROOMS, f"{SOURCE}?kind=web", f"{PREVIEW}?outputs__file__filepath=a"]
POSTS = [LAUNCH, SAVE_RECIPE]


@pytest.fixture
def as_producer(client, producer):
    client.force_login(producer)
    return client


def field_html(html: str, name: str) -> str:
    """The markup of one field (label, errors, input, help) of a rendered form."""
    return html.split(f'data-field="{name}"')[1].split('<div class="field')[0]


def errors_of(html: str, name: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", field_html(html, name).split("</ul>")[0])


def room_composite_form(profile: Any, *destinations: Any, **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "launch_token": new_token(),
        "api": "v1",
        "kind": "room_composite",
        "room_name": "town-hall",
        "room_composite__layout": "speaker",
        "room_composite__audio_mixing": "DEFAULT_MIXING",
        "encoding__preset": "H264_1080P_30",
        "outputs__file": "on",
        "outputs__file__file_type": "MP4",
        "outputs__file__filepath": "rec/{room_name}.mp4",
        "storage_profile_id": str(profile.pk),
    }
    if destinations:
        data["outputs__stream"] = "on"
        data["outputs__stream__destination_ids"] = [str(d.pk) for d in destinations]
    return data | extra


# --- who may open what ----------------------------------------------------------------------


@pytest.mark.parametrize("url", GETS + POSTS)
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.post(url) if url in POSTS else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize("persona", ["support", "outsider"])
@pytest.mark.parametrize("url", GETS + POSTS)
def test_it_refuses_roles_that_may_not_launch(client, request, persona, url):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(url, {"kind": "web"}) if url in POSTS else client.get(url)
    assert response.status_code == 403
    assert not EgressJob.objects.exists()
    assert not Recipe.objects.exists()


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_opens_the_form_for_producers_and_admins(client, request, sandbox, persona):
    client.force_login(request.getfixturevalue(persona))
    for url in GETS:
        assert client.get(url).status_code == 200


def test_it_pins_the_query_count_of_the_form(as_producer, producer, django_assert_num_queries):
    make_profile(producer)
    make_destination(producer)
    make_destination(producer, name="Twitch")
    # Session, user, the user's and their groups' permissions, profiles, destinations, the
    # user's role for the header.
    with django_assert_num_queries(7):
        response = as_producer.get(LAUNCH)
    assert "Twitch" in text_of(response)


# --- the form -------------------------------------------------------------------------------


def test_it_renders_a_fresh_launch_token_each_time(as_producer):
    first, second = (
        re.search(r'name="launch_token" value="([^"]+)"', as_producer.get(LAUNCH).content.decode())
        for _ in range(2)
    )
    assert first
    assert second
    assert first[1] != second[1]


def test_it_preselects_the_default_storage_profile_and_lists_destinations(as_producer, producer):
    profile = make_profile(producer)
    profile.is_default = True
    profile.save()
    make_destination(producer, name="YouTube main")
    html = as_producer.get(LAUNCH).content.decode()
    storage = field_html(html, "storage_profile_id")
    assert f'<option value="{profile.pk}" selected>Recordings (default)</option>' in storage
    assert "LiveKit&#x27;s own storage" in storage
    assert "YouTube main" in field_html(html, "outputs__stream__destination_ids")


def test_it_marks_the_start_button_busy_while_starting(as_producer):
    html = as_producer.get(LAUNCH).content.decode()
    assert 'hx-disabled-elt="find .start-button"' in html
    assert "Starting… (LiveKit can take up to a minute to place an egress)" in html
    # The preview asks again on any change in the form.
    assert 'hx-trigger="change from:#launch-form, input delay:300ms from:#launch-form"' in html


def test_it_ties_every_label_to_its_input(as_producer):
    html = as_producer.get(LAUNCH).content.decode()
    ids = set(re.findall(r' id="(id_[^"]+)"', html))
    labels = re.findall(r'<label for="([^"]+)"', html)
    assert labels
    assert set(labels) <= ids


# --- rooms, sources, participants and tracks ---------------------------------------------------


def test_it_lists_the_live_rooms_keeping_the_chosen_one(as_producer, sandbox):
    html = as_producer.get(f"{ROOMS}?room_name=podcast").content.decode()
    assert re.findall(r'<option value="([^"]*)"', html) == [
        "",
        "empty-room",
        "podcast",
        "town-hall",
    ]
    assert '<option value="podcast" selected>' in html


def test_it_explains_when_livekit_cannot_list_rooms(as_producer, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    response = as_producer.get(ROOMS)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "Could not load the rooms from LiveKit" in text_of(response)
    assert "<select" not in response.content.decode()


@pytest.mark.parametrize(
    ("kind", "present", "absent"),
    [
        (
            "room_composite",
            ["room_composite__layout", "room_composite__audio_mixing"],
            ["web__url"],
        ),
        ("web", ["web__url", "web__await_start_signal"], ["room_composite__layout"]),
        ("participant", ["participant__screen_share"], ["web__url"]),
        ("track_composite", [], ["web__url", "participant__screen_share"]),
        ("track", ["track__websocket_url"], ["web__url"]),
    ],
)
def test_it_swaps_in_the_source_section_of_each_kind(as_producer, kind, present, absent):
    html = as_producer.get(f"{SOURCE}?kind={kind}").content.decode()
    assert html.strip().startswith(f'<fieldset id="source" class="source" data-kind="{kind}">')
    assert "<html" not in html
    for name in present:
        assert f'name="{name}"' in html
    for name in absent:
        assert f'name="{name}"' not in html


def test_it_asks_for_a_room_before_listing_participants(as_producer):
    assert "Choose a room first" in text_of(as_producer.get(f"{SOURCE}?kind=participant"))


def test_it_lists_participants_without_egress_recorders(as_producer, producer, sandbox):
    job = start(producer, {**_composite_stream(producer)})
    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    kinds = [p.kind for p in sandbox.control.participants("town-hall")]
    assert len(kinds) == 4  # the egress recorder is in the room
    html = as_producer.get(f"{SOURCE}?kind=participant&room_name=town-hall").content.decode()
    options = re.findall(r'<option value="([^"]*)"', field_html(html, "participant__identity"))
    assert options == ["", "alice", "bob", "carol"]
    assert "Alice Moreau (alice)" in html


def _composite_stream(producer: Any) -> dict[str, Any]:
    destination = make_destination(producer)
    return {
        "kind": "room_composite",
        "room_name": "town-hall",
        "outputs": {"stream": {"destination_ids": [destination.pk]}},
    }


def test_it_splits_track_composite_tracks_by_kind(as_producer, sandbox):
    html = as_producer.get(f"{SOURCE}?kind=track_composite&room_name=town-hall").content.decode()
    audio = field_html(html, "track_composite__audio_track_id")
    video = field_html(html, "track_composite__video_track_id")
    assert audio.count("<option") == 5
    assert "microphone" in audio
    assert "camera" not in audio
    assert video.count("<option") == 5
    assert "camera" in video
    assert "microphone" not in video
    mic = sandbox.control.track_sid("town-hall", "bob", "microphone")
    assert f'value="{mic}"' in audio


def test_it_offers_every_track_for_a_track_egress(as_producer, sandbox):
    html = as_producer.get(f"{SOURCE}?kind=track&room_name=podcast").content.decode()
    mic = sandbox.control.track_sid("podcast", "guest", "microphone")
    assert f'value="{mic}|audio|guest|microphone|audio/opus"' in html
    assert field_html(html, "track__track_id").count("<option") == 3


def test_it_explains_when_livekit_cannot_list_participants(as_producer, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    response = as_producer.get(f"{SOURCE}?kind=participant&room_name=town-hall")
    assert "Could not load the participants from LiveKit" in text_of(response)


# --- the filename preview --------------------------------------------------------------------


def test_it_previews_the_file_name(as_producer):
    query = (
        "kind=room_composite&room_name=town-hall&outputs__file=on&outputs__file__file_type=OGG"
        "&room_composite__audio_only=on&outputs__file__filepath=rec/{room_name}/show"
    )
    html = as_producer.get(f"{PREVIEW}?{query}").content.decode()
    assert "<dt>File</dt><dd><code>rec/town-hall/show.ogg</code></dd>" in html


def test_it_previews_a_track_file_from_the_chosen_track(as_producer):
    track = "TR_x|video|alice|camera|video/VP8"
    query = f"kind=track&room_name=town-hall&track__track_id={track}&outputs__file=on"
    query += "&outputs__file__filepath={publisher_identity}-{track_source}"
    html = as_producer.get(f"{PREVIEW}?{query}").content.decode()
    assert "<code>alice-camera.webm</code>" in html


def test_it_previews_the_chosen_profiles_default_path(as_producer, producer):
    profile = make_profile(producer)
    StorageProfile.objects.filter(pk=profile.pk).update(path_template="recordings/{room_name}/")
    query = (
        f"kind=room_composite&room_name=town-hall&outputs__file=on&storage_profile_id={profile.pk}"
    )
    html = as_producer.get(f"{PREVIEW}?{query}").content.decode()
    assert "<code>recordings/town-hall/town-hall-2" in html


def test_it_previews_segments_and_images(as_producer):
    query = "kind=participant&room_name=town-hall&participant__identity=alice"
    query += "&outputs__segments=on&outputs__segments__filename_prefix=hls/{publisher_identity}"
    query += "&outputs__images=on&outputs__images__filename_prefix=img/frame"
    html = as_producer.get(f"{PREVIEW}?{query}").content.decode()
    assert "<dt>Playlist</dt><dd><code>hls/alice.m3u8</code></dd>" in html
    assert "<dt>Segments</dt><dd><code>hls/alice_00000.ts</code></dd>" in html
    assert "<dt>Images</dt><dd><code>img/frame_00000.jpeg</code></dd>" in html


def test_it_renders_the_preview_with_the_form_as_posted(as_producer, producer):
    profile = make_profile(producer)
    StorageProfile.objects.filter(pk=profile.pk).update(path_template="recordings/{room_name}/")
    form = {"kind": "room_composite", "outputs__file": "on", "storage_profile_id": profile.pk}
    html = as_producer.post(LAUNCH, form).content.decode()
    assert "<dt>File</dt><dd><code>recordings/&lt;room&gt;/&lt;room&gt;-2" in html


# --- starting --------------------------------------------------------------------------------


def test_it_starts_a_room_composite_to_a_file_and_a_destination(as_producer, producer, sandbox):
    profile, destination = make_profile(producer), make_destination(producer)
    response = as_producer.post(LAUNCH, room_composite_form(profile, destination))
    job = EgressJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.room_name == "town-hall"
    assert job.started_by == producer
    assert job.config["encoding"] == {"preset": "H264_1080P_30"}
    assert list(job.destinations.all()) == [destination]
    [info] = sandbox.control.egresses()
    assert info.egress_id == job.egress_id
    assert info.room_composite.layout == "speaker"


def test_it_starts_one_egress_for_a_resubmitted_form(as_producer, producer, sandbox):
    data = room_composite_form(make_profile(producer))
    first = as_producer.post(LAUNCH, data)
    second = as_producer.post(LAUNCH, data)
    assert first["Location"] == second["Location"]
    assert EgressJob.objects.count() == 1
    assert len(sandbox.control.egresses()) == 1


def test_it_redirects_htmx_requests_with_a_client_redirect(as_producer, producer, sandbox):
    response = as_producer.post(
        LAUNCH, room_composite_form(make_profile(producer)), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/jobs/{EgressJob.objects.get().pk}/"


def test_it_starts_a_stream_to_an_adhoc_url_without_keeping_it(as_producer, producer, sandbox):
    data = room_composite_form(make_profile(producer))
    data |= {"outputs__stream": "on", "outputs__stream__adhoc": f"{ADHOC}\n"}
    as_producer.post(LAUNCH, data)
    job = EgressJob.objects.get()
    assert ADHOC_KEY not in str(job.config)
    assert ADHOC_KEY not in str(job.adhoc_outputs)
    [info] = sandbox.control.egresses()
    assert len(info.stream_results) == 1


def test_it_shows_each_broken_rule_next_to_its_field(as_producer, producer, sandbox):
    data = room_composite_form(make_profile(producer), room_name="")
    data |= {
        "outputs__file__file_type": "OGG",
        "encoding__preset": "ADVANCED",
        "encoding__advanced__width": "17",
        "outputs__stream": "on",
        "outputs__stream__adhoc": "rtmp://live.example.com/SECRET-only-key",
    }
    response = as_producer.post(LAUNCH, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was started: please correct the fields marked below." in text_of(response)
    assert errors_of(html, "room_name") == ["Choose a room."]
    assert errors_of(html, "encoding__advanced__width") == ["Width must be even and at least 16."]
    assert errors_of(html, "outputs__file__file_type")[0].startswith("An OGG file holds audio")
    assert errors_of(html, "outputs__stream__adhoc") == [
        "Line 1: This URL has no application path before the stream key: "
        "RTMP URLs look like rtmp://host/app/stream-key."
    ]
    # What was typed stays, the token too (nothing was written for it).
    assert 'value="17"' in field_html(html, "encoding__advanced__width")
    assert f'value="{data["launch_token"]}"' in html
    assert not EgressJob.objects.exists()
    assert sandbox.control.egresses() == []


def test_it_puts_rules_without_a_field_at_the_top(as_producer, producer):
    data = room_composite_form(make_profile(producer))
    del data["outputs__file"]
    response = as_producer.post(LAUNCH, data)
    top = response.content.decode().split('class="form-error"')[1].split("</div>")[0]
    assert "Choose at least one output." in top
    assert not EgressJob.objects.exists()


def test_it_shows_errors_of_a_participant_choice_above_the_live_list(as_producer):
    data = {"launch_token": new_token(), "kind": "participant", "room_name": "town-hall"}
    html = as_producer.post(LAUNCH, data).content.decode()
    assert "Participant: Choose the participant to record." in text_of_html(html)
    assert "/launch/source/?kind=participant&amp;room_name=town-hall" in html


def text_of_html(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_it_sends_a_refused_launch_to_its_job_page(as_producer, producer, sandbox):
    sandbox.control.add_room("no-workers-studio")
    data = room_composite_form(make_profile(producer), room_name="no-workers-studio")
    response = as_producer.post(LAUNCH, data)
    job = EgressJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.error == "No egress worker accepted the job (all busy or none connected)."
    assert sandbox.control.egresses() == []


# --- prefill and recipes ---------------------------------------------------------------------


def test_it_prefills_from_a_cloned_job(as_producer, producer, sandbox):
    job = start(producer, _composite_stream(producer) | {"encoding": {"preset": "H264_720P_60"}})
    html = as_producer.get(f"{LAUNCH}?clone={job.pk}").content.decode()
    assert "room_name=town-hall" in html
    assert '<option value="H264_720P_60" selected>' in field_html(html, "encoding__preset")
    assert "checked" in field_html(html, "outputs__stream")


def test_it_clones_only_jobs_the_user_may_see(as_producer, admin, sandbox):
    # As on the jobs pages: another producer's running job is visible, a finished one is not.
    job = start(admin, _composite_stream(admin))
    assert as_producer.get(f"{LAUNCH}?clone={job.pk}").status_code == 200
    EgressJob.objects.filter(pk=job.pk).update(status=EgressStatus.COMPLETE)
    assert as_producer.get(f"{LAUNCH}?clone={job.pk}").status_code == 404


def test_it_prefills_from_a_recipe(as_producer):
    config = {"kind": "web", "web": {"url": "https://example.com/show"}, "outputs": {"file": {}}}
    recipe = Recipe.objects.create(name="Show", config=config)
    html = as_producer.get(f"{LAUNCH}?recipe={recipe.pk}").content.decode()
    assert 'value="https://example.com/show"' in field_html(html, "web__url")
    assert 'value="web" hx-get' in html
    assert 'id="id_kind_1" required checked' in html


def test_it_saves_the_form_as_a_recipe(as_producer, producer):
    data = room_composite_form(make_profile(producer)) | {"recipe_name": "Town hall MP4"}
    response = as_producer.post(SAVE_RECIPE, data, headers={"HX-Request": "true"})
    recipe = Recipe.objects.get()
    assert "Saved the recipe Town hall MP4." in text_of(response)
    assert recipe.name == "Town hall MP4"
    assert "room_name" not in recipe.config
    assert recipe.config["outputs"]["file"]["filepath"] == "rec/{room_name}.mp4"


def test_it_explains_why_a_recipe_was_not_saved(as_producer, producer):
    data = room_composite_form(make_profile(producer)) | {"recipe_name": ""}
    response = as_producer.post(SAVE_RECIPE, data, headers={"HX-Request": "true"})
    assert "Name is required." in text_of(response)
    assert not Recipe.objects.exists()


def test_it_saves_a_recipe_without_javascript_and_goes_to_the_recipes(as_producer, producer):
    data = room_composite_form(make_profile(producer)) | {"recipe_name": "Plain"}
    response = as_producer.post(SAVE_RECIPE, data)
    assert response["Location"] == reverse("dashboard-recipe-list")
    assert Recipe.objects.get().name == "Plain"


def test_it_edits_a_recipe_and_saves_it_back(as_producer, producer):
    profile = make_profile(producer)
    data = room_composite_form(profile) | {"recipe_name": "Town hall MP4"}
    as_producer.post(SAVE_RECIPE, data)
    recipe = Recipe.objects.get()

    html = as_producer.get(f"{LAUNCH}?recipe={recipe.pk}").content.decode()
    assert f'<input type="hidden" name="recipe" value="{recipe.pk}">' in html
    assert 'value="Town hall MP4"' in field_html(html, "recipe_name")

    changed = data | {"recipe": str(recipe.pk), "outputs__file__filepath": "rec/{time}.mp4"}
    response = as_producer.post(SAVE_RECIPE, changed, headers={"HX-Request": "true"})

    assert "Saved the recipe Town hall MP4." in text_of(response)
    recipe = Recipe.objects.get()  # overwritten, not copied
    assert recipe.config["outputs"]["file"]["filepath"] == "rec/{time}.mp4"


def test_it_shows_a_refused_recipe_on_the_whole_page_without_javascript(as_producer, producer):
    data = room_composite_form(make_profile(producer)) | {"recipe_name": ""}

    response = as_producer.post(SAVE_RECIPE, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Name is required." in text_of(response)
    assert 'value="rec/{room_name}.mp4"' in field_html(html, "outputs__file__filepath")
    assert '<details class="save-recipe" open>' in html
    assert not Recipe.objects.exists()


def test_it_says_a_recipe_keeps_no_ad_hoc_stream_url(as_producer, producer):
    data = room_composite_form(make_profile(producer)) | {"recipe_name": "Ad hoc"}
    data |= {"outputs__stream": "on", "outputs__stream__adhoc": f"{ADHOC}\n"}

    response = as_producer.post(SAVE_RECIPE, data, headers={"HX-Request": "true"})

    assert "ad-hoc stream URLs hold stream keys and are never saved" in text_of(response)
    assert not Recipe.objects.exists()


@pytest.mark.parametrize(
    "config",
    [
        {
            "kind": "room_composite",
            "room_name": "town-hall",
            "room_composite": {"layout": "speaker-light", "audio_only": True},
            "encoding": {"advanced": {"width": 640, "height": 360, "audio_codec": "AAC"}},
            "outputs": {"file": {"file_type": "MP4"}, "segments": {"segment_duration": 6}},
            "server_storage": True,
        },
        {
            "api": "v2",
            "kind": "track",
            "room_name": "podcast",
            "track": {"track_id": "TR_a", "track_kind": "audio", "mime_type": "audio/opus"},
            "outputs": {"file": {"filepath": "{track_id}"}},
        },
        {
            "kind": "web",
            "web": {"url": "https://example.com", "await_start_signal": True},
            "outputs": {"images": {"capture_interval": 5}, "stream": {"destination_ids": [3]}},
            "storage_profile_id": 7,
        },
    ],
)
def test_it_reads_back_a_prefilled_configuration_unchanged(config):
    again = config_from_data(initial_from_config(config))
    assert normalize_launch_config(again) == normalize_launch_config(config)


def test_it_offers_the_configured_egress_api_by_default(client, producer, sandbox, settings):
    settings.LIVEKIT_EGRESS_API = "v2"
    client.force_login(producer)
    html = client.get(reverse("dashboard-launch")).content.decode()
    assert re.search(r'<option value="v2"[^>]*selected', html)


# --- bad input: a field error, never a 500 (issue 13, section 4) ----------------------------

INT32 = "Enter a whole number from -2,147,483,648 to 2,147,483,647."
UINT32 = "Enter a whole number from 0 to 4,294,967,295."
NOT_FINITE = "Enter a finite number: not infinity or NaN."
ADVANCED = {"encoding__preset": "ADVANCED"}


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"kind": "bogus"}, "kind", "Choose what to record."),
        (
            ADVANCED | {"encoding__advanced__width": "2147483648"},
            "encoding__advanced__width",
            INT32,
        ),
        (
            ADVANCED | {"encoding__advanced__video_bitrate": "9000000000000000000"},
            "encoding__advanced__video_bitrate",
            INT32,
        ),
        (
            ADVANCED | {"encoding__advanced__audio_frequency": "1099511627776"},
            "encoding__advanced__audio_frequency",
            INT32,
        ),
        (
            {"outputs__segments": "on", "outputs__segments__segment_duration": "1000000000000"},
            "outputs__segments__segment_duration",
            UINT32,
        ),
        (
            {"outputs__images": "on", "outputs__images__capture_interval": "4294967296"},
            "outputs__images__capture_interval",
            UINT32,
        ),
        *(
            (
                ADVANCED | {"encoding__advanced__key_frame_interval": value},
                "encoding__advanced__key_frame_interval",
                NOT_FINITE,
            )
            for value in ("inf", "nan", "1e309")
        ),
    ],
)
def test_it_shows_a_value_livekit_cannot_carry_next_to_its_field(
    as_producer, producer, sandbox, extra, field, message
):
    data = room_composite_form(make_profile(producer)) | extra
    response = as_producer.post(LAUNCH, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(html, field) == [message]
    assert not EgressJob.objects.exists()
    assert sandbox.control.egresses() == []


def field_errors(html: str, name: str) -> list[str]:
    """The errors listed for a field, wherever its template puts them (`id_<name>_error`)."""
    found = re.search(rf'<ul class="field-errors" id="id_{name}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found[1]) if found else []


@pytest.mark.parametrize("pk", ["²", "9" * 5000, "9223372036854775808", "-1"])
def test_it_reads_an_id_no_row_can_have_as_none(as_producer, producer, sandbox, pk):
    # "²" passes str.isdigit() and 5000 digits int()'s limit: each raised in a lookup.
    data = room_composite_form(make_profile(producer)) | {"retry_of": pk, "recipe": pk}
    response = as_producer.post(LAUNCH, data)
    assert response.status_code == 302
    assert EgressJob.objects.get().retry_of is None
    recipe = {"recipe_name": "Fresh", "recipe": pk}
    assert as_producer.post(SAVE_RECIPE, data | recipe).status_code == 302
    assert Recipe.objects.get().name == "Fresh"
    assert as_producer.get(LAUNCH, {"clone": pk}).status_code == 404
    assert as_producer.get(LAUNCH, {"recipe": pk}).status_code == 404


# --- the chosen storage profile's last test ---------------------------------------------------


class FailedTest:
    ok, message = False, "the bucket does not exist"


def failing_default(producer):
    profile = make_profile(producer)
    actions.make_default_storage_profile(None, profile)
    return actions.record_storage_test(None, profile, FailedTest())


def test_it_warns_beside_the_storage_choice_of_a_profile_whose_test_failed(as_producer, producer):
    profile = failing_default(producer)
    html = as_producer.get(LAUNCH).content.decode()
    state = html.split('id="profile-state"')[1].split("</p>")[0]
    assert f"Last test of {profile.name}:" in state
    assert "✗ Failed" in state
    assert "<time datetime=" in state
    assert "Uploads to this profile may fail" in state
    assert "the bucket does not exist" not in html  # the test's message is for admins
    assert f"{profile.name} (default, last test failed)</option>" in html


def test_it_says_when_the_chosen_profile_was_never_tested(as_producer, producer):
    profile = make_profile(producer)
    actions.make_default_storage_profile(None, profile)
    state = as_producer.get(LAUNCH).content.decode().split('id="profile-state"')[1]
    assert "Never tested" in state.split("</p>")[0]
    assert "may fail" not in state.split("</p>")[0]


def test_it_sends_the_newly_chosen_profiles_state_with_the_preview(as_producer, producer):
    profile = failing_default(producer)
    html = as_producer.get(f"{PREVIEW}?storage_profile_id={profile.pk}").content.decode()
    assert 'id="profile-state" class="profile-state" aria-live="polite" hx-swap-oob="true"' in html
    assert "✗ Failed" in html
    html = as_producer.get(f"{PREVIEW}?storage_profile_id=server").content.decode()
    assert "Last test of" not in html
