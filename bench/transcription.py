"""The built-in engine (PocketSphinx, egress_app/transcribe/builtin.py) in real time: CPU per
audio second, how late final results come, and how late their captions reach a browser.

    .venv/bin/python bench/transcription.py [--streams N] [--seconds S] [--no-browser]

Each of --streams streams is a session of two participants (the sandbox's host and guest, each
on its own channel, their sentences looped with a second's pause), fed every 100 ms with 1600
samples per channel. Two runs, one after the other, with the same audio:

1. The anchor: the engine alone, fed and polled directly. After --seconds the streams are
   closed and their worker processes' CPU time read (RUSAGE_CHILDREN), the workers' start and
   model loading included.

    CPU per audio second  worker CPU / (seconds x channels): the real-time factor per channel
    channels per core     its inverse: how many participants one core transcribes live
    final latency         from the end of speech the engine reports (its endpointer's) to the
                          final result in hand, p50 / p95: its endpointing wait plus decoding

2. The browser run (skipped with --no-browser): the same streams as sessions of the dashboard,
   each fed through its real transcription sink (egress_app/actions/transcription.py: engine,
   stored utterance, caption pushed), on a dashboard served as in production (uvicorn with
   websockets-sansio, `dashboard.asgi.application`, a fresh migrated SQLite database, the
   in-memory channel layer) in a thread of this process, the sinks' pushes on its event loop as
   on a session processor's. For each session a websocket client follows the session page as a
   logged-in browser does (`/ws/live/?view=audio&id=<session>`, the session cookie, the site's
   Origin). For every stored final it prints, from the same end of speech:

    engine latency        the final in the sink's hands (as the anchor's, under the sink)
    browser latency       its caption line (`data-line="utterance-<id>"`) received by the page's
                          socket: storing it, the channel layer, rendering and the websocket
    push                  browser minus engine, per caption: what the dashboard adds

The target (issue 15): browser p95 under 1.5 s beyond the engine's endpointing. Everything talks
only to 127.0.0.1; the server and its temporary database go when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import resource
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
import warnings
import wave
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from egress_app.transcribe.builtin import BuiltinEngine
from egress_app.transcribe.engines import EngineSettings, Words

ASSETS = Path(__file__).resolve().parent.parent / "egress_app" / "sandbox" / "assets"
SPEAKERS = ("host", "guest")
TICK = 1600  # samples: 100 ms at 16 kHz
GRACE = 15.0  # seconds after the last tick for the last finals and captions
CAPTION = re.compile(r'data-line="utterance-(\d+)"')


def looped(name: str, seconds: float) -> np.ndarray:
    with wave.open(str(ASSETS / f"{name}.wav"), "rb") as asset:
        speech = np.frombuffer(asset.readframes(asset.getnframes()), "<i2")
    once = np.concatenate([speech, np.zeros(16_000, "<i2")])
    repeats = int(seconds * 16_000 / len(once)) + 1
    return np.tile(once, repeats)[: int(seconds * 16_000)]


def pace(started: float, index: int) -> None:
    time.sleep(max(0.0, started + index * 0.1 - time.monotonic()))


def p50_p95(seconds: list[float]) -> str:
    if len(seconds) < 2:
        return f"n/a ({len(seconds)} sample)"
    p95 = statistics.quantiles(seconds, n=20)[-1]
    return f"{statistics.median(seconds):.2f} / {p95:.2f} s (n={len(seconds)})"


# --- 1. the anchor: the engine alone ------------------------------------------------------------
def run(streams: int, seconds: float) -> None:
    audio = {name: looped(name, seconds) for name in SPEAKERS}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine = BuiltinEngine()
    opened = [engine.open(EngineSettings({}, {}, list(SPEAKERS))) for _ in range(streams)]
    started = time.monotonic()
    latencies: list[float] = []
    finals = 0
    for index in range(int(seconds * 10)):
        pace(started, index)
        for stream in opened:
            for name in SPEAKERS:
                stream.send(name, audio[name][index * TICK : (index + 1) * TICK])
            for said in stream.poll():
                if isinstance(said, Words) and said.final:
                    finals += 1
                    latencies.append(time.monotonic() - (started + said.end))
    for stream in opened:
        stream.close(timeout=10)
        finals += sum(1 for said in stream.poll() if isinstance(said, Words) and said.final)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    channel_seconds = seconds * len(SPEAKERS) * streams
    print(f"{streams} stream(s) x {len(SPEAKERS)} channels x {seconds:g} s, {finals} finals")
    print(f"CPU per audio second and channel: {cpu / channel_seconds:.3f}")
    print(f"channels per core in real time:   {channel_seconds / cpu:.1f}")
    print(f"final latency p50 / p95:          {p50_p95(latencies)}")


# --- 2. through the dashboard to a browser's socket ---------------------------------------------
def set_up_django(directory: Path, port: int) -> None:
    """This process as a production dashboard on `port` (bench/audio.py's environment: DEBUG
    off, development's checks, a fresh SQLite database in `directory`), migrated."""
    from audio import dashboard_env  # bench/audio.py

    # Served from this checkout with DEBUG off and nothing collected: not a page is asked for.
    warnings.filterwarnings("ignore", message="No directory at")
    environment = dashboard_env(directory, port)
    os.environ.clear()
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    logging.getLogger("egress_app").setLevel(logging.ERROR)  # gaps are counted, not logged


def seed(streams: int) -> tuple[list[int], str]:
    """`streams` podcast sessions (a tap per speaker, transcribed by the built-in engine) and a
    logged-in producer's session cookie."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from egress_app.models import AudioSession, AudioTap, Transcription

    user = User.objects.create_superuser("bench-captions", password=secrets.token_urlsafe(24))
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    sessions = []
    for index in range(streams):
        session = AudioSession.objects.create(room_name=f"bench-podcast-{index}")
        for name in SPEAKERS:
            AudioTap.objects.create(
                session=session,
                participant_identity=name,
                participant_name=name.title(),
                track_sid=f"TR_{name}_{index}",
                token_hash="x" * 64,
                token_expires_at=timezone.now() + timedelta(hours=1),
            )
        Transcription.objects.create(session=session, engine="builtin", profile_name="Built-in")
        sessions.append(session.pk)
    return sessions, f"sessionid={browser.cookies['sessionid'].value}"


@dataclass
class Clock:
    """When each stored final's speech ended, was in the sink's hands, and reached a page."""

    started: float = 0.0  # the audio's time zero (the first tick), time.monotonic()
    spoken: dict[int, float] = field(default_factory=dict)  # utterance id -> end of speech
    in_hand: dict[int, float] = field(default_factory=dict)
    seen: dict[int, float] = field(default_factory=dict)
    gaps: int = 0  # audio the engine dropped, having fallen behind (each logged otherwise)
    done: threading.Event = field(default_factory=threading.Event)  # the pages may close


def timed_sink(session_pk: int, clock: Clock, loop: asyncio.AbstractEventLoop) -> Any:
    """The session's real transcription sink, its pushes on the server's loop, noting when each
    final it stores was in hand and when its speech ended."""
    from egress_app.actions.transcription import TranscriptionSink, transcription_sink
    from egress_app.models import AudioSession

    class Timed(TranscriptionSink):
        def _store(self, stream: Any, words: Words) -> Any:
            in_hand = time.monotonic()
            utterance = super()._store(stream, words)
            clock.spoken[utterance.pk] = clock.started + words.end
            clock.in_hand[utterance.pk] = in_hand
            return utterance

    sink = transcription_sink(AudioSession.objects.get(pk=session_pk))
    assert sink is not None
    timed = Timed(**{f.name: getattr(sink, f.name) for f in fields(sink)})
    timed.loop = loop
    return timed


def serve_dashboard(port: int) -> tuple[asyncio.AbstractEventLoop, Callable[[], None]]:
    """`dashboard.asgi.application` under uvicorn as in production, in a thread; its loop and a
    function that stops it."""
    import uvicorn

    import dashboard.asgi
    from egress_app.sandbox.testing import serve

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(
        uvicorn.Config(
            dashboard.asgi.application,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            ws_ping_interval=None,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=serve, args=(loop, server, sock), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return loop, stop


async def follow_pages(
    port: int, sessions: list[int], cookie: str, clock: Clock, ready: threading.Event
) -> None:
    """A page socket per session until `clock.done`; the first arrival of each caption line."""
    from websockets.asyncio.client import connect

    origin = f"http://127.0.0.1:{port}"
    pages = [
        await connect(
            f"ws://127.0.0.1:{port}/ws/live/?view=audio&id={pk}",
            additional_headers={"Origin": origin, "Cookie": cookie},
            ping_interval=None,
        )
        for pk in sessions
    ]
    for page in pages:
        await page.recv()  # the snapshot: now following
    ready.set()

    async def listen(page: Any) -> None:
        async for message in page:
            for found in CAPTION.finditer(str(message)):
                clock.seen.setdefault(int(found.group(1)), time.monotonic())

    listeners = [asyncio.create_task(listen(page)) for page in pages]
    await asyncio.to_thread(clock.done.wait)
    for listener in listeners:
        listener.cancel()
    for page in pages:
        await page.close()


def run_browser(streams: int, seconds: float) -> None:
    audio = {name: looped(name, seconds) for name in SPEAKERS}
    with tempfile.TemporaryDirectory(prefix="bench-captions-") as directory:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        set_up_django(Path(directory), port)
        sessions, cookie = seed(streams)
        loop, stop = serve_dashboard(port)
        clock, ready = Clock(), threading.Event()
        client_loop = asyncio.new_event_loop()
        client = threading.Thread(target=client_loop.run_forever, daemon=True)
        client.start()
        pages = asyncio.run_coroutine_threadsafe(
            follow_pages(port, sessions, cookie, clock, ready), client_loop
        )
        if not ready.wait(30):
            sys.exit("the page sockets did not connect within 30 s")
        try:
            feed(sessions, audio, seconds, clock, loop)
        finally:
            clock.done.set()
            pages.result(10)
            client_loop.call_soon_threadsafe(client_loop.stop)
            client.join(10)
            stop()
    report_browser(clock)


def feed(
    sessions: list[int],
    audio: dict[str, np.ndarray],
    seconds: float,
    clock: Clock,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """As the session processors do: a tick per 100 ms to each sink, then close; then wait for
    the last captions to reach the pages."""
    from egress_app.audio.mixer import Tick
    from egress_app.models import AudioTap

    sinks = [timed_sink(pk, clock, loop) for pk in sessions]
    channels = [
        {name: str(tap.pk) for name, tap in ((t.participant_identity, t) for t in taps)}
        for taps in (list(AudioTap.objects.filter(session_id=pk)) for pk in sessions)
    ]
    silence = np.zeros(TICK, "<i2")
    clock.started = time.monotonic()
    for index in range(int(seconds * 10)):
        pace(clock.started, index)
        for sink, channel in zip(sinks, channels, strict=True):
            tracks = {channel[n]: audio[n][index * TICK : (index + 1) * TICK] for n in SPEAKERS}
            sink.write(Tick(index, silence, tracks, 0))
    for sink in sinks:
        sink.close(ended=True)
    clock.gaps = sum(sink.gaps for sink in sinks)
    deadline = time.monotonic() + GRACE
    while set(clock.in_hand) - set(clock.seen) and time.monotonic() < deadline:
        time.sleep(0.05)


def report_browser(clock: Clock) -> None:
    ids = sorted(clock.in_hand)
    engine = [clock.in_hand[i] - clock.spoken[i] for i in ids]
    reached = [i for i in ids if i in clock.seen]
    browser = [clock.seen[i] - clock.spoken[i] for i in reached]
    push = [clock.seen[i] - clock.in_hand[i] for i in reached]
    print(
        f"through the dashboard: {len(ids)} finals stored, {len(reached)} reached the pages,"
        f" {clock.gaps} gaps (audio dropped: the engine fell behind)"
    )
    print(f"engine latency p50 / p95:         {p50_p95(engine)}")
    print(f"browser latency p50 / p95:        {p50_p95(browser)}")
    print(f"push (browser - engine) p50 / p95: {p50_p95(push)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-browser", action="store_true", help="only the engine alone")
    arguments = parser.parse_args()
    print("-- the engine alone (anchor)")
    run(arguments.streams, arguments.seconds)
    if not arguments.no_browser:
        print("-- through the dashboard to the session pages' sockets")
        run_browser(arguments.streams, arguments.seconds)


if __name__ == "__main__":
    main()
