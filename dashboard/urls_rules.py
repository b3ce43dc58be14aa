"""URLs of the room rules pages and the Live page's Create room."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import rules

urlpatterns: list[URLPattern] = [
    path("rules/", rules.rule_list, name="dashboard-rule-list"),
    path("rules/new/", rules.rule_create, name="dashboard-rule-create"),
    path("rules/<int:pk>/", rules.rule_edit, name="dashboard-rule-edit"),
    path("rules/<int:pk>/delete/", rules.rule_delete, name="dashboard-rule-delete"),
    path("live/rooms/new/", rules.room_create, name="dashboard-room-create"),
]
