"""URLs of the jobs pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import jobs, outputs, retry, support

urlpatterns: list[URLPattern] = [
    path("jobs/", jobs.job_list, name="dashboard-job-list"),
    path("jobs/rows/", jobs.job_rows, name="dashboard-job-rows"),
    path("jobs/export.csv", jobs.job_export, name="dashboard-job-export"),
    path("jobs/<int:pk>/", jobs.job_detail, name="dashboard-job-detail"),
    path("jobs/<int:pk>/live/", jobs.job_live, name="dashboard-job-live"),
    path("jobs/<int:pk>/header/", jobs.job_header, name="dashboard-job-header"),
    path("jobs/<int:pk>/notes/", support.job_note, name="dashboard-job-note"),
    path("jobs/<int:pk>/triage/", support.job_triage, name="dashboard-job-triage"),
    path("jobs/<int:pk>/outputs/", outputs.job_outputs_part, name="dashboard-job-outputs"),
    path(
        "jobs/<int:pk>/outputs/<int:n>/play",
        outputs.output_play,
        name="dashboard-job-output-play",
    ),
    path(
        "jobs/<int:pk>/outputs/<int:n>/download",
        outputs.output_download,
        name="dashboard-job-output-download",
    ),
    path(
        "jobs/<int:pk>/segments/<int:n>/playlist.m3u8",
        outputs.segments_playlist,
        name="dashboard-job-playlist",
    ),
    path("jobs/<int:pk>/objects/<str:token>", outputs.job_object, name="dashboard-job-object"),
    path("failures/", support.failure_inbox, name="dashboard-failures"),
    path("jobs/<int:pk>/retry/", retry.job_retry, name="dashboard-job-retry"),
    path("jobs/<int:pk>/stop/", jobs.job_stop, name="dashboard-job-stop"),
    path("jobs/<int:pk>/layout/", jobs.job_layout, name="dashboard-job-layout"),
    path("jobs/<int:pk>/streams/add/", jobs.job_streams_add, name="dashboard-job-streams-add"),
    path(
        "jobs/<int:pk>/streams/remove/",
        jobs.job_streams_remove,
        name="dashboard-job-streams-remove",
    ),
]
