"""The People page (admins) and where password links lead (anyone holding one)."""

from __future__ import annotations

from django.urls import path

from dashboard.views import people, welcome

urlpatterns = [
    path("people/", people.people_list, name="dashboard-people-list"),
    path("people/new/", people.person_create, name="dashboard-person-create"),
    path("people/<int:pk>/", people.person_detail, name="dashboard-person-detail"),
    path("people/<int:pk>/role/", people.person_role, name="dashboard-person-role"),
    path(
        "people/<int:pk>/deactivate/", people.person_deactivate, name="dashboard-person-deactivate"
    ),
    path(
        "people/<int:pk>/reactivate/", people.person_reactivate, name="dashboard-person-reactivate"
    ),
    path("people/<int:pk>/reset/", people.person_reset, name="dashboard-person-reset"),
    path("welcome/", welcome.welcome, name="dashboard-welcome"),
    path("welcome/<str:token>/", welcome.welcome_link, name="dashboard-welcome-link"),
]
