from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# Build the Django app before importing anything that touches models (channels' own advice).
django_asgi_app = get_asgi_application()

import asyncio  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from django.db import connections  # noqa: E402

from egress_app.checks import verify_secret_keys  # noqa: E402


def _check_secret_keys() -> None:
    """A missing or wrong encryption key stops the server here, with the fix in the message,
    instead of failing later on the first page that needs a stored secret."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # daphne, tests: imported outside any event loop
        verify_secret_keys()
        return
    # uvicorn imports the app inside its event loop, where Django refuses database queries.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_verify_and_disconnect).result()


def _verify_and_disconnect() -> None:
    try:
        verify_secret_keys()
    finally:  # the thread ends here: its connection must not outlive it
        connections.close_all()


_check_secret_keys()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from dashboard.fanout import ServerSend  # noqa: E402
from dashboard.origins import ConfiguredOriginValidator  # noqa: E402
from dashboard.routing import (  # noqa: E402
    egress_websocket_urlpatterns,
    websocket_urlpatterns,
)
from egress_app.webhooks import WebhookEndpoint  # noqa: E402

application = ProtocolTypeRouter(
    {
        # LiveKit's webhooks skip Django's middleware (see egress_app/webhooks.py).
        "http": WebhookEndpoint(django_asgi_app),
        # Egress's audio sockets first: egress sends no Origin and no cookie.
        "websocket": URLRouter(
            [
                *egress_websocket_urlpatterns,
                re_path(
                    r"",
                    ConfiguredOriginValidator(
                        ServerSend(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
                    ),
                ),
            ]
        ),
    }
)

# Everything loaded so far lives as long as the process: the garbage collector need not walk it
# again on each full collection (pauses that would hold every websocket push behind them).
gc.freeze()
