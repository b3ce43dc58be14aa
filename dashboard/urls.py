from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from dashboard import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls()),
    path("", include("egress_app.urls")),
    path("", include("dashboard.urls_pages")),
]
