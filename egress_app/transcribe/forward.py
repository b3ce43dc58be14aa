"""Forward: the session's audio to a websocket a team runs itself, with a bearer token.

The protocol (README "Forward"), all JSON text messages but the audio:
- We dial the profile's URL with `Authorization: Bearer <token>` (when one is set).
- First message: `{"type": "start", "sample_rate": 16000, "encoding": "s16le",
  "channels": [{"id": "<track id or mix>", "name": "<speaker>"}, ...]}`; sent again on every
  reconnect.
- Then binary messages of about 100 ms: 16 kHz signed 16-bit little-endian PCM, the channels
  interleaved in the order of `channels` (one channel when the profile forwards the mix).
- At the end: `{"type": "stop"}`. Without results we then close (1000); with results we wait
  for the service to close, so it can send its last ones.
- Optional results back (profile option "Accept results back"): `{"type": "words", "channel":
  <index or id>, "text": "...", "final": true, "start": 1.2, "end": 2.0, "confidence": 0.9,
  "language": "en"}`, times in seconds from the first audio of the connection. Anything else
  from the service is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection

from egress_app.transcribe.cloud import CloudStream
from egress_app.transcribe.engines import SAMPLE_RATE, EngineSettings, EngineStream, Words


class ForwardStream(CloudStream):
    label = "the forward service"

    def __init__(self, settings: EngineSettings, **options: Any) -> None:
        self.accept_results = bool(settings.config.get("results", False))
        super().__init__(settings, **options)

    async def open_socket(self) -> ClientConnection:
        token = self.settings.secrets.get("token", "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.dial(str(self.settings.config.get("url", "")), headers)

    def start_messages(self) -> list[str]:
        names = self.settings.names
        channels = [{"id": c, "name": names.get(c, "")} for c in self.channels]
        start = {"type": "start", "sample_rate": SAMPLE_RATE, "encoding": "s16le"}
        return [json.dumps(start | {"channels": channels})]

    def end_message(self) -> str | None:
        return json.dumps({"type": "stop"}) if self.accept_results else None

    async def _finish(self, socket: ClientConnection) -> None:
        if not self.accept_results:
            await socket.send(json.dumps({"type": "stop"}))
        await super()._finish(socket)

    def results(self, message: str | bytes) -> list[Words]:
        if not self.accept_results:
            return []
        try:
            data = json.loads(message)
            if data.get("type") != "words" or not str(data.get("text", "")).strip():
                return []
            return [self._words(data)]
        except (ValueError, AttributeError, TypeError):
            return []

    def _words(self, data: dict[str, Any]) -> Words:
        channel = data.get("channel", 0)
        return Words(
            channel=channel if channel in self.channels else self.channel_at(channel),
            text=str(data["text"]).strip(),
            final=bool(data.get("final", True)),
            start=self.stream_seconds(float(data.get("start", 0))),
            end=self.stream_seconds(float(data.get("end", 0))),
            confidence=data.get("confidence"),
            language=str(data.get("language", "")),
        )


class ForwardEngine:
    """Per-track channels in one stream, or the mix, as the profile says."""

    multichannel = True
    fixed_channels = True

    def __init__(self, **options: Any) -> None:
        self.options = options

    def open(self, settings: EngineSettings) -> EngineStream:
        mix = settings.config.get("mode", "tracks") == "mix"
        return ForwardStream(settings, mix=mix, **self.options)


ENGINE = ForwardEngine()
