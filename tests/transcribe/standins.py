"""Local stand-ins for the cloud speech-to-text services, which cannot be reached from here.

Each speaks its service's documented protocol on 127.0.0.1, checks what the real one checks
(the key, the parameters, the audio's format and message sizes, its control messages), and
answers with messages shaped like the real ones. None recognises speech: a channel "speaks"
while its audio is loud (RMS over `LOUD`), and every loud half second is "hello" (a partial
result), the end of a loud run a final "hello world" spanning it. What a stand-in finds wrong
goes into `violations` (tests assert it stays empty). Tests can refuse the next handshakes
(`unavailable`), drop every open connection (`drop()`), and read what arrived (`sessions`).

What none of them covers: TLS, the services' rate limits and quotas, real recognition and its
timing, diarization, translation and other add-ons, and the exact wording of every error.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.leaked import echoed

RATE = 16_000
WINDOW = RATE // 2  # frames per judged half second
LOUD = 300.0


@dataclass
class Event:
    channel: int
    final: bool
    start: float  # seconds of this connection's (or session's) audio
    end: float
    text: str


class Voice:
    """Judges each channel's audio by loudness, half a second at a time."""

    def __init__(self, channels: int, position: int = 0) -> None:
        self.channels = channels
        self.pending = np.zeros((0, channels), np.int16)
        self.position = position  # frames judged so far
        self.runs: dict[int, int] = {}  # channel -> frame its loud run started at

    def feed(self, data: bytes) -> list[Event]:
        frames = np.frombuffer(data, "<i2").reshape(-1, self.channels)
        self.pending = np.concatenate([self.pending, frames])
        events: list[Event] = []
        while len(self.pending) >= WINDOW:
            window, self.pending = self.pending[:WINDOW], self.pending[WINDOW:]
            events += self._judge(window)
            self.position += WINDOW
        return events

    def finish(self) -> list[Event]:
        """Final results for the runs still loud when the audio ended."""
        end = self.position + len(self.pending)
        events = [self._final(channel, end) for channel in sorted(self.runs)]
        self.runs.clear()
        return events

    def _judge(self, window: np.ndarray[Any, Any]) -> list[Event]:
        events = []
        for channel in range(self.channels):
            rms = float(np.sqrt(np.mean(window[:, channel].astype(np.float64) ** 2)))
            if rms > LOUD:
                start = self.runs.setdefault(channel, self.position)
                end = self.position + WINDOW
                events.append(Event(channel, False, start / RATE, end / RATE, "hello"))
            elif channel in self.runs:
                events.append(self._final(channel, self.position))
                del self.runs[channel]
        return events

    def _final(self, channel: int, end: int) -> Event:
        return Event(channel, True, self.runs[channel] / RATE, end / RATE, "hello world")


@dataclass
class Session:
    """What one connection sent."""

    path: str
    query: dict[str, str]
    headers: Headers
    audio: bytearray = field(default_factory=bytearray)
    sizes: list[int] = field(default_factory=list)
    texts: list[Any] = field(default_factory=list)


class StandIn:
    """A websocket server in its own thread and loop."""

    def __init__(self, key: str = "good-key") -> None:
        self.key = key
        self.violations: list[str] = []
        self.sessions: list[Session] = []
        self.unavailable = 0  # refuse this many next handshakes with a 503
        self.answering = threading.Event()  # cleared: handshakes wait until it is set again
        self.answering.set()
        self.loop = asyncio.new_event_loop()
        self.server: Server | None = None
        self.open: set[ServerConnection] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[Self]:
        ready = threading.Event()
        thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            self.loop.call_soon_threadsafe(self._stop)
            thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = await serve(
                self._handle, "127.0.0.1", 0, process_request=self._process, max_size=2**20
            )
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()
        self.loop.close()

    def _stop(self) -> None:
        assert self.server
        self.server.close()
        self.loop.create_task(self._stopped())

    async def _stopped(self) -> None:
        assert self.server
        await self.server.wait_closed()
        self.loop.stop()

    def drop(self) -> None:
        """Cut every open connection without a close frame, as a network fault would."""

        def abort() -> None:
            for connection in list(self.open):
                connection.transport.abort()

        self.loop.call_soon_threadsafe(abort)

    @contextmanager
    def holding_handshakes(self) -> Iterator[None]:
        """Handshakes that arrive inside the block get no answer until it ends, so a test can
        know what a client did before it heard back (a slow network, deterministically)."""
        self.answering.clear()
        try:
            yield
        finally:
            self.answering.set()

    async def _process(self, connection: ServerConnection, request: Request) -> Response | None:
        deadline = time.monotonic() + 30
        while not self.answering.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.unavailable > 0:
            self.unavailable -= 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return self.check(connection, request)

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request
        parts = urlsplit(connection.request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        session = Session(parts.path, query, connection.request.headers)
        self.sessions.append(session)
        self.open.add(connection)
        try:
            await self.converse(connection, session)
        except ConnectionClosed:
            pass
        finally:
            self.open.discard(connection)

    async def converse(self, connection: ServerConnection, session: Session) -> None:
        raise NotImplementedError

    def violation(self, text: str) -> None:
        self.violations.append(text)


def json_response(connection: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = connection.respond(HTTPStatus(status), json.dumps(body))
    response.headers["Content-Type"] = "application/json"
    return response


# --- Deepgram -----------------------------------------------------------------------------------
class DeepgramStandIn(StandIn):
    """Deepgram live, listen v1 (developers.deepgram.com, "Live Audio" and its errors).

    Checks: `Authorization: Token <key>` (else HTTP 401 `{"err_code": "INVALID_AUTH", ...}`);
    `encoding=linear16` with a `sample_rate` and `channels` (else HTTP 400); binary messages a
    whole number of frames; `KeepAlive`/`Finalize`/`CloseStream` the only text messages.
    Answers `Results` (interim and final, one per channel with `channel_index`) and, after
    `CloseStream`, a `Metadata` message and a 1000 close.
    Does not cover: other encodings and containers, `utterance_end_ms` and `UtteranceEnd`,
    `SpeechStarted`, the 10-second no-data timeout (NET-0001), word-level results.
    """

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Token {self.key}":
            body = {
                "err_code": "INVALID_AUTH",
                "err_msg": "Invalid credentials.",
                "request_id": str(uuid.uuid4()),
            }
            return json_response(connection, 401, body)
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
        problems = []
        if query.get("encoding") != "linear16" or "sample_rate" not in query:
            problems.append("raw audio needs encoding=linear16 and a sample_rate")
        if not query.get("channels", "1").isdigit():
            problems.append("channels must be a number")
        if problems:
            body = {"err_code": "Bad Request", "err_msg": "; ".join(problems)}
            return json_response(connection, 400, body)
        return None

    async def converse(self, connection: ServerConnection, session: Session) -> None:
        channels = int(session.query.get("channels", "1"))
        voice = Voice(channels)
        async for message in connection:
            if isinstance(message, bytes):
                session.audio += message
                session.sizes.append(len(message))
                if len(message) % (2 * channels):
                    self.violation(f"audio message of {len(message)} bytes splits a frame")
                for event in voice.feed(message):
                    await connection.send(self._results(event, channels))
                continue
            data = json.loads(message)
            session.texts.append(data)
            if data.get("type") not in ("KeepAlive", "Finalize", "CloseStream"):
                self.violation(f"unknown control message {data}")
            if data.get("type") == "CloseStream":
                for event in voice.finish():
                    await connection.send(self._results(event, channels))
                metadata = {"type": "Metadata", "request_id": str(uuid.uuid4()), "channels": 1}
                await connection.send(json.dumps(metadata))
                await connection.close(1000)

    def _results(self, event: Event, channels: int) -> str:
        alternative = {"transcript": event.text, "confidence": 0.9, "words": []}
        return json.dumps(
            {
                "type": "Results",
                "channel_index": [event.channel, channels],
                "duration": round(event.end - event.start, 3),
                "start": event.start,
                "is_final": event.final,
                "speech_final": event.final,
                "channel": {"alternatives": [alternative]},
                "metadata": {"request_id": "standin"},
            }
        )


# --- AssemblyAI ---------------------------------------------------------------------------------
class AssemblyAIStandIn(StandIn):
    """AssemblyAI streaming v3 (assemblyai.com/docs, "Streaming API", message reference).

    Checks: `Authorization: <key>` or `token=` (else it closes with 4001 "Not authorized",
    as reported by users of the service); `sample_rate` present, `encoding=pcm_s16le` when
    given; each audio message 50 to 1000 ms (else it closes with 3007 "Input duration
    violation"); only `Terminate`, `ForceEndpoint`, `KeepAlive`, `UpdateConfiguration` as text.
    Answers `Begin`, `Turn` (partials, then the end of turn unformatted and, with
    `format_turns=true`, formatted) and `Termination` before a 1000 close.
    Does not cover: temporary-token minting, `UpdateConfiguration`'s effects, the session
    time limit, the exact close codes and texts for every refusal (they are not all published).
    """

    async def converse(self, connection: ServerConnection, session: Session) -> None:
        authorised = session.headers.get("Authorization") == self.key
        if not (authorised or session.query.get("token") == self.key):
            await connection.close(4001, "Not authorized")
            return
        if "sample_rate" not in session.query or session.query.get("encoding", "pcm_s16le") not in (
            "pcm_s16le",
            "pcm_mulaw",
        ):
            await connection.close(3005, "Invalid sample_rate or encoding")
            return
        rate = int(session.query["sample_rate"])
        begin = {"type": "Begin", "id": str(uuid.uuid4()), "expires_at": int(time.time()) + 3600}
        await connection.send(json.dumps(begin))
        voice, turn = Voice(1), [0]
        async for message in connection:
            if isinstance(message, bytes):
                session.audio += message
                session.sizes.append(len(message))
                milliseconds = len(message) / 2 / rate * 1000
                if not 50 <= milliseconds <= 1000:
                    detail = f"Input duration violation: {milliseconds:.0f} ms"
                    await connection.close(3007, detail)
                    return
                for event in voice.feed(message):
                    await self._turn(connection, session, event, turn)
                continue
            data = json.loads(message)
            session.texts.append(data)
            kinds = ("Terminate", "ForceEndpoint", "KeepAlive", "UpdateConfiguration")
            if data.get("type") not in kinds:
                self.violation(f"unknown control message {data}")
            if data.get("type") == "Terminate":
                for event in voice.finish():
                    await self._turn(connection, session, event, turn)
                seconds = len(session.audio) / 2 / rate
                end = {"type": "Termination", "audio_duration_seconds": seconds}
                await connection.send(json.dumps(end | {"session_duration_seconds": seconds}))
                await connection.close(1000)

    async def _turn(
        self, connection: ServerConnection, session: Session, event: Event, turn: list[int]
    ) -> None:
        words = [
            {
                "start": int(event.start * 1000),
                "end": int(event.end * 1000),
                "text": word,
                "confidence": 0.8,
                "word_is_final": event.final,
            }
            for word in event.text.split()
        ]
        message = {
            "type": "Turn",
            "turn_order": turn[0],
            "turn_is_formatted": False,
            "end_of_turn": event.final,
            "transcript": event.text,
            "end_of_turn_confidence": 0.9 if event.final else 0.1,
            "words": words,
        }
        await connection.send(json.dumps(message))
        if event.final and session.query.get("format_turns") == "true":
            formatted = event.text.capitalize() + "."
            await connection.send(
                json.dumps(message | {"turn_is_formatted": True, "transcript": formatted})
            )
        if event.final:
            turn[0] += 1


# --- Forward ------------------------------------------------------------------------------------
class ForwardStandIn(StandIn):
    """A team's own service for Forward (protocol in egress_app/transcribe/forward.py).

    Checks: `Authorization: Bearer <key>` (else HTTP 401); a `start` message first with
    sample_rate 16000, encoding s16le and the channels; audio a whole number of frames; `stop`
    last. With `answer=True` it sends `words` results back, closing after `stop`.
    Does not cover: anything a real service would do with the audio.
    """

    def __init__(self, key: str = "good-key", *, answer: bool = False) -> None:
        super().__init__(key)
        self.answer = answer
        self.starts: list[dict[str, Any]] = []

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            said = request.headers.get("Authorization", "")  # some services echo what they got
            return json_response(connection, 401, {"error": f"bad token {said}"})
        return None

    async def converse(self, connection: ServerConnection, session: Session) -> None:
        start = json.loads(await connection.recv())
        self.starts.append(start)
        if start.get("type") != "start" or start.get("sample_rate") != RATE:
            self.violation(f"first message was not a 16 kHz start: {start}")
        channels = len(start.get("channels", []))
        voice = Voice(channels)
        async for message in connection:
            if isinstance(message, bytes):
                session.audio += message
                session.sizes.append(len(message))
                if len(message) % (2 * channels):
                    self.violation(f"audio message of {len(message)} bytes splits a frame")
                for event in voice.feed(message):
                    await self._words(connection, event)
                continue
            data = json.loads(message)
            session.texts.append(data)
            if data.get("type") == "stop" and self.answer:
                for event in voice.finish():
                    await self._words(connection, event)
                await connection.close(1000)

    async def _words(self, connection: ServerConnection, event: Event) -> None:
        if self.answer:
            words = {"type": "words", "channel": event.channel, "text": event.text}
            timing = {"final": event.final, "start": event.start, "end": event.end}
            await connection.send(json.dumps(words | timing))


# --- Gladia -------------------------------------------------------------------------------------
GLADIA_RATES = {8000, 16000, 32000, 44100, 48000}


class GladiaStandIn(StandIn):
    """Gladia live v2 (docs.gladia.io "Live STT", gladiaio-sdk 2.2.1): `POST /v2/live` over plain
    HTTP on its own port, then the session's websocket.

    Checks at init: `x-gladia-key` (else 401 `{"statusCode": 401, "message": ...}`), body
    fields `encoding` (wav/pcm, wav/alaw, wav/ulaw), `bit_depth`, `sample_rate`, `channels`
    (1-8), `endpointing` (0.01-10) (else 422 with `validation_errors`). On the websocket: the
    session token (unknown: HTTP 404), binary messages a whole number of frames and at most
    1 MiB (else 1009), `stop_recording`. Answers `transcript` messages (partial and final, with
    `utterance.channel`), then `post_final_transcript` and a 1000 close after
    `stop_recording`. A session survives a dropped socket: dialling its URL again resumes it,
    its times going on.
    Does not cover: regions (the query is only recorded), base64 `audio_chunk` messages,
    acknowledgements, `speech_start`/`speech_end`, post-processing contents, session expiry.
    With `echo_key`, its 401 quotes the key it got (tests/leaked.py `echoed`), as some services'
    errors do (Gladia's does not): for the tests that no key ever shows.
    """

    def __init__(self, key: str = "good-key", *, echo_key: bool = False) -> None:
        super().__init__(key)
        self.echo_key = echo_key
        self.inits: list[tuple[dict[str, str], dict[str, Any]]] = []  # (query, body)
        self.live: dict[str, tuple[dict[str, Any], Voice]] = {}  # token -> (body, voice)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._http_handler())

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[Self]:
        thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        thread.start()
        try:
            with super().running():
                yield self
        finally:
            self.http.shutdown()
            self.http.server_close()

    def init(self, query: dict[str, str], headers: Any, body: dict[str, Any]) -> tuple[int, Any]:
        self.inits.append((query, body))
        if (got := headers.get("x-gladia-key")) != self.key:
            words = f"Invalid x-gladia-key: {echoed(got)}" if self.echo_key and got else ""
            return 401, {"statusCode": 401, "message": words or "Invalid or missing x-gladia-key"}
        if problems := self._problems(body):
            return 422, {
                "statusCode": 422,
                "message": "Invalid request body",
                "validation_errors": problems,
            }
        token = uuid.uuid4().hex
        channels = int(body.get("channels", 1))
        self.live[token] = (body, Voice(channels))
        url = f"{self.url}/v2/live?token={token}"
        return 201, {"id": str(uuid.uuid4()), "created_at": "2026-12-05T00:00:00Z", "url": url}

    def _problems(self, body: dict[str, Any]) -> list[str]:
        problems = []
        if body.get("encoding", "wav/pcm") not in ("wav/pcm", "wav/alaw", "wav/ulaw"):
            problems.append("encoding must be one of wav/pcm, wav/alaw, wav/ulaw")
        if body.get("bit_depth", 16) not in (8, 16, 24, 32):
            problems.append("bit_depth must be one of 8, 16, 24, 32")
        if body.get("sample_rate", 16000) not in GLADIA_RATES:
            problems.append("sample_rate must be one of 8000, 16000, 32000, 44100, 48000")
        if not 1 <= body.get("channels", 1) <= 8:
            problems.append("channels must not be greater than 8")
        if not 0.01 <= body.get("endpointing", 0.05) <= 10:
            problems.append("endpointing must not be greater than 10")
        return problems

    def _http_handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", 0))
                if parts.path != "/v2/live":
                    status, answer = 404, {"statusCode": 404, "message": "Not Found"}
                else:
                    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                    body = json.loads(self.rfile.read(length) or b"{}")
                    status, answer = standin.init(query, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        token = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        if token not in self.live:
            return json_response(connection, 404, {"statusCode": 404, "message": "Not Found"})
        return None

    async def converse(self, connection: ServerConnection, session: Session) -> None:
        token = session.query["token"]
        body, voice = self.live[token]
        channels = int(body.get("channels", 1))
        async for message in connection:
            if isinstance(message, bytes):
                session.audio += message
                session.sizes.append(len(message))
                if len(message) % (2 * channels):
                    self.violation(f"audio message of {len(message)} bytes splits a frame")
                for event in voice.feed(message):
                    await connection.send(self._transcript(token, event))
                continue
            data = json.loads(message)
            session.texts.append(data)
            if data.get("type") != "stop_recording":
                self.violation(f"unexpected message {data}")
                continue
            for event in voice.finish():
                await connection.send(self._transcript(token, event))
            done = {"type": "post_final_transcript", "session_id": token, "data": {}}
            await connection.send(json.dumps(done))
            del self.live[token]
            await connection.close(1000)

    def _transcript(self, token: str, event: Event) -> str:
        words = [
            {"word": w, "start": event.start, "end": event.end, "confidence": 0.9}
            for w in event.text.split()
        ]
        utterance = {
            "start": event.start,
            "end": event.end,
            "confidence": 0.9,
            "channel": event.channel,
            "words": words,
            "text": " " + event.text,
            "language": "en",
        }
        data = {"id": uuid.uuid4().hex, "is_final": event.final, "utterance": utterance}
        message = {"type": "transcript", "session_id": token, "created_at": "2026-12-05T00:00:00Z"}
        return json.dumps(message | {"data": data})
