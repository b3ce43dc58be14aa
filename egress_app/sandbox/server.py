"""The sandbox's ASGI application: LiveKit's Twirp services and the control API on one port."""

from __future__ import annotations

from egress_app.sandbox import egress_service, room_service
from egress_app.sandbox.asgi import ASGIApp, Receive, Scope, Send, send_text
from egress_app.sandbox.config import SandboxConfig
from egress_app.sandbox.control_api import ControlAPI
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.twirp import PREFIX, TwirpRouter


class SandboxApp:
    """Routes `/twirp/...` to the Twirp services and `/sandbox/...` to the control API."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        config = sandbox.config
        self.twirp = TwirpRouter(
            {
                egress_service.SERVICE: egress_service.methods(sandbox),
                room_service.SERVICE: room_service.methods(sandbox),
            },
            config.api_key,
            config.api_secret,
            sandbox.calls,
        )
        self.control = ControlAPI(sandbox)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path.startswith(PREFIX):
            await self.twirp(scope, receive, send)
        elif path.startswith("/sandbox/"):
            await self.control(scope, receive, send)
        else:
            await send_text(send, 404, "404 page not found\n")


def create_app(config: SandboxConfig | None = None, *, sandbox: Sandbox | None = None) -> ASGIApp:
    return SandboxApp(sandbox or Sandbox(config or SandboxConfig()))
