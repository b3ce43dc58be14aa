"""Pages for people: sign-in and the dashboard itself."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.home, name="dashboard-home"),
    path("live/", views.home_live, name="dashboard-home-live"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
