"""Deepgram live (listen v1): one websocket, every participant a channel.

`wss://{host}/v1/listen` with `Authorization: Token <key>` and the query `model`, `language`,
`encoding=linear16`, `sample_rate=16000`, `channels=N`, `multichannel=true` (N > 1),
`interim_results=true`, `endpointing` (ms), `smart_format`; audio as binary frames of
interleaved S16LE. `Results` messages carry `channel_index: [i, N]`, `start`, `duration`,
`is_final` and the best alternative's transcript. A `KeepAlive` goes out when no audio went for
5 s (Deepgram closes after 10 s without data); `CloseStream` asks for the last results and the
socket closes after them. A refused key is an HTTP 401 with `{"err_code","err_msg"}` at the
handshake. Source: developers.deepgram.com and deepgram-sdk 7.17.0.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection

from egress_app.transcribe.cloud import CloudStream
from egress_app.transcribe.engines import SAMPLE_RATE, EngineSettings, EngineStream, Words

HOSTS = {"": "wss://api.deepgram.com", "eu": "wss://api.eu.deepgram.com"}


class DeepgramStream(CloudStream):
    label = "Deepgram"
    keepalive_every = 5.0

    def __init__(self, settings: EngineSettings, *, base: str = "", **options: Any) -> None:
        self.base = base or HOSTS.get(settings.config.get("region", ""), HOSTS[""])
        super().__init__(settings, **options)

    def query(self) -> dict[str, str]:
        config = self.settings.config
        language = config.get("language") or next(iter(self.settings.languages), "en")
        query = {
            "model": str(config.get("model", "nova-3")),
            "language": str(language),
            "encoding": "linear16",
            "sample_rate": str(SAMPLE_RATE),
            "channels": str(len(self.channels)),
            "interim_results": "true",
            "endpointing": str(config.get("endpointing", 300)),
            "smart_format": "true" if config.get("smart_format", True) else "false",
        }
        if len(self.channels) > 1:
            query["multichannel"] = "true"
        return query

    async def open_socket(self) -> ClientConnection:
        headers = {"Authorization": f"Token {self.settings.secrets.get('api_key', '')}"}
        return await self.dial(f"{self.base}/v1/listen?{urlencode(self.query())}", headers)

    def keepalive_message(self) -> str:
        return json.dumps({"type": "KeepAlive"})

    def end_message(self) -> str:
        return json.dumps({"type": "CloseStream"})

    def results(self, message: str | bytes) -> list[Words]:
        try:
            data = json.loads(message)
        except ValueError:
            return []
        if not isinstance(data, dict) or data.get("type") != "Results":
            return []
        alternatives = (data.get("channel") or {}).get("alternatives") or [{}]
        best = alternatives[0]
        text = str(best.get("transcript", "")).strip()
        if not text:
            return []
        start = float(data.get("start", 0))
        index = (data.get("channel_index") or [0])[0]
        languages = best.get("languages") or [self.query()["language"]]
        return [
            Words(
                channel=self.channel_at(index),
                text=text,
                final=bool(data.get("is_final")),
                start=self.stream_seconds(start),
                end=self.stream_seconds(start + float(data.get("duration", 0))),
                confidence=best.get("confidence"),
                language=str(languages[0]),
            )
        ]


class DeepgramEngine:
    """All participants in one stream (`multichannel=true`)."""

    multichannel = True
    fixed_channels = True

    def __init__(self, *, base: str = "", **options: Any) -> None:
        self.base, self.options = base, options

    def open(self, settings: EngineSettings) -> EngineStream:
        return DeepgramStream(settings, base=self.base, **self.options)


ENGINE = DeepgramEngine()
