"""Machine endpoints: LiveKit's webhook, the health check (open to anonymous callers) and the
metrics (a bearer token, or a signed-in user who may review every job)."""

from __future__ import annotations

from django.urls import path

from egress_app import views, webhooks

urlpatterns = [
    path("livekit/webhook", webhooks.receive, name="egress-webhook"),
    path("healthz", views.healthz, name="egress-healthz"),
    path("metrics", views.metrics, name="egress-metrics"),
]
