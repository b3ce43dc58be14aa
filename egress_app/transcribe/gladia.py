"""Gladia live v2: one session per stream, one channel per participant (up to 8).

`POST {api}/v2/live` with the `x-gladia-key` header and the audio format, model, endpointing
and languages answers with a session `url` (its token is in the query, so it is treated as a
secret); audio then goes there as binary frames of 16 kHz S16LE, interleaved when there are
several channels, about 100 ms each. Transcript messages name the channel (`utterance.channel`)
so each caption keeps its speaker. After a drop the same URL is dialled again: Gladia resumes
the session and its times go on. `{"type":"stop_recording"}` asks for the last results; Gladia
closes with 1000 after post-processing. Source: docs.gladia.io and gladiaio-sdk 2.2.1.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from egress_app.transcribe.cloud import CloudStream, Dropped, Refused, describe
from egress_app.transcribe.engines import SAMPLE_RATE, EngineSettings, EngineStream, Words

API = "https://api.gladia.io"
MAX_CHANNELS = 8


class GladiaStream(CloudStream):
    label = "Gladia"
    resumes = True

    def __init__(self, settings: EngineSettings, *, api: str = API, **options: Any) -> None:
        self.api = api
        self.url = ""
        super().__init__(settings, **options)

    def init_body(self) -> dict[str, Any]:
        config = self.settings.config
        languages = list(config.get("languages") or self.settings.languages)
        return {
            "encoding": "wav/pcm",
            "bit_depth": 16,
            "sample_rate": SAMPLE_RATE,
            "channels": len(self.channels),
            "model": config.get("model", "solaria-1"),
            "endpointing": config.get("endpointing", 0.3),
            "language_config": {
                "languages": languages,
                "code_switching": bool(config.get("code_switching", False)),
            },
            "messages_config": {
                "receive_partial_transcripts": True,
                "receive_final_transcripts": True,
            },
        }

    async def open_socket(self) -> ClientConnection:
        if not self.url:
            self.url = await self._init_session()
        try:
            return await self.dial(self.url, {})
        except Refused:
            self.url = ""  # the session is gone (ended, expired): the next try starts a new one
            raise Dropped("Gladia no longer knows the session; starting a new one") from None

    async def _init_session(self) -> str:
        region = self.settings.config.get("region", "")
        params = {"region": region} if region else {}
        headers = {"x-gladia-key": self.settings.secrets.get("api_key", "")}
        try:
            async with httpx.AsyncClient(timeout=self.open_timeout) as client:
                answer = await client.post(
                    f"{self.api}/v2/live", params=params, headers=headers, json=self.init_body()
                )
        except httpx.HTTPError as error:
            raise Dropped(describe(error)) from error
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Dropped(self.refusal_text(answer.status_code, answer.content))
        if answer.status_code >= 400:
            raise Refused(self.refusal_text(answer.status_code, answer.content))
        url = str(answer.json().get("url", ""))
        self.add_secret(url.partition("token=")[2] or url)
        return url

    def refusal_text(self, status: int, body: bytes) -> str:
        text = super().refusal_text(status, body)
        try:
            problems = json.loads(body).get("validation_errors") or []
        except (ValueError, AttributeError):
            problems = []
        return "; ".join([text, *map(str, problems)])

    def end_message(self) -> str:
        return json.dumps({"type": "stop_recording"})

    def fatal_close(self, code: int | None) -> bool:
        return code in (1008, 4001, 4003)  # policy / not authorised / forbidden

    def results(self, message: str | bytes) -> list[Words]:
        try:
            data = json.loads(message)
        except ValueError:
            return []
        if not isinstance(data, dict) or data.get("type") != "transcript":
            return []
        body = data.get("data") or {}
        utterance = body.get("utterance") or {}
        text = str(utterance.get("text", "")).strip()
        if not text:
            return []
        return [
            Words(
                channel=self.channel_at(utterance.get("channel", 0)),
                text=text,
                final=bool(body.get("is_final")),
                start=self.stream_seconds(float(utterance.get("start", 0))),
                end=self.stream_seconds(float(utterance.get("end", 0))),
                confidence=utterance.get("confidence"),
                language=str(utterance.get("language", "")),
            )
        ]


class GladiaEngine:
    """Up to 8 channels in one session: the sink sends one per participant."""

    multichannel = True
    fixed_channels = True
    max_channels = MAX_CHANNELS

    def __init__(self, *, api: str = API, **options: Any) -> None:
        self.api, self.options = api, options

    def open(self, settings: EngineSettings) -> EngineStream:
        mix = len(settings.channels) > MAX_CHANNELS
        return GladiaStream(settings, api=self.api, mix=mix, **self.options)


ENGINE = GladiaEngine()
