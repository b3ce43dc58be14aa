"""AssemblyAI streaming v3: one websocket per track (or the mix); it takes one channel.

`wss://{host}/v3/ws?sample_rate=16000&encoding=pcm_s16le&speech_model=...&format_turns=...
&min_end_of_turn_silence_when_confident=...` with `Authorization: <key>` (or a temporary
`token` in the query, when the profile holds one instead of a key); audio as binary frames of
50 to 1000 ms (shorter last frames are padded with silence). `Turn` messages carry the turn's
words with times in milliseconds; a turn is final at `end_of_turn` (once formatted, when
formatted turns are asked for). `{"type":"Terminate"}` asks for the last turn and a
`Termination` message, then the socket closes. Refusals come as close codes (4001 not
authorised, 4002 insufficient funds, 3005 bad parameters...) with the reason in words.
Source: assemblyai.com/docs (streaming v3) and the assemblyai 1.8.2 SDK.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection

from egress_app.transcribe.cloud import CloudStream
from egress_app.transcribe.engines import SAMPLE_RATE, EngineSettings, EngineStream, Words

HOSTS = {"": "wss://streaming.assemblyai.com", "eu": "wss://streaming.eu.assemblyai.com"}
RETRYABLE_CLOSES = {1000, 1001, 1006, 1011, 1012, 1013, 4008, 4031}


class AssemblyAIStream(CloudStream):
    label = "AssemblyAI"
    min_message_ms = 50

    def __init__(self, settings: EngineSettings, *, base: str = "", **options: Any) -> None:
        self.base = base or HOSTS.get(settings.config.get("region", ""), HOSTS[""])
        self.formatted = bool(settings.config.get("format_turns", True))
        super().__init__(settings, **options)

    def query(self) -> dict[str, str]:
        config = self.settings.config
        query = {
            "sample_rate": str(SAMPLE_RATE),
            "encoding": "pcm_s16le",
            "speech_model": str(config.get("speech_model", "universal-streaming-english")),
            "format_turns": "true" if self.formatted else "false",
            "min_end_of_turn_silence_when_confident": str(config.get("min_silence_ms", 400)),
        }
        if token := self.settings.secrets.get("token", ""):
            query["token"] = token
        return query

    async def open_socket(self) -> ClientConnection:
        key = self.settings.secrets.get("api_key", "")
        headers = {"Authorization": key} if key else {}
        return await self.dial(f"{self.base}/v3/ws?{urlencode(self.query())}", headers)

    def end_message(self) -> str:
        return json.dumps({"type": "Terminate"})

    def fatal_close(self, code: int | None) -> bool:
        return code is not None and code >= 1008 and code not in RETRYABLE_CLOSES

    def results(self, message: str | bytes) -> list[Words]:
        try:
            data = json.loads(message)
        except ValueError:
            return []
        if not isinstance(data, dict) or data.get("type") != "Turn":
            return []
        words = data.get("words") or []
        text = str(data.get("transcript", "")).strip()
        if not text or not words:
            return []
        final = bool(data.get("end_of_turn")) and (
            bool(data.get("turn_is_formatted")) or not self.formatted
        )
        if data.get("end_of_turn") and not final:
            return []  # the formatted version of this turn follows
        confidences = [w["confidence"] for w in words if "confidence" in w]
        return [
            Words(
                channel=self.channels[0],
                text=text,
                final=final,
                start=self.stream_seconds(words[0].get("start", 0) / 1000),
                end=self.stream_seconds(words[-1].get("end", 0) / 1000),
                confidence=sum(confidences) / len(confidences) if confidences else None,
                language=str(data.get("language_code", "")),
            )
        ]


class AssemblyAIEngine:
    """One channel per stream: the sink opens one stream per track, or one for the mix."""

    multichannel = False
    fixed_channels = False  # a stream per channel

    def __init__(self, *, base: str = "", **options: Any) -> None:
        self.base, self.options = base, options

    def open(self, settings: EngineSettings) -> EngineStream:
        mix = len(settings.channels) > 1  # given several anyway: send their mix
        return AssemblyAIStream(settings, base=self.base, mix=mix, **self.options)


ENGINE = AssemblyAIEngine()
