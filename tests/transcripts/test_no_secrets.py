"""A transcript names its engine profile, never the profile's key: no transcript page or
download carries an engine profile's secret (the engine admin pages have their own test)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from egress_app.models import EngineKind, EngineProfile
from tests.transcripts.conftest import PODCAST, make_transcript

pytestmark = pytest.mark.django_db

KEY = "SECRET-gladia-key-XYZ123"


def test_it_shows_no_engine_secret_in_any_transcript_page_or_file(client, admin):
    profile = EngineProfile(name="Gladia EU", kind=EngineKind.GLADIA, config={"region": "eu"})
    profile.set_secrets({"api_key": KEY})
    profile.save()
    transcription = make_transcript(engine=EngineKind.GLADIA, lines=PODCAST)
    transcription.profile, transcription.profile_name = profile, profile.name
    transcription.save()
    client.force_login(admin)
    pk = transcription.pk
    urls = [
        reverse("dashboard-transcript-list"),
        reverse("dashboard-transcript-list") + "?words=show",
        reverse("dashboard-transcript-detail", args=[pk]),
        reverse("dashboard-transcript-delete", args=[pk]),
        reverse("dashboard-audio-session", args=[transcription.session_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert KEY not in response.content.decode(), url
    for form in ("txt", "srt", "vtt", "json"):
        response = client.get(reverse("dashboard-transcript-download", args=[pk, form]))
        with pytest.warns(Warning, match="consume asynchronous iterators"):
            body = b"".join(response).decode()
        assert "Gladia EU" in body or form in ("srt", "vtt")
        assert KEY not in body
