"""URLs of the recipes pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.views import recipes

urlpatterns: list[URLPattern] = [
    path("recipes/", recipes.recipe_list, name="dashboard-recipe-list"),
    path("recipes/rooms/", recipes.recipe_rooms, name="dashboard-recipe-rooms"),
    path("recipes/<int:pk>/start/", recipes.recipe_start, name="dashboard-recipe-start"),
    path(
        "recipes/<int:pk>/duplicate/", recipes.recipe_duplicate, name="dashboard-recipe-duplicate"
    ),
    path("recipes/<int:pk>/delete/", recipes.recipe_delete, name="dashboard-recipe-delete"),
]
