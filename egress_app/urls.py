"""Machine endpoints: LiveKit's webhook and the health check. Both are open to anonymous callers."""

from __future__ import annotations

from django.urls import path

from egress_app import views, webhooks

urlpatterns = [
    path("livekit/webhook", webhooks.receive, name="egress-webhook"),
    path("healthz", views.healthz, name="egress-healthz"),
]
