from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("egress_app.urls")),
    path("", include("dashboard.urls_pages")),
]
