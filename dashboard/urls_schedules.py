"""URLs of the schedules pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import schedules

urlpatterns: list[URLPattern] = [
    path("schedules/", schedules.schedule_list, name="dashboard-schedule-list"),
    path("schedules/new/", schedules.schedule_add, name="dashboard-schedule-add"),
    path("schedules/<int:pk>/", schedules.schedule_detail, name="dashboard-schedule-detail"),
    path("schedules/<int:pk>/edit/", schedules.schedule_edit, name="dashboard-schedule-edit"),
    path("schedules/<int:pk>/pause/", schedules.schedule_pause, name="dashboard-schedule-pause"),
    path("schedules/<int:pk>/delete/", schedules.schedule_delete, name="dashboard-schedule-delete"),
]
