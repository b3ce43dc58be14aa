"""`manage.py livekit_sandbox`: run the LiveKit sandbox on its own (what `make run` starts)."""

from __future__ import annotations

import logging
import warnings
from argparse import ArgumentParser
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from jwt.warnings import InsecureKeyLengthWarning

from egress_app.sandbox.config import AudioConfig, Pacing, SandboxConfig, StorageEndpoints
from egress_app.sandbox.server import create_app
from egress_app.sandbox.serving import OneWriteHttpProtocol


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
        parser.add_argument(
            "--log-level",
            choices=["debug", "info", "warning", "error"],
            default="info",
            help="what the sandbox logs, as LiveKit's logging.level: info logs each API call "
            "(default %(default)s)",
        )
        self._add_audio_arguments(parser)

    @staticmethod
    def _add_audio_arguments(parser: ArgumentParser) -> None:
        audio = AudioConfig()
        parser.add_argument(
            "--audio-source",
            choices=["speech", "tone"],
            default=audio.source,
            help="what Track Egress websockets carry: each demo participant's sentences "
            "(speech; other tracks carry the tone) or a 440 Hz tone at -12 dBFS everywhere, "
            "for level tests (default %(default)s)",
        )
        parser.add_argument(
            "--message-ms",
            type=float,
            default=audio.frame_seconds * 1000,
            metavar="MS",
            help="milliseconds of audio per binary message, 1 to 1000 (egress's GStreamer "
            "buffers are 10 ms; default %(default)g)",
        )
        parser.add_argument(
            "--ping-interval",
            type=float,
            default=audio.ping_interval,
            metavar="SECONDS",
            help='seconds between egress\'s "ping" pings on its audio websockets '
            "(egress's pingPeriod; default %(default)g)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # "secret" is LiveKit's well-known dev secret; PyJWT would warn on every token.
        warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
        config = self.sandbox_config(options)
        logging.getLogger("egress_app.sandbox").setLevel(options["log_level"].upper())
        audio = config.audio
        self.stdout.write(
            f"LiveKit sandbox on http://{config.host}:{config.port} "
            f"(key {config.api_key}, fixture {config.fixture}, "
            f"webhooks {', '.join(config.webhook_urls) or 'off'}, audio {audio.source} in "
            f"{audio.frame_seconds * 1000:g} ms messages, pings every {audio.ping_interval:g} s)"
        )
        uvicorn.run(
            create_app(config),
            host=config.host,
            port=config.port,
            lifespan="off",
            log_level="warning",
            ws="none",
            http=OneWriteHttpProtocol,
        )

    @classmethod
    def sandbox_config(cls, options: dict[str, Any]) -> SandboxConfig:
        pacing = options["pacing"]
        return SandboxConfig(
            host=options["host"],
            port=options["port"],
            api_key=getattr(settings, "LIVEKIT_API_KEY", "") or "devkey",
            api_secret=getattr(settings, "LIVEKIT_API_SECRET", "") or "secret",
            webhook_urls=cls._webhook_urls(options),
            fixture=options["fixture"],
            pacing=Pacing.uniform(pacing) if pacing is not None else Pacing(),
            audio=cls._audio(options),
            # The dashboard's own emulator settings: what it reads, the sandbox writes to.
            storage=StorageEndpoints(
                gcs=getattr(settings, "GCS_ENDPOINT", ""),
                azure_blob=getattr(settings, "AZURE_BLOB_ENDPOINT", ""),
            ),
        )

    @staticmethod
    def _audio(options: dict[str, Any]) -> AudioConfig:
        if not 1 <= options["message_ms"] <= 1000:
            raise CommandError("--message-ms must be between 1 and 1000")
        if options["ping_interval"] <= 0:
            raise CommandError("--ping-interval must be a positive number of seconds")
        return AudioConfig().updated(
            source=options["audio_source"],
            frame_seconds=options["message_ms"] / 1000,
            ping_interval=options["ping_interval"],
        )

    @staticmethod
    def _webhook_urls(options: dict[str, Any]) -> list[str]:
        if options["no_webhooks"]:
            return []
        if options["webhook_urls"]:
            return list(options["webhook_urls"])
        default = getattr(settings, "SANDBOX_WEBHOOK_URL", "")
        return [default] if default else []
