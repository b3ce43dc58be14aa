"""URLs of the transcript pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import transcripts

urlpatterns: list[URLPattern] = [
    path("transcripts/", transcripts.transcript_list, name="dashboard-transcript-list"),
    path(
        "transcripts/<int:pk>/", transcripts.transcript_detail, name="dashboard-transcript-detail"
    ),
    path(
        "transcripts/<int:pk>/download/<str:form>/",
        transcripts.transcript_download,
        name="dashboard-transcript-download",
    ),
    path(
        "transcripts/<int:pk>/delete/",
        transcripts.transcript_delete,
        name="dashboard-transcript-delete",
    ),
]
