"""URLs of the audio session pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import audio

urlpatterns: list[URLPattern] = [
    path("audio/listen/", audio.audio_listen, name="dashboard-audio-listen"),
    path("audio/<int:pk>/", audio.audio_session, name="dashboard-audio-session"),
    path("audio/<int:pk>/live/", audio.audio_live, name="dashboard-audio-live"),
    path("audio/<int:pk>/recordings/", audio.audio_recordings, name="dashboard-audio-recordings"),
    path("audio/<int:pk>/stop/", audio.audio_stop, name="dashboard-audio-stop"),
]
