"""`manage.py livekit_sandbox`: run the LiveKit sandbox on its own (what `make run` starts)."""

from __future__ import annotations

import logging
import warnings
from argparse import ArgumentParser
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand
from jwt.warnings import InsecureKeyLengthWarning

from egress_app.sandbox.config import Pacing, SandboxConfig
from egress_app.sandbox.server import create_app


class Command(BaseCommand):
    help = "Run the LiveKit sandbox: LiveKit's Egress and RoomService APIs, simulated."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=getattr(settings, "SANDBOX_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=getattr(settings, "SANDBOX_PORT", 7880))
        parser.add_argument(
            "--webhook-url",
            action="append",
            dest="webhook_urls",
            metavar="URL",
            help="where to send signed webhooks (repeatable; default SANDBOX_WEBHOOK_URL)",
        )
        parser.add_argument("--no-webhooks", action="store_true", help="send no webhooks")
        parser.add_argument(
            "--pacing",
            type=float,
            default=None,
            metavar="SECONDS",
            help="seconds per egress transition (STARTING->ACTIVE, ENDING->COMPLETE); "
            "failure triggers take three times as long (default 1)",
        )
        parser.add_argument("--fixture", choices=["demo", "empty"], default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        # "secret" is LiveKit's well-known dev secret; PyJWT would warn on every token.
        warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
        config = SandboxConfig(
            host=options["host"],
            port=options["port"],
            api_key=getattr(settings, "LIVEKIT_API_KEY", "") or "devkey",
            api_secret=getattr(settings, "LIVEKIT_API_SECRET", "") or "secret",
            webhook_urls=self._webhook_urls(options),
            fixture=options["fixture"],
            pacing=Pacing.uniform(options["pacing"]) if options["pacing"] is not None else Pacing(),
        )
        logging.getLogger("egress_app.sandbox").setLevel(logging.INFO)
        self.stdout.write(
            f"LiveKit sandbox on http://{config.host}:{config.port} "
            f"(key {config.api_key}, fixture {config.fixture}, "
            f"webhooks {', '.join(config.webhook_urls) or 'off'})"
        )
        uvicorn.run(
            create_app(config),
            host=config.host,
            port=config.port,
            lifespan="off",
            log_level="warning",
            ws="none",
        )

    @staticmethod
    def _webhook_urls(options: dict[str, Any]) -> list[str]:
        if options["no_webhooks"]:
            return []
        if options["webhook_urls"]:
            return list(options["webhook_urls"])
        default = getattr(settings, "SANDBOX_WEBHOOK_URL", "")
        return [default] if default else []
