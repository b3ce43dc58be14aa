from __future__ import annotations

from django.urls import URLPattern, path

from dashboard.consumers import LiveConsumer
from egress_app.taps import AudioTapConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/live/", LiveConsumer.as_asgi(), name="dashboard-live-socket"),
]

# Egress's audio sockets: no Origin, no cookie (dashboard/asgi.py routes them outside the
# browsers' checks); the token in the query is their credential.
egress_websocket_urlpatterns: list[URLPattern] = [
    path("egress/audio/<int:tap>/", AudioTapConsumer.as_asgi(), name="egress-audio-tap"),
]
