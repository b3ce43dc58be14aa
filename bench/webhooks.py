"""LiveKit webhooks end to end: how many the server ingests, and how fast browsers hear of them.

    .venv/bin/python bench/webhooks.py [--jobs N] [--webhooks N] [--concurrency N]
                                       [--ingest-seconds S] [--watchers 0,10]
                                       [--clients 100,500] [--rate R] [--seconds S] [--workers N]
    .venv/bin/python bench/webhooks.py --profile [--no-push]     (where a webhook's time goes)
    (--help lists the rest: one phase only, no websocket compression, a profiled server)

It builds a production-like server of its own: a fresh PostgreSQL database (`egress_bench`,
dropped and migrated each run), the Redis channel layer under a unique prefix, DEBUG off, and
`uvicorn dashboard.asgi:application --workers 2` on a free loopback port. It seeds --jobs
running egress jobs and a support user with a session, then measures:

1. Ingest: Debian's `wrk` (bench/wrk_load.py) posts `egress_updated` webhooks, signed as LiveKit
   signs them before the clock starts (each with its own id, an increasing `updated_at`, spread
   over the jobs), over --concurrency keep-alive connections for --ingest-seconds, first to a
   bare ASGI app on the same uvicorn with the same workers (the anchor), then to the dashboard
   once per count in --watchers (support users following the job list). Prints requests/s,
   p50/p99/max latency, answers not 200, server CPU per request, wrk's CPU and the ledger's
   outcomes (targets: >= 2,000/s and >= 5 % of the anchor with no page open, >= 1,000/s with 10
   watching).
2. Delivery: for each count in --clients, that many websockets (`/ws/live/?view=jobs`, the
   support user, aiohttp's client in one asyncio loop in a separate process) follow the job list
   while webhooks arrive at --rate per second for --seconds, each about a new egress. Prints
   p50/p99 of the time from the POST being sent to each client receiving the row naming that
   egress, over every client x event, how many such frames never came, and the server's and the
   clients' CPU per socket-frame (targets p99 < 100 ms at 500 clients, < 250 ms at 1,000).

CPU seconds used by the server, the load generator, PostgreSQL and Redis during each phase are
printed too. Everything talks only to 127.0.0.1; the server and helpers are stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import postgres  # noqa: E402
import wrk_load  # noqa: E402
from timing import percentile, read_json  # noqa: E402

PYTHON = sys.executable
# Its own database: BENCH_DATABASE lets two runs on one machine keep apart.
DATABASE = os.environ.get("BENCH_DATABASE", "egress_bench")
REDIS_URL = "redis://127.0.0.1:6379/0"
MARKER = re.compile(r"EG_dlv_[0-9a-z_]+")
STARTED_NS = time.time_ns() - 600 * 1_000_000_000
INGEST_TARGET = 2000.0  # webhooks/s, no page open
ANCHOR_SHARE = 0.05  # of the bare ASGI app's requests/s, no page open
WATCHED_TARGET = 1000.0  # webhooks/s while 10 support users watch the job list
DELIVERY_TARGET_MS = 250.0  # p99 at 1,000 clients
DELIVERY_TARGETS_MS = {500: 100.0, 1000: DELIVERY_TARGET_MS}  # p99 by clients (issue 18)


# --- webhook bodies (no Django needed) -----------------------------------------------------------
def event_body(event_id: str, egress_id: str, room: str, updated_ns: int) -> bytes:
    from google.protobuf import json_format
    from livekit.protocol import egress, webhook

    path = f"recordings/{room}/{egress_id}.mp4"
    info = egress.EgressInfo(
        egress_id=egress_id,
        room_id=f"RM_{room}",
        room_name=room,
        status=egress.EGRESS_ACTIVE,
        started_at=STARTED_NS,
        updated_at=updated_ns,
        room_composite=egress.RoomCompositeEgressRequest(
            room_name=room,
            layout="speaker",
            file_outputs=[egress.EncodedFileOutput(filepath=path)],
        ),
    )
    info.file_results.add(filename=path, started_at=STARTED_NS)
    event = webhook.WebhookEvent(
        event="egress_updated", id=event_id, created_at=int(time.time()), egress_info=info
    )
    return json_format.MessageToJson(event, indent=None).encode()


def sign(body: bytes, api_key: str, api_secret: str) -> str:
    """LiveKit's signature: a raw HS256 JWT whose `sha256` claim is base64(sha256(body))."""
    import jwt

    now = int(time.time())
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    claims = {"iss": api_key, "nbf": now, "exp": now + 300, "sha256": digest}
    return jwt.encode(claims, api_secret, algorithm="HS256")


def job_egress_id(index: int) -> str:
    return f"EG_bench_{index:05}"


# --- CPU accounting from /proc (read only) -------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_group(
    server_pgid: int | None, extra: dict[str, list[int]] | None = None
) -> Counter[str]:
    """CPU seconds so far of the server's processes, PostgreSQL's and Redis's (by name)."""
    totals: Counter[str] = Counter()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pgid, ticks = int(fields[2]), int(fields[11]) + int(fields[12])
        pid = int(entry.name)
        if server_pgid is not None and pgid == server_pgid:
            totals["server"] += ticks
        elif name.startswith("postgres"):
            totals["postgres"] += ticks
        elif name.startswith("redis-server"):
            totals["redis"] += ticks
        else:
            for label, watched in (extra or {}).items():
                if pid in watched:
                    totals[label] += ticks
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    busy = sum(int(value) for n, value in enumerate(fields) if n not in (3, 4))  # not idle, iowait
    totals["others"] = busy - sum(totals.values())  # the rest of the machine, not this bench
    return Counter({label: ticks / CLOCK_TICKS for label, ticks in totals.items()})


def cpu_line(before: Counter[str], after: Counter[str], wall: float) -> str:
    used = {label: after[label] - before[label] for label in after}
    others = used.pop("others", 0.0)
    parts = [f"{label} {seconds:.1f} s" for label, seconds in sorted(used.items())]
    cores = os.cpu_count() or 1
    return (
        f"  CPU over {wall:.1f} s: " + ", ".join(parts) + f"; other processes on the machine "
        f"{others:.1f} s  ({(sum(used.values()) + others) / wall:.2f} of {cores} cores busy)"
    )


# --- role: seed (runs with the server's environment) ---------------------------------------------
def seed(jobs: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState
    from egress_app.roles import PRODUCERS, SUPPORT

    producer = User.objects.create_user("bench-producer", password=secrets.token_hex(16))
    producer.groups.add(Group.objects.get(name=PRODUCERS))
    support = User.objects.create_user("bench-support", password=secrets.token_hex(16))
    support.groups.add(Group.objects.get(name=SUPPORT))
    EgressJob.objects.bulk_create(
        EgressJob(
            egress_id=job_egress_id(index),
            kind=EgressKind.ROOM_COMPOSITE,
            room_name=f"room-{index % 20:02}",
            status=EgressStatus.ACTIVE,
            launch_state=LaunchState.LAUNCHED,
            started_by=producer,
            config={"outputs": {"file": {"filepath": f"recordings/{index}.mp4"}}},
        )
        for index in range(jobs)
    )
    session = SessionStore()
    session[SESSION_KEY] = str(support.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = support.get_session_auth_hash()
    session.create()
    print(json.dumps({"session": session.session_key}))


# --- role: profile (the same webhooks in one process, under cProfile) ----------------------------
def profile(args: argparse.Namespace) -> None:
    """Sequential webhooks through the full Django stack, the way a uvicorn worker runs them:
    the sync view in a worker thread (sync_to_async), the channel layer on the event loop."""
    import cProfile
    import pstats

    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from asgiref.sync import sync_to_async
    from django.test import Client

    api_key, api_secret = os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"]
    base = time.time_ns()
    made = []
    for n in range(args.webhooks):
        index = n % args.jobs
        body = event_body(
            f"EV_prof_{n:06}", job_egress_id(index), f"room-{index % 20:02}", base + n * 1000
        )
        made.append((body, sign(body, api_key, api_secret)))
    client = Client(HTTP_HOST="127.0.0.1")
    if args.no_push:  # what the webhook costs without its push to browsers
        from egress_app import events

        events.announce_job = lambda *args, **kwargs: None

    def post(body: bytes, token: str) -> int:
        response = client.post(
            "/livekit/webhook",
            data=body,
            content_type="application/webhook+json",
            headers={"Authorization": token},
        )
        return response.status_code

    async def run(items: list[tuple[bytes, str]]) -> float:
        began = time.perf_counter()
        for body, token in items:
            status = await sync_to_async(post)(body, token)
            assert status == 200, status
        return time.perf_counter() - began

    warm = min(50, len(made) // 5)
    asyncio.run(run(made[:warm]))  # imports, template loading, first connections
    count = len(made) - warm
    cpu = time.process_time()
    elapsed = asyncio.run(run(made[warm : warm + count // 2]))
    cpu = time.process_time() - cpu
    half = count // 2
    print(
        f"unprofiled: {half} webhooks, {elapsed / half * 1000:.1f} ms wall and "
        f"{cpu / half * 1000:.1f} ms CPU (this process) each"
    )
    # CPU time, not wall time: on a shared machine the wall clock also counts other processes.
    profiler = cProfile.Profile(time.process_time)

    async def profiled() -> float:
        profiler.enable()
        try:
            return await run(made[warm + half :])
        finally:
            profiler.disable()

    elapsed = asyncio.run(profiled())
    rest = count - half
    print(f"profiled: {rest} webhooks, {elapsed / rest * 1000:.1f} ms wall each (CPU timer below)")
    stats = pstats.Stats(profiler)
    ours = r"egress_app|dashboard|django/db/backends|channels"
    stats.sort_stats("cumulative").print_stats(ours, 40)
    stats.sort_stats("tottime").print_stats(30)


# --- role: serve (one uvicorn worker in this process, under cProfile) ----------------------------
def serve_profiled(args: argparse.Namespace) -> None:
    """The server as `uvicorn --workers 1`, profiled until SIGTERM; the stats go to --stats."""
    import cProfile
    import pstats

    import uvicorn

    sys.path.insert(0, str(ROOT))
    config = uvicorn.Config(
        "dashboard.asgi:application",
        host="127.0.0.1",
        port=args.port,
        access_log=False,
        log_level="warning",
        timeout_keep_alive=60,
        ws_per_message_deflate=not args.no_deflate,
    )
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT that stopped it
        uvicorn.Server(config).run()
    profiler.disable()
    with open(args.stats, "w") as out:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(r"channels|websockets|egress_app|dashboard", 35)


# --- the ingest's requests, signed beforehand for wrk ------------------------------------------
def write_ingest_pool(
    path: Path, run: Run, url: str, args: argparse.Namespace, tag: str, count: int
) -> int:
    """`count` egress_updated webhooks, each with its own event id, spread over the jobs with an
    increasing `updated_at`, signed as LiveKit signs them, written as wrk sends them. Each
    job's body is made once with protobuf and its id and time filled in after: signing 40,000
    takes about a second instead of ten."""
    from urllib.parse import urlsplit

    api_key, api_secret = run.env["LIVEKIT_API_KEY"], run.env["LIVEKIT_API_SECRET"]
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    placeholder_id, placeholder_ns = "EV_placeholder_id", 987_654_321_987_654_321
    templates = [
        event_body(placeholder_id, job_egress_id(index), f"room-{index % 20:02}", placeholder_ns)
        for index in range(min(args.jobs, count))
    ]
    base = time.time_ns()

    def made() -> Iterator[bytes]:
        for n in range(count):
            body = (
                templates[n % len(templates)]
                .replace(placeholder_id.encode(), f"EV_{tag}_{n:06}".encode())
                .replace(str(placeholder_ns).encode(), str(base + n * 1000).encode())
            )
            headers = {
                "Authorization": sign(body, api_key, api_secret),
                "Content-Type": "application/webhook+json",
            }
            yield wrk_load.raw_request(host, port, parts.path, body, headers)

    return wrk_load.write_pool(path, made())


# --- role: clients (the websockets, one asyncio loop in a process of their own) ------------------
class Received:
    """What the sockets of one client process heard: when each socket first saw each marker,
    frames counted, and why the server closed any."""

    def __init__(self) -> None:
        self.moments: dict[str, dict[int, float]] = {}
        self.frames = 0
        self.closed: list[str] = []  # one entry per socket

    def frame(self, number: int, text: str) -> None:
        self.frames += 1
        now = time.monotonic()
        if "EG_dlv_" not in text:  # the job list's other frames: no regex over them
            return
        for marker in MARKER.findall(text):
            self.moments.setdefault(marker, {}).setdefault(number, now)


async def open_aiohttp(args: argparse.Namespace, received: Received) -> Any:
    """aiohttp's websocket client: its frame reader is compiled (Cython), several times less
    CPU a frame than the websockets library's, so 1,000 clients do not take the cores the
    server needs. It offers permessage-deflate as browsers do."""
    import aiohttp

    headers = {"Cookie": f"sessionid={args.session}", "Origin": args.origin}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5)

    async def opened(number: int) -> asyncio.Task[None]:
        ws = await session.ws_connect(
            args.ws_url, headers=headers, max_msg_size=0, timeout=timeout, autoping=True
        )
        snapshot = await asyncio.wait_for(ws.receive(), 120)  # the snapshot of the job list
        if snapshot.type != aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"no snapshot: {snapshot.type}")
        return asyncio.create_task(follow(number, ws))

    async def follow(number: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                received.frame(number, message.data)
        if not ws.closed or ws.close_code not in (None, 1000):
            received.closed.append(f"closed {ws.close_code} {ws.exception()!r}")

    return opened, session.close


async def open_websockets(args: argparse.Namespace, received: Received) -> Any:
    """The websockets library's asyncio client (--client websockets), for comparison."""
    from websockets.asyncio.client import ClientConnection, connect

    headers = {"Cookie": f"sessionid={args.session}", "Origin": args.origin}
    sockets: list[ClientConnection] = []

    async def opened(number: int) -> asyncio.Task[None]:
        ws = await connect(args.ws_url, additional_headers=headers, open_timeout=120, max_size=None)
        await asyncio.wait_for(ws.recv(), 120)  # the snapshot of the job list
        sockets.append(ws)
        return asyncio.create_task(follow(number, ws))

    async def follow(number: int, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                received.frame(number, message if isinstance(message, str) else message.decode())
        except Exception as exc:  # its frames from then on count as missed
            received.closed.append(repr(exc))

    async def close() -> None:
        for ws in sockets:
            await ws.close()

    return opened, close


async def clients(args: argparse.Namespace) -> None:
    received = Received()
    opener = open_aiohttp if args.client == "aiohttp" else open_websockets
    opened, close = await opener(args, received)
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(50)  # handshakes in flight at once

    async def open_one(number: int) -> bool:
        async with gate:
            try:
                tasks.append(await opened(number))
            except Exception as exc:
                print(json.dumps({"failed": number, "error": repr(exc)}), file=sys.stderr)
                return False
        return True

    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        if line[0] == "connect":
            wanted = int(line[1])
            began = time.monotonic()
            opened_now = await asyncio.gather(*(open_one(n) for n in range(len(tasks), wanted)))
            took = time.monotonic() - began
            print(json.dumps({"open": len(tasks), "failed": opened_now.count(False), "s": took}))
        elif line[0] == "count":  # frames received since the last count
            print(json.dumps({"frames": received.frames}))
            received.frames = 0
        elif line[0] == "collect":
            times = {marker: list(times.values()) for marker, times in received.moments.items()}
            print(json.dumps({"received": times, "closed": Counter(received.closed)}))
            received.moments.clear()
        sys.stdout.flush()
    for task in tasks:
        task.cancel()
    await close()


# --- the orchestrator ---------------------------------------------------------------------------
class Processes:
    """Every child started here, stopped (with its process group) on exit or on a signal."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[str]] = []
        atexit.register(self.stop)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def start(
        self, command: list[str], env: dict[str, str], **kwargs: Any
    ) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            command, env=env, cwd=ROOT, text=True, start_new_session=True, **kwargs
        )
        self.children.append(child)
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.children.clear()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop()
        sys.exit(128 + signum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ledger_outcomes() -> dict[str, int]:
    import psycopg

    dsn = postgres.dsn(DATABASE)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM egress_app_ledgerentry GROUP BY outcome ORDER BY 1"
        ).fetchall()
    return dict(rows)


def forget_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def server_env(prefix: str, args: argparse.Namespace) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        {
            "ENVIRONMENT": "production",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": postgres.dsn(DATABASE),
            "DB_CONN_MAX_AGE": str(args.conn_max_age),
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": prefix,
            # Never called by the webhook path; set so production does not point at the sandbox.
            "LIVEKIT_URL": "http://127.0.0.1:9",
            "LIVEKIT_API_KEY": "APIbench",
            "LIVEKIT_API_SECRET": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_ROOT": f"http://127.0.0.1:{args.port}",
            "AUDIO_INGEST_URL": f"ws://127.0.0.1:{args.port}",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, as behind a TLS proxy
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def wait_until_up(url: str, server: subprocess.Popen[str], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"uvicorn exited ({server.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 405:  # POST only: it is up
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"uvicorn did not answer within 60 s; see {log}")


@dataclass(frozen=True)
class Run:
    """The server under test and what its helpers need to reach it."""

    procs: Processes
    env: dict[str, str]
    url: str  # the webhook endpoint
    session: str  # the support user's session cookie
    server_pgid: int


def ingest(run: Run, args: argparse.Namespace) -> list[str]:
    """The bare ASGI app (the anchor), then the dashboard once per count in --watchers (support
    users with the job list open: their pages' rows are rendered and pushed as they change),
    all loaded by the same wrk with the same kind of requests; the targets' verdicts."""
    seconds, connections = args.ingest_seconds, args.concurrency
    print(
        f"\n1. Ingest: wrk ({args.wrk_threads} thread(s), {connections} connections over "
        f"keep-alive) for {seconds:g} s per row, after {args.warmup_seconds:g} s of warm-up; "
        f"signed egress_updated webhooks over {args.jobs} jobs, up to {args.webhooks} per row "
        "(then sent again: answered as duplicates)"
    )
    print(
        "  server                  req/s   p50 ms   p99 ms   max ms  non-200  repeated"
        "   frames  server CPU/req  wrk CPU"
    )
    pools = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        anchor = ingest_anchor(run, args, pools)
        socks = Clients(run, args.client_processes) if max(args.watchers) else None
        rates = []
        for number, watchers in enumerate(args.watchers):
            if socks is not None:
                opened = socks.connect(watchers)
                if opened["failed"]:
                    print(f"  {opened['failed']} of {watchers} watchers could not connect")
                time.sleep(1.0)
            rates.append(ingest_once(run, args, pools, f"r{number}", watchers, socks))
        if socks is not None:
            socks.close()
    finally:
        shutil.rmtree(pools)
    outcomes = ledger_outcomes()
    print(
        f"  ledger outcomes (warm-ups included): {outcomes}; {sum(outcomes.values())} webhooks "
        f"recorded, {answered[0]} answered 200 (a webhook still in flight when wrk stops is "
        "recorded, not counted as answered; `stale`: overtaken by a newer one of its job)"
    )
    verdicts = []
    for watchers, rate in zip(args.watchers, rates, strict=True):
        if watchers:
            met = rate >= WATCHED_TARGET
            verdicts.append(
                f"ingest >= {WATCHED_TARGET:.0f} webhooks/s with {watchers} watching: "
                f"{rate:.0f}/s {'met' if met else 'MISSED'}"
            )
        else:
            share = rate / anchor.rate
            met = rate >= INGEST_TARGET and share >= ANCHOR_SHARE
            verdicts.append(
                f"ingest >= {INGEST_TARGET:.0f} webhooks/s and >= {ANCHOR_SHARE:.0%} of bare ASGI "
                f"({anchor.rate:.0f}/s), no page open: {rate:.0f}/s, {share:.1%} "
                f"{'met' if met else 'MISSED'}"
            )
    return verdicts


def ingest_anchor(run: Run, args: argparse.Namespace, pools: Path) -> wrk_load.Load:
    """The bare ASGI app (bench/wrk_load.py `anchor`) on a uvicorn of its own, with the
    dashboard's flags and workers, loaded as the dashboard is (a pool of the same webhooks)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/livekit/webhook"
    command = [PYTHON, "-m", "uvicorn", "wrk_load:anchor", "--app-dir", str(ROOT / "bench")]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    command += ["--no-access-log", "--timeout-keep-alive", "60", "--log-level", "warning"]
    server = run.procs.start(command, run.env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("the bare ASGI anchor did not start")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker up
        pool = pools / "anchor.bin"
        write_ingest_pool(pool, run, url, args, "anchor", min(args.webhooks, 5000))
        wrk_load.run(url, pool, connections=args.concurrency, seconds=args.warmup_seconds)
        before = cpu_by_group(server.pid)
        load = wrk_load.run(
            url,
            pool,
            connections=args.concurrency,
            seconds=args.ingest_seconds,
            threads=args.wrk_threads,
        )
        after = cpu_by_group(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print_ingest_row("bare ASGI (anchor)", load, before, after, frames=0)
    return load


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


answered = [0]  # distinct webhooks the dashboard answered, warm-ups included


def ingest_once(
    run: Run,
    args: argparse.Namespace,
    pools: Path,
    tag: str,
    watchers: int,
    socks: Clients | None,
) -> float:
    """One row: warm-up, then wrk for --ingest-seconds; webhooks/s when every answer was 200."""
    warm, timed = pools / f"{tag}-warm.bin", pools / f"{tag}.bin"
    write_ingest_pool(warm, run, run.url, args, f"{tag}_warm", args.warmup)
    write_ingest_pool(timed, run, run.url, args, f"{tag}_load", args.webhooks)
    warmed = wrk_load.run(run.url, warm, connections=args.concurrency, seconds=args.warmup_seconds)
    if socks is not None:
        socks.frames()  # the warm-up's frames are not counted
    extra = {"clients": socks.pids} if socks is not None else {}
    before = cpu_by_group(run.server_pgid, extra)
    load = wrk_load.run(
        run.url,
        timed,
        connections=args.concurrency,
        seconds=args.ingest_seconds,
        threads=args.wrk_threads,
    )
    after = cpu_by_group(run.server_pgid, extra)
    frames = socks.frames() if socks is not None else 0
    label = f"dashboard, {watchers} watching"
    print_ingest_row(label, load, before, after, frames=frames)
    # What the ledger must hold: every webhook answered, once (a repeat is a duplicate).
    answered[0] += sum(
        min(one.requests, pool) for one, pool in ((warmed, args.warmup), (load, args.webhooks))
    )
    return 0.0 if load.failed else load.rate


def print_ingest_row(
    label: str, load: wrk_load.Load, before: Counter[str], after: Counter[str], *, frames: int
) -> None:
    server_ms = (after["server"] - before["server"]) / max(load.requests, 1) * 1000
    print(
        f"  {label:<22} {load.rate:7.0f}  {load.p50_ms:7.1f}  {load.p99_ms:7.1f}  "
        f"{load.max_ms:7.1f}  {load.failed:7}  {load.repeated:8}  {frames:7}  "
        f"{server_ms:10.3f} ms  {load.cpu:5.1f} s"
    )
    if load.errors:
        print(f"  wrk's errors: {load.errors} (status: answers other than 2xx or 3xx)")
    # wrk has exited: its CPU is the kernel's count for it, taken out of "other processes".
    used = Counter({**after, "wrk": before["wrk"] + load.cpu, "others": after["others"] - load.cpu})
    print("  " + cpu_line(before, used, load.seconds).strip())


class Clients:
    """The websocket clients (support users on the job list): --client-processes processes of
    one asyncio loop each, the sockets shared out. On a bigger machine more processes keep one
    loop's queue out of the figures; on 2 cores they only compete with the server."""

    def __init__(self, run: Run, processes: int, client: str = "aiohttp") -> None:
        url = run.url
        ws_url = url.replace("http://", "ws://").replace("/livekit/webhook", "/ws/live/?view=jobs")
        origin = url.split("/livekit/")[0]
        command = [PYTHON, __file__, "--role", "clients", "--ws-url", ws_url, "--origin", origin]
        command += ["--session", run.session]
        command += ["--client", client]
        self.children = [
            run.procs.start(command, run.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(processes)
        ]

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    def ask(self, lines: list[str]) -> list[Any]:
        for child, line in zip(self.children, lines, strict=True):
            assert child.stdin is not None
            child.stdin.write(line + "\n")
            child.stdin.flush()
        return [read_json(child) for child in self.children]

    def connect(self, total: int) -> dict[str, Any]:
        """`total` sockets open in all, shared out; how many opened and failed, and how long."""
        count = len(self.children)
        shares = [total // count + (n < total % count) for n in range(count)]
        answers = self.ask([f"connect {share}" for share in shares])
        return {
            "open": sum(answer["open"] for answer in answers),
            "failed": sum(answer["failed"] for answer in answers),
            "s": max(answer["s"] for answer in answers),
        }

    def frames(self) -> int:
        """Frames received since the last call."""
        return sum(answer["frames"] for answer in self.ask(["count"] * len(self.children)))

    def collect(self) -> dict[str, Any]:
        """When each client received each marker (since the last call), and why sockets closed."""
        received: dict[str, list[float]] = {}
        closed: Counter[str] = Counter()
        for answer in self.ask(["collect"] * len(self.children)):
            for marker, moments in answer["received"].items():
                received.setdefault(marker, []).extend(moments)
            closed.update(answer["closed"])
        return {"received": received, "closed": closed}

    def close(self) -> None:
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write("quit\n")
            child.stdin.flush()
        for child in self.children:
            child.wait(timeout=30)


async def send_events(
    url: str, api_key: str, api_secret: str, run: str, args: argparse.Namespace
) -> tuple[dict[str, float], Counter[str]]:
    """POSTs at a steady rate, each about a new egress; the moment each was sent, by marker."""
    import httpx

    count = round(args.rate * args.seconds)
    base = time.time_ns()
    prepared = []
    for n in range(count):
        marker = f"EG_dlv_{run}_{n:04}"
        body = event_body(f"EV_{marker}", marker, "delivery", base + n * 1000)
        prepared.append((marker, body, sign(body, api_key, api_secret)))
    sent: dict[str, float] = {}
    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(marker: str, body: bytes, token: str) -> None:
            headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
            sent[marker] = time.monotonic()
            try:
                response = await client.post(url, content=body, headers=headers)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

        began = time.monotonic()
        posts = []
        for n, (marker, body, token) in enumerate(prepared):
            await asyncio.sleep(max(0.0, began + n / args.rate - time.monotonic()))
            posts.append(asyncio.create_task(post(marker, body, token)))
        await asyncio.gather(*posts)
    return sent, statuses


def delivery(run: Run, args: argparse.Namespace) -> list[tuple[int, float, int]]:
    socks = Clients(run, args.client_processes, args.client)
    url, env = run.url, run.env
    print(
        f"\n2. Delivery: {args.rate:g} webhooks/s for {args.seconds:g} s, each about a new egress;"
        " time from the POST sent to each support client receiving that egress's row"
    )
    print(
        "  clients  connect s  events  non-200  deliveries    p50 ms    p99 ms    max ms"
        "   missed  closed   target p99 (500: < 100 ms, 1000: < 250 ms)"
    )
    results = []
    spent: list[tuple[float, int]] = []  # server CPU seconds and frames, by count
    for wanted in args.clients:
        opened = socks.connect(wanted)
        time.sleep(1.0)  # let the handshakes' work settle
        before = cpu_by_group(run.server_pgid, {"clients": socks.pids})
        began = time.monotonic()
        sent, statuses = asyncio.run(
            send_events(url, env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"], f"c{wanted}", args)
        )
        time.sleep(args.grace)
        after = cpu_by_group(run.server_pgid, {"clients": socks.pids})
        wall = time.monotonic() - began
        collected = socks.collect()
        received: dict[str, list[float]] = collected["received"]
        closed = sum(collected["closed"].values())
        ms = sorted(
            (moment - sent[marker]) * 1000
            for marker, moments in received.items()
            if marker in sent
            for moment in moments
        )
        expected = len(sent) * opened["open"]
        missed = expected - len(ms)
        bad = sum(count for status, count in statuses.items() if status != "200")
        p50 = statistics.median(ms) if ms else float("nan")
        p99 = percentile(ms, 0.99) if ms else float("nan")
        worst = ms[-1] if ms else float("nan")
        target = DELIVERY_TARGETS_MS.get(wanted)
        verdict = "met" if target and p99 < target and not missed and not bad else "MISSED"
        if target is None:
            verdict = f"({verdict} at < {DELIVERY_TARGET_MS:.0f} ms)"
        label = f"{opened['open']}" + (f" ({opened['failed']} failed)" if opened["failed"] else "")
        print(
            f"  {label:>7}  {opened['s']:9.1f}  {len(sent):6}  {bad:7}  {len(ms):10}  {p50:8.1f}"
            f"  {p99:8.1f}  {worst:8.1f}  {missed:7}  {closed:6}   {verdict}"
        )
        if closed:
            print(f"  sockets the server closed so far: {dict(collected['closed'])}")
        print("  " + cpu_line(before, after, wall).strip())
        # The steady figures on a shared machine: CPU per frame, whatever else runs.
        server, clients_cpu = (after[k] - before[k] for k in ("server", "clients"))
        frames = max(len(ms), 1)
        print(
            f"  server {server / frames * 1e6:.1f} µs CPU per socket-frame, "
            f"clients {clients_cpu / frames * 1e6:.1f} µs per frame ({args.client}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        results.append((wanted, p99, missed))
        spent.append((server, len(ms)))
    if len(spent) > 1 and spent[-1][1] > spent[0][1]:
        # What one more socket costs a push, the webhooks' own work (the same in each) set aside.
        (first_cpu, first_frames), (last_cpu, last_frames) = spent[0], spent[-1]
        marginal = (last_cpu - first_cpu) / (last_frames - first_frames) * 1e6
        print(f"  server CPU per socket-frame beyond the webhooks' own: {marginal:.1f} µs")
    socks.close()
    return results


def orchestrate(args: argparse.Namespace) -> None:
    procs = Processes()
    args.port = free_port()
    prefix = f"bench-{secrets.token_hex(4)}"
    env = server_env(prefix, args)
    url = f"http://127.0.0.1:{args.port}/livekit/webhook"
    logdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    postgres.fresh(DATABASE)
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
        )
        seeded = subprocess.run(
            [PYTHON, __file__, "--role", "seed", "--jobs", str(args.jobs)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        session = json.loads(seeded.stdout.strip().splitlines()[-1])["session"]
        if args.profile:
            command = [PYTHON, __file__, "--role", "profile", "--jobs", str(args.jobs)]
            command += ["--webhooks", str(args.webhooks)] + (["--no-push"] if args.no_push else [])
            subprocess.run(command, env=env, check=True)
            return
        log = logdir / "uvicorn.log"
        command = [PYTHON, "-m", "uvicorn", "dashboard.asgi:application"]
        command += ["--host", "127.0.0.1"]
        command += ["--port", str(args.port), "--workers", str(args.workers), "--no-access-log"]
        # Longer than uvicorn's 5 s default: at p99 latencies of seconds, a pooled connection
        # may sit that long and the server would close it under the client's next request.
        command += ["--timeout-keep-alive", "60"]
        if args.no_deflate:
            command += ["--ws-per-message-deflate", "false"]
        stats = logdir / "server-profile.txt"
        if args.profile_server:
            args.workers = 1
            command = [PYTHON, __file__, "--role", "serve", "--port", str(args.port)]
            command += ["--stats", str(stats)] + (["--no-deflate"] if args.no_deflate else [])
        with log.open("w") as out:
            server = procs.start(command, env, stdout=out, stderr=subprocess.STDOUT)
        wait_until_up(url, server, log)
        time.sleep(1.0)  # every worker up, not only the first
        print(
            f"Webhooks against uvicorn --workers {args.workers}"
            + (" (in-process, under cProfile)" if args.profile_server else "")
            + (" without permessage-deflate" if args.no_deflate else " with permessage-deflate")
            + f" (DEBUG off, PostgreSQL "
            f"{DATABASE}, Redis channel layer prefix {prefix}, DB_CONN_MAX_AGE "
            f"{args.conn_max_age}) on {os.cpu_count()} cores; server log {log}"
        )
        verdicts = []
        if "ingest" in args.phases:
            verdicts = ingest(Run(procs, env, url, session, server.pid), args)
        deliveries = []
        if "delivery" in args.phases:
            deliveries = delivery(Run(procs, env, url, session, server.pid), args)
        if args.profile_server:
            os.kill(server.pid, signal.SIGINT)
            server.wait(timeout=120)
            print(f"\nServer profile (CPU time, one worker):\n{stats.read_text()}")
        print("\nTargets:")
        for verdict in verdicts:
            print(f"  {verdict}")
        for clients_count, p99, missed in deliveries:
            if clients_count == max(args.clients):
                met = p99 < DELIVERY_TARGET_MS and not missed
                print(
                    f"  delivery p99 < {DELIVERY_TARGET_MS:.0f} ms at {clients_count} clients, "
                    f"none missed: {p99:.0f} ms, {missed} missed {'met' if met else 'MISSED'}"
                )
        errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        if errors:
            print(f"  the server logged {len(errors)} tracebacks: see {log}")
    finally:
        procs.stop()
        forget_redis(prefix)
        if not args.keep_db:
            postgres.drop(DATABASE)


def main() -> None:
    global DATABASE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="seeded jobs the webhooks update")
    parser.add_argument(
        "--webhooks",
        type=int,
        default=100_000,
        help="signed webhooks per ingest row, at most (then sent again: cheaper duplicates)",
    )
    parser.add_argument("--warmup", type=int, default=3000, help="signed webhooks to warm up")
    parser.add_argument("--concurrency", type=int, default=48, help="wrk's connections")
    parser.add_argument("--ingest-seconds", type=float, default=10.0, help="wrk's time per row")
    parser.add_argument("--warmup-seconds", type=float, default=2.0, help="untimed wrk first")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk's threads")
    parser.add_argument(
        "--watchers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[0, 10],
        help="ingest runs: support websockets on the job list during each, comma-separated",
    )
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[500, 1000],
        help="websocket counts, comma-separated",
    )
    parser.add_argument(
        "--client-processes", type=int, default=1, help="processes the websocket clients share"
    )
    parser.add_argument(
        "--client",
        choices=["aiohttp", "websockets"],
        default="aiohttp",
        help="the clients' websocket library (aiohttp's reader is compiled: less CPU a frame)",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="delivery webhooks per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="delivery sending time")
    parser.add_argument("--grace", type=float, default=3.0, help="wait for late frames, seconds")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--conn-max-age", type=int, default=0, help="DB_CONN_MAX_AGE")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: --webhooks sequential webhooks in one process under cProfile",
    )
    parser.add_argument(
        "--no-push", action="store_true", help="with --profile: skip the push to browsers"
    )
    parser.add_argument(
        "--phases",
        type=lambda text: text.split(","),
        default=["ingest", "delivery"],
        help="which to run: ingest,delivery",
    )
    # Production serves websockets without permessage-deflate (README): so does the bench.
    parser.add_argument(
        "--deflate",
        dest="no_deflate",
        action="store_false",
        help="websockets with permessage-deflate (uvicorn's default, once per socket a frame)",
    )
    parser.add_argument("--no-deflate", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(no_deflate=True)
    parser.add_argument(
        "--profile-server",
        action="store_true",
        help="serve with one worker in-process under cProfile and print where its time went",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep {DATABASE} afterwards")
    parser.add_argument(
        "--database", default=DATABASE, help="the PostgreSQL database to build (dropped first)"
    )
    # The helper processes this script starts (not for people).
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--session", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="run", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    DATABASE = args.database  # two runs at once on one machine need a database each
    if args.role == "seed":
        seed(args.jobs)
    elif args.role == "profile":
        profile(args)
    elif args.role == "serve":
        serve_profiled(args)
    elif args.role == "clients":
        import uvloop  # uvicorn's loop: its transports cost the clients less CPU a frame too

        uvloop.run(clients(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
