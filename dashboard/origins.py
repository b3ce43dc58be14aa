"""The live websocket's origin check: only pages from the dashboard's own origins may open it."""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings


class ConfiguredOriginValidator(OriginValidator):
    """channels' OriginValidator over settings.WEBSOCKET_ALLOWED_ORIGINS, read at each handshake.

    Every origin there names its scheme, host and port, all three of which must match.
    channels' AllowedHostsOriginValidator compares host names only, so a page on the same host
    and another port (another site, to a browser) could open a socket with the user's cookie.
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    def validate_origin(self, parsed_origin: ParseResult | None) -> bool:
        return any(
            self.match_allowed_origin(parsed_origin, allowed)
            for allowed in settings.WEBSOCKET_ALLOWED_ORIGINS
            # Without a scheme channels matches the host on any scheme and port.
            if "://" in allowed
        )
