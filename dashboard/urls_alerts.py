"""URLs of the Alerts page, its channels and its notification rules."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import alerts

urlpatterns: list[URLPattern] = [
    path("alerts/", alerts.alert_list, name="dashboard-alert-list"),
    path("alerts/channels/", alerts.channel_list, name="dashboard-alert-channel-list"),
    path("alerts/channels/new/", alerts.channel_create, name="dashboard-alert-channel-create"),
    path("alerts/channels/<int:pk>/", alerts.channel_edit, name="dashboard-alert-channel-edit"),
    path(
        "alerts/channels/<int:pk>/delete/",
        alerts.channel_delete,
        name="dashboard-alert-channel-delete",
    ),
    path(
        "alerts/channels/<int:pk>/test/", alerts.channel_test, name="dashboard-alert-channel-test"
    ),
    path("alerts/rules/", alerts.rule_list, name="dashboard-alert-rule-list"),
    path("alerts/rules/new/", alerts.rule_create, name="dashboard-alert-rule-create"),
    path("alerts/rules/<int:pk>/", alerts.rule_edit, name="dashboard-alert-rule-edit"),
    path("alerts/rules/<int:pk>/delete/", alerts.rule_delete, name="dashboard-alert-rule-delete"),
]
