"""Real-time Track Egress audio into the dashboard's audio endpoint: server CPU per stream.

    .venv/bin/python bench/audio.py [--streams 25,50,100] [--seconds S] [--senders P] [--redis URL]

N taps stream 48 kHz stereo S16LE as egress sends it (one 1920-byte binary message per 10 ms per
stream, `Content-Type: audio/x-raw`, no compression) from --senders separate processes into
`/egress/audio/<tap>/?t=<token>`, served as in production (`uvicorn --ws websockets-sansio
--ws-ping-interval 0`, one process) on a fresh migrated SQLite database whose taps and single-use
tokens this script makes. The anchor, measured in the same run with the same senders and uvicorn
settings: a bare ASGI websocket app (`anchor` below) that accepts and discards every frame.

For each N and each server it prints the server process's CPU seconds (from /proc, threads
included) over the streaming window divided by the seconds of audio sent: CPU per stream-second,
and its inverse, real-time streams per core (target >= 100 for the dashboard). What happens to
a message after the server receives it is not visible from outside, so for latency it prints the
senders' pacing slip instead (how late, against the real-time schedule, messages went out: p99
and max, and how far behind the last one was), the drain (how long the server stayed busy after
the last message was written: a backlog in the sockets' buffers; the CPU window includes it) and
how many sockets the server closed or refused.

The dashboard does what it does in production to each 100 ms of a tap: meter it, resample it to
16 kHz mono and publish it on the session's audio bus (taps come in sessions of 4). Without
--redis the bus is in-process and the dashboard mixes each session itself (a processor thread
per session: mix, mix meter); with --redis it publishes to Redis Streams (and its channel layer
is Redis) and nothing mixes, as a web process beside `audio_worker`s.

The end-to-end meter latency, measured on the dashboard in each run under that run's load: a
probe process (`--role probe`) streams one more tap, silence with a loud 200 ms burst about
once a second, and follows the tap's session page over `/ws/live/?view=audio&id=<session>` as
a logged-in browser does (session cookie, Origin); each sample is the time from the burst's
first message leaving the probe to the first pushed level reading above -30 dBFS arriving on
that page socket. It prints p50 / p95 / max and the number of bursts heard (--no-meter skips it).
The probe's stream and page are in the dashboard's CPU window but not in its audio seconds: one
stream more than the row says, a slight overstatement of the CPU per stream.
Everything talks only to 127.0.0.1 (and the Redis given); the servers and senders stop on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from timing import Receive, Scope, Send, read_json  # noqa: E402

PYTHON = sys.executable
FRAME_SECONDS = 0.010
RATE, CHANNELS = 48_000, 2
FRAME_BYTES = int(RATE * FRAME_SECONDS) * CHANNELS * 2  # 1920: 480 stereo S16LE samples
TARGET = 100.0  # real-time streams per core
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the anchor: the least a websocket server can do with the audio ------------------------------
async def anchor(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that accepts any websocket and discards whatever it sends."""
    if scope["type"] != "websocket":
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return


# --- role: seed (runs with the dashboard's environment) ------------------------------------------
def seed(count: int) -> None:
    """`count` waiting taps with known tokens, in sessions of 4 (a podcast's microphones)."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from egress_app.actions.audio import token_hash
    from egress_app.models import AudioSession, AudioTap

    taps = []
    expires = timezone.now() + timedelta(hours=1)
    for index in range(count):
        if index % 4 == 0:
            session = AudioSession.objects.create(room_name=f"bench-room-{index // 4:04}")
        token = secrets.token_urlsafe(32)
        tap = AudioTap.objects.create(
            session=session,
            participant_identity=f"speaker-{index % 4}",
            track_sid=f"TR_bench_{index:05}",
            token_hash=token_hash(token),
            token_expires_at=expires,
        )
        taps.append({"path": f"/egress/audio/{tap.pk}/?t={token}"})
    print(json.dumps(taps))


# --- role: send (K sockets in one asyncio loop, a process of its own) ----------------------------
def tone() -> bytes:
    """10 ms of a 440 Hz tone at -12 dBFS, stereo S16LE (480 samples: 440 Hz does not loop in
    10 ms, but what the bytes hold does not change what the endpoint does with them)."""
    samples = []
    for n in range(FRAME_BYTES // 4):
        value = int(0.25 * 32767 * math.sin(2 * math.pi * 440 * n / RATE))
        samples += [value, value]
    return struct.pack(f"<{len(samples)}h", *samples)


async def stream(base: str, paths: list[str], seconds: float) -> dict[str, Any]:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    frame = tone()
    headers = {"Content-Type": "audio/x-raw"}
    sockets: list[ClientConnection] = []
    refused: list[str] = []
    for path in paths:
        try:
            # Egress's websocket sink (gorilla/websocket) offers no compression; no keepalive
            # pings of ours either: a backlogged server would miss their deadline and the
            # client, not the server, would close the socket.
            sockets.append(
                await connect(
                    base + path, additional_headers=headers, compression=None, ping_interval=None
                )
            )
        except (OSError, InvalidStatus) as error:
            refused.append(str(error)[:120])
    print(json.dumps({"ready": len(sockets), "refused": refused}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    began = time.monotonic()
    slips: list[float] = []
    behind: list[float] = []
    sent = [0]

    async def one(ws: ClientConnection) -> None:
        start = began + random.uniform(0, FRAME_SECONDS)  # egresses start at any phase
        frames = int(seconds / FRAME_SECONDS)
        for n in range(frames):
            due = start + n * FRAME_SECONDS
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            slips.append(time.monotonic() - due)
            try:
                await ws.send(frame)
            except ConnectionClosed:  # by the server: counted below
                return
            sent[0] += 1
        behind.append(time.monotonic() - (start + (frames - 1) * FRAME_SECONDS))

    await asyncio.gather(*(one(ws) for ws in sockets))
    elapsed = time.monotonic() - began
    slips.sort()
    report = {
        "sent": sent[0],
        "elapsed": elapsed,
        "slip_p50": slips[len(slips) // 2] if slips else 0.0,
        "slip_p99": slips[int(0.99 * (len(slips) - 1))] if slips else 0.0,
        "slip_max": slips[-1] if slips else 0.0,
        "behind_max": max(behind, default=0.0),
    }
    print(json.dumps(report), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # close
    # Before we close them: a socket already closed was closed by the server (or the network).
    closed = [str(ws.close_code) for ws in sockets if ws.close_code is not None]
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    print(json.dumps({"closed": closed}), flush=True)
    return report


# --- the meter latency probe ---------------------------------------------------------------------
BURST_EVERY = 1.0  # seconds between bursts (plus up to a quarter second, so none align)
BURST_FRAMES = 20  # 200 ms of loud audio
HEARD_DBFS = -30.0  # a reading above this one is the burst (silence reads at the floor)


def seed_probe(count: int) -> None:
    """One session the probe follows, `count` taps in it (a fresh single-use token per run),
    and a logged-in admin's session cookie for the page socket."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from egress_app.actions.audio import token_hash
    from egress_app.models import AudioSession, AudioTap

    user = User.objects.create_superuser("bench-probe", password=secrets.token_urlsafe(24))
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = AudioSession.objects.create(room_name="bench-probe-room")
    taps = []
    for index in range(count):
        token = secrets.token_urlsafe(32)
        tap = AudioTap.objects.create(
            session=session,
            participant_identity="probe",
            track_sid=f"TR_probe_{index:03}",
            token_hash=token_hash(token),
            token_expires_at=timezone.now() + timedelta(hours=1),
        )
        taps.append({"tap": tap.pk, "path": f"/egress/audio/{tap.pk}/?t={token}"})
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    print(json.dumps({"session": session.pk, "cookie": cookie, "taps": taps}))


def burst() -> bytes:
    """10 ms of a 1 kHz tone at -3 dBFS, stereo S16LE."""
    samples = []
    for n in range(FRAME_BYTES // 4):
        value = int(0.7 * 32767 * math.sin(2 * math.pi * 1000 * n / RATE))
        samples += [value, value]
    return struct.pack(f"<{len(samples)}h", *samples)


async def probe(base: str, tap: dict[str, Any], session: int, cookie: str, seconds: float) -> None:
    """Stream one tap, bursts in silence, and time each burst to its first loud reading on the
    session page's socket. Prints {"ready"}, waits for "go", prints {"samples": [...]}."""
    import re

    from websockets.asyncio.client import connect

    origin = base.replace("ws://", "http://", 1)
    page = await connect(
        f"{base}/ws/live/?view=audio&id={session}",
        additional_headers={"Origin": origin, "Cookie": cookie},
        ping_interval=None,
    )
    await page.recv()  # the snapshot
    audio = await connect(
        base + tap["path"],
        additional_headers={"Content-Type": "audio/x-raw"},
        compression=None,
        ping_interval=None,
    )
    print(json.dumps({"ready": 1}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    reading = re.compile(rf'id="tap-{tap["tap"]}-level".*?data-rms="(-?[0-9.]+)"', re.DOTALL)
    bursts: list[float] = []  # when each burst's first message went out
    samples: list[float] = []

    async def listen() -> None:
        quiet = True  # a burst is matched once, then the meter must fall before the next
        async for message in page:
            found = reading.search(str(message))
            if found is None:
                continue
            loud = float(found.group(1)) > HEARD_DBFS
            if loud and quiet and len(samples) < len(bursts):
                samples.append(time.monotonic() - bursts[len(samples)])
            quiet = not loud

    listener = asyncio.create_task(listen())
    silence, loud = bytes(FRAME_BYTES), burst()
    began = time.monotonic()
    next_burst = began + BURST_EVERY
    n = 0
    loud_left = 0
    while (now := time.monotonic()) < began + seconds:
        if loud_left == 0 and now >= next_burst:
            bursts.append(now)
            loud_left = BURST_FRAMES
            next_burst = now + BURST_EVERY + random.uniform(0, 0.25)
        await audio.send(loud if loud_left else silence)
        loud_left = max(0, loud_left - 1)
        n += 1
        await asyncio.sleep(max(0.0, began + n * FRAME_SECONDS - time.monotonic()))
    await asyncio.sleep(2.0)  # the last burst's reading
    listener.cancel()
    print(json.dumps({"samples": samples, "bursts": len(bursts)}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # close
    await asyncio.gather(audio.close(), page.close(), return_exceptions=True)


@dataclass
class Probe:
    """The probe's taps (one per run), the session it follows and the cookie it follows with."""

    session: int
    cookie: str
    taps: list[dict[str, Any]]


def start_probe(server: Server, target: Probe, args: argparse.Namespace) -> subprocess.Popen[str]:
    tap = target.taps.pop(0)
    command = [PYTHON, __file__, "--role", "probe", "--url", f"ws://127.0.0.1:{server.port}"]
    command += ["--seconds", str(args.seconds), "--paths", json.dumps([tap])]
    command += ["--probe-session", str(target.session), "--probe-cookie", target.cookie]
    child = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    read_json(child)  # ready: its page socket and its tap are open
    return child


def finish_probe(child: subprocess.Popen[str]) -> tuple[list[float], int]:
    report = read_json(child)
    tell(child, "close")
    child.wait(timeout=30)
    return sorted(report["samples"]), int(report["bursts"])


def print_meter(samples: list[float], bursts: int) -> None:
    from timing import percentile

    if not samples:
        print(f"    meter latency: no burst of {bursts} reached the page", flush=True)
        return
    ms = [sample * 1e3 for sample in samples]
    print(
        f"    meter latency (burst sent -> its level on the session page's websocket): "
        f"p50 {percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
        f"max {ms[-1]:.0f} ms, {len(ms)} of {bursts} bursts heard",
        flush=True,
    )


# --- the orchestrator ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (not idle, not iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    return sum(int(value) for n, value in enumerate(fields) if n not in (3, 4)) / CLOCK_TICKS


def uvicorn_command(app: str, port: int, *extra: str) -> list[str]:
    """As the README's "Running in production" serves the dashboard, in one process."""
    return [
        *(PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)),
        *("--ws", "websockets-sansio", "--ws-ping-interval", "0"),
        *("--no-access-log", "--lifespan", "off", "--log-level", "warning", *extra),
    ]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name}: uvicorn exited ({self.process.returncode}); see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        sys.exit(f"{self.name}: uvicorn did not answer within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def dashboard_env(directory: Path, port: int, redis_url: str = "") -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "LIVEKIT_", "REDIS_", "DATABASE_", "AUDIO_"))
    }
    return (
        env
        | {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            # Production's checks insist on Redis and PostgreSQL; the endpoint uses neither (a tap
            # writes its counts about once a second), so: development's checks, DEBUG off.
            "ENVIRONMENT": "development",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
            # Never called by the audio endpoint; set so production does not point at the sandbox.
            "LIVEKIT_URL": "http://127.0.0.1:9",
            "LIVEKIT_API_KEY": "APIbench",
            "LIVEKIT_API_SECRET": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_ROOT": f"http://127.0.0.1:{port}",
            "AUDIO_INGEST_URL": f"ws://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        | ({"REDIS_URL": redis_url, "REDIS_PREFIX": f"bench-{os.getpid()}"} if redis_url else {})
    )


def run_manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode:
        sys.exit(f"{' '.join(args[:3])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Result:
    server: str
    streams: int
    audio_seconds: float
    server_cpu: float
    sender_cpu: float
    others_cpu: float
    wall: float
    drain: float
    slip_p99: float
    slip_max: float
    behind_max: float
    refused: int
    closed: list[str]
    meter: tuple[list[float], int] | None = None  # the probe's latencies, its bursts

    @property
    def per_stream_second(self) -> float:
        return self.server_cpu / self.audio_seconds if self.audio_seconds else math.inf

    @property
    def per_core(self) -> float:
        return 1 / self.per_stream_second if self.server_cpu else math.inf


def measure(
    server: Server, paths: list[str], args: argparse.Namespace, meter: Probe | None = None
) -> Result:
    """Stream from --senders processes into `server` for --seconds; its CPU over that window
    (and, with `meter`, the meter latency probe's stream and page socket too)."""
    shares = [paths[n :: args.senders] for n in range(args.senders)]
    command = [PYTHON, __file__, "--role", "send", "--url", f"ws://127.0.0.1:{server.port}"]
    senders = [
        subprocess.Popen(
            [*command, "--seconds", str(args.seconds), "--paths", json.dumps(share)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
        if share
    ]
    try:
        refused = 0
        for sender in senders:
            ready = read_json(sender)
            refused += len(ready["refused"])
        prober = start_probe(server, meter, args) if meter else None
        time.sleep(1.0)  # handshakes and their database writes done before the clock starts
        server_before, busy_before = cpu_seconds(server.process.pid), machine_busy()
        senders_before = sum(cpu_seconds(sender.pid) for sender in senders)
        began = time.monotonic()
        for sender in senders:
            tell(sender, "go")
        if prober:
            tell(prober, "go")
        reports = [read_json(sender) for sender in senders]
        latency = finish_probe(prober) if prober else None
        drain = wait_until_idle(server.process.pid)
        wall = time.monotonic() - began
        server_cpu = cpu_seconds(server.process.pid) - server_before
        senders_cpu = sum(cpu_seconds(sender.pid) for sender in senders) - senders_before
        others = machine_busy() - busy_before - server_cpu - senders_cpu
        closed: list[str] = []
        for sender in senders:
            tell(sender, "close")
        for sender in senders:
            closed += read_json(sender)["closed"]
            sender.wait(timeout=30)
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()
                sender.wait(timeout=10)
    return Result(
        server=server.name,
        streams=len(paths),
        audio_seconds=sum(report["sent"] for report in reports) * FRAME_SECONDS,
        server_cpu=server_cpu,
        sender_cpu=senders_cpu,
        others_cpu=others,
        wall=wall,
        drain=drain,
        slip_p99=max(report["slip_p99"] for report in reports),
        slip_max=max(report["slip_max"] for report in reports),
        behind_max=max(report["behind_max"] for report in reports),
        refused=refused,
        closed=closed,
        meter=latency,
    )


def wait_until_idle(pid: int, limit: float = 60.0) -> float:
    """Seconds until the server has caught up with what was sent: a message the senders wrote
    may still wait in the sockets' kernel buffers, so the CPU window runs until the server's CPU
    falls quiet (under 4% of a core over a quarter second), at most `limit` seconds."""
    began = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - began < limit:
        time.sleep(0.25)
        now = cpu_seconds(pid)
        if now - before < 0.01:
            return max(0.0, time.monotonic() - began - 0.25)
        before = now
    return time.monotonic() - began


def tell(child: subprocess.Popen[str], word: str) -> None:
    assert child.stdin is not None
    child.stdin.write(word + "\n")
    child.stdin.flush()


HEADER = (
    "  server     streams  audio s   CPU s  ms CPU per   streams  slip p99 / max  behind  "
    "drain  refused  closed  senders  others\n"
    "                                       stream-s  per core              ms      ms      "
    "s                   CPU s   CPU s"
)


def print_row(result: Result) -> None:
    closed = (
        f"{len(result.closed)} ({', '.join(sorted(set(result.closed)))})" if result.closed else "0"
    )
    print(
        f"  {result.server:<10} {result.streams:>5}  {result.audio_seconds:7.0f}  "
        f"{result.server_cpu:6.2f}  {result.per_stream_second * 1e3:10.2f}  "
        f"{result.per_core:8.0f}  {result.slip_p99 * 1e3:6.1f} / {result.slip_max * 1e3:6.1f}  "
        f"{result.behind_max * 1e3:6.1f}  {result.drain:5.2f}  {result.refused:>7}  {closed:>6}  "
        f"{result.sender_cpu:7.1f}  {result.others_cpu:6.1f}",
        flush=True,
    )
    if result.meter is not None:
        print_meter(*result.meter)


def main(args: argparse.Namespace) -> None:
    counts = sorted(args.streams)
    print(
        f"Audio endpoint: {', '.join(map(str, counts))} real-time 48 kHz stereo streams, "
        f"{args.seconds:g} s each run, 10 ms messages of {FRAME_BYTES} bytes, from "
        f"{args.senders} sender processes; uvicorn --ws websockets-sansio --ws-ping-interval 0, "
        f"one process each; {os.cpu_count()} cores; audio bus: "
        f"{'Redis Streams' if args.redis else 'in-process, mixed there'}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        directory = Path(tmp)
        dashboard_port, anchor_port = free_port(), free_port()
        env = dashboard_env(directory, dashboard_port, args.redis)
        print("  migrating a fresh SQLite database and making the taps ...", flush=True)
        run_manage(env, "manage.py", "migrate", "--noinput", "-v", "0")
        taps = json.loads(
            run_manage(env, __file__, "--role", "seed", "--count", str(sum(counts))).strip()
        )
        paths = [tap["path"] for tap in taps]
        meter = None
        if args.meter:
            seeded = run_manage(env, __file__, "--role", "seed-probe", "--count", str(len(counts)))
            meter = Probe(**json.loads(seeded.strip()))
        servers = []
        for name, port, command, server_env in (
            (
                "anchor",
                anchor_port,
                uvicorn_command("audio:anchor", anchor_port, "--app-dir", "bench"),
                dict(os.environ),
            ),
            (
                "dashboard",
                dashboard_port,
                uvicorn_command("dashboard.asgi:application", dashboard_port),
                env,
            ),
        ):
            log = directory / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command, cwd=ROOT, env=server_env, stdout=out, stderr=subprocess.STDOUT
                )
            servers.append(Server(name, process, port, log))
        try:
            for server in servers:
                server.wait_until_up()
            print("\n" + HEADER)
            results = []
            offset = 0
            for count in counts:
                for server in servers:
                    if server.name == "anchor":
                        anchor_paths = [f"/anchor/{n}" for n in range(count)]
                        result = measure(server, anchor_paths, args)
                    else:
                        result = measure(server, paths[offset : offset + count], args, meter)
                        offset += count
                    results.append(result)
                    print_row(result)
            for server in servers:
                if server.process.poll() is not None:
                    print(f"  {server.name} exited during the run: see its log below")
                    print(server.log.read_text(errors="replace")[-3000:])
        finally:
            for server in servers:
                server.stop()
        logged = [
            line
            for line in (directory / "dashboard.log").read_text(errors="replace").splitlines()
            if line.startswith(("ERROR", "WARNING", "Traceback", "CRITICAL"))
        ]
        if logged:
            print("\n  the dashboard logged:\n    " + "\n    ".join(logged[-20:]))
    dashboard = [result for result in results if result.server == "dashboard"]
    worst = min(result.per_core for result in dashboard)
    verdict = "met" if worst >= TARGET else "NOT met"
    print(
        f"\n  The dashboard's fewest real-time streams per core: {worst:.0f} "
        f"(target >= {TARGET:.0f}: {verdict})."
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--streams", type=lambda s: [int(n) for n in s.split(",")], default=[25, 50, 100]
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=2, help="sender processes")
    parser.add_argument(
        "--no-meter",
        dest="meter",
        action="store_false",
        help="skip the end-to-end meter latency probe",
    )
    parser.add_argument("--redis", default="", help="publish the chunks to this Redis's streams")
    parser.add_argument(
        "--role", choices=["main", "seed", "send", "seed-probe", "probe"], default="main"
    )
    parser.add_argument("--probe-session", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--probe-cookie", default="", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--paths", default="[]", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.role == "seed":
        seed(arguments.count)
    elif arguments.role == "seed-probe":
        seed_probe(arguments.count)
    elif arguments.role == "probe":
        tap = json.loads(arguments.paths)[0]
        session, cookie = arguments.probe_session, arguments.probe_cookie
        asyncio.run(probe(arguments.url, tap, session, cookie, arguments.seconds))
    elif arguments.role == "send":
        asyncio.run(stream(arguments.url, json.loads(arguments.paths), arguments.seconds))
    else:
        main(arguments)
