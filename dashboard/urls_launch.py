"""URLs of the launch pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import launch

urlpatterns: list[URLPattern] = [
    path("launch/", launch.launch, name="dashboard-launch"),
    path("launch/rooms/", launch.launch_rooms, name="dashboard-launch-rooms"),
    path("launch/source/", launch.launch_source, name="dashboard-launch-source"),
    path("launch/preview/", launch.launch_preview, name="dashboard-launch-preview"),
    path("launch/save-recipe/", launch.launch_save_recipe, name="dashboard-launch-save-recipe"),
]
