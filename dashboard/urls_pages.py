"""Pages for people: sign-in, the live dashboard and the admins' pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views
from dashboard.views import live, moderation, tokens

urlpatterns = [
    path("", views.home, name="dashboard-home"),
    path("live/", views.home_live, name="dashboard-home-live"),
    path("live/mute/", moderation.live_mute, name="dashboard-live-mute"),
    path("live/remove/", moderation.live_remove, name="dashboard-live-remove"),
    path("live/record/", live.live_record, name="dashboard-live-record"),
    path("live/stream/", live.live_stream, name="dashboard-live-stream"),
    path("live/stop/<int:pk>/", live.live_stop, name="dashboard-live-stop"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Storage profiles
    path("storage/", views.storage_list, name="dashboard-storage-list"),
    path("storage/new/", views.storage_create, name="dashboard-storage-create"),
    path(
        "storage/new/test/",
        views.storage_test_settings,
        name="dashboard-storage-create-test",
    ),
    path("storage/fields/", views.storage_fields, name="dashboard-storage-fields"),
    path("storage/<int:pk>/", views.storage_edit, name="dashboard-storage-edit"),
    path(
        "storage/<int:pk>/duplicate/", views.storage_duplicate, name="dashboard-storage-duplicate"
    ),
    path("storage/<int:pk>/delete/", views.storage_delete, name="dashboard-storage-delete"),
    path("storage/<int:pk>/default/", views.storage_default, name="dashboard-storage-default"),
    path("storage/<int:pk>/test/", views.storage_test, name="dashboard-storage-test"),
    path(
        "storage/<int:pk>/test-settings/",
        views.storage_test_settings,
        name="dashboard-storage-edit-test",
    ),
    # Stream destinations
    path("destinations/", views.destination_list, name="dashboard-destination-list"),
    path("destinations/new/", views.destination_create, name="dashboard-destination-create"),
    path("destinations/<int:pk>/", views.destination_edit, name="dashboard-destination-edit"),
    path(
        "destinations/<int:pk>/duplicate/",
        views.destination_duplicate,
        name="dashboard-destination-duplicate",
    ),
    path(
        "destinations/<int:pk>/delete/",
        views.destination_delete,
        name="dashboard-destination-delete",
    ),
    # Engine profiles (speech to text)
    path("engines/", views.engine_list, name="dashboard-engine-list"),
    path("engines/new/", views.engine_create, name="dashboard-engine-create"),
    path("engines/new/test/", views.engine_test_settings, name="dashboard-engine-create-test"),
    path("engines/fields/", views.engine_fields, name="dashboard-engine-fields"),
    path("engines/<int:pk>/", views.engine_edit, name="dashboard-engine-edit"),
    path("engines/<int:pk>/delete/", views.engine_delete, name="dashboard-engine-delete"),
    path("engines/<int:pk>/default/", views.engine_default, name="dashboard-engine-default"),
    path("engines/<int:pk>/test/", views.engine_test, name="dashboard-engine-test"),
    path(
        "engines/<int:pk>/test-settings/",
        views.engine_test_settings,
        name="dashboard-engine-edit-test",
    ),
    # Audit log
    path("audit/", views.audit, name="dashboard-audit"),
    # Personal API tokens (the API itself: dashboard/api)
    path("tokens/", tokens.token_list, name="dashboard-token-list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="dashboard-token-revoke"),
    # Reports
    path("reports/", views.reports, name="dashboard-reports"),
    # Launching egress, its jobs and saved recipes
    path("", include("dashboard.urls_launch")),
    path("", include("dashboard.urls_jobs")),
    path("", include("dashboard.urls_recipes")),
    path("", include("dashboard.urls_rules")),
    path("", include("dashboard.urls_schedules")),
    path("", include("dashboard.urls_audio")),
    path("", include("dashboard.urls_transcripts")),
    path("", include("dashboard.urls_people")),
    path("", include("dashboard.urls_alerts")),
]
