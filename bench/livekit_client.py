"""Our LiveKit client beside LiveKit's official Python SDK, against one sandbox in its own process.

    make bench      (or: .venv/bin/python bench/livekit_client.py [--rounds N] [--calls N])

Starts `manage.py livekit_sandbox` on a free loopback port (demo fixture, no webhooks), seeds
--egresses egresses in one room, then times sequential protobuf calls of our `LiveKitClient` and of
`livekit.api.LiveKitAPI` (aiohttp) for ListRooms, ListParticipants, ListEgress (all the seeded
egresses) and Start+Stop (StartRoomCompositeEgress then StopEgress). The two sides take turns:
--rounds rounds of --calls calls each (the first to go alternates), so a change in the machine's
load hits both alike. Per round it prints each side's calls/s, p50/p95 and client CPU per call
(this process's CPU time: the sandbox runs elsewhere); per call, the ratio ours/SDK of calls/s
as the median over the rounds, and how many times more CPU the SDK spends a call. The SDK is
the anchor: only the ratio measured beside it counts.

`--profile N` instead runs N ListRooms of our client under cProfile (CPU-time clock) and prints
where its CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import secrets
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from livekit import api  # noqa: E402
from livekit.protocol import egress, room  # noqa: E402
from timing import percentile  # noqa: E402

from egress_app.livekit import LiveKitClient  # noqa: E402

KEY = "bench-key"
FILE = egress.EncodedFileOutput(filepath="bench/{room_name}-{time}.mp4")
STARTUP = 30.0

Call = Callable[[], Awaitable[object]]


@dataclass
class Sample:
    calls_per_s: float
    p50_ms: float
    p95_ms: float
    cpu_ms: float  # this process's CPU time per call


@dataclass
class Case:
    name: str
    ours: Call
    sdk: Call
    rounds: dict[str, list[Sample]] = field(default_factory=lambda: {"ours": [], "SDK": []})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(secret: str) -> Iterator[str]:
    """`manage.py livekit_sandbox` on a free port: its URL until the block ends."""
    port = free_port()
    env = os.environ | {"LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": secret}
    child = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "livekit_sandbox", "--host", "127.0.0.1"),
            *("--port", str(port), "--no-webhooks", "--pacing", "0.05", "--fixture", "demo"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, child)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_for(port: int, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"the sandbox exited ({child.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the sandbox did not listen on {port} within {STARTUP:g} s")


async def timed(call: Call, calls: int) -> Sample:
    samples: list[float] = []
    cpu = time.process_time()
    began = time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    ms = sorted(sample * 1000 for sample in samples)
    return Sample(calls / elapsed, statistics.median(ms), percentile(ms, 0.95), cpu * 1000 / calls)


def cases(ours: LiveKitClient, sdk: api.LiveKitAPI, egresses: int) -> list[Case]:
    async def ours_start_stop() -> None:
        info = await ours.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="podcast", file_outputs=[FILE])
        )
        await ours.stop_egress(info.egress_id)

    async def sdk_start_stop() -> None:
        info = await sdk.egress.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="podcast", file_outputs=[FILE])
        )
        await sdk.egress.stop_egress(egress.StopEgressRequest(egress_id=info.egress_id))

    return [
        Case("ListRooms", ours.list_rooms, lambda: sdk.room.list_rooms(room.ListRoomsRequest())),
        Case(
            "ListParticipants",
            lambda: ours.list_participants("town-hall"),
            lambda: sdk.room.list_participants(room.ListParticipantsRequest(room="town-hall")),
        ),
        Case(
            f"ListEgress ({egresses} egresses)",
            lambda: ours.list_egress(room_name="town-hall"),
            lambda: sdk.egress.list_egress(egress.ListEgressRequest(room_name="town-hall")),
        ),
        Case("Start+Stop", ours_start_stop, sdk_start_stop),
    ]


async def run(url: str, secret: str, args: argparse.Namespace) -> None:
    ours = LiveKitClient(url, KEY, secret)
    sdk = api.LiveKitAPI(url, KEY, secret)
    start = egress.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=[FILE])
    for _ in range(args.egresses):
        await ours.start_room_composite_egress(start)
    listed = await sdk.egress.list_egress(egress.ListEgressRequest(room_name="town-hall"))
    assert len(listed.items) == args.egresses, len(listed.items)
    try:
        for case in cases(ours, sdk, args.egresses):
            await measure_case(case, args)
            summarise(case)
    finally:
        await ours.aclose()
        await sdk.aclose()


async def profile(url: str, secret: str, calls: int) -> None:
    ours = LiveKitClient(url, KEY, secret)
    for _ in range(20):
        await ours.list_rooms()
    profiler = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    profiler.enable()
    for _ in range(calls):
        await ours.list_rooms()
    profiler.disable()
    cpu = time.process_time() - cpu
    await ours.aclose()
    print(f"{calls} ListRooms: {cpu * 1000 / calls:.3f} ms of CPU a call (profiled)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


async def measure_case(case: Case, args: argparse.Namespace) -> None:
    sides = {"ours": case.ours, "SDK": case.sdk}
    for call in sides.values():
        for _ in range(args.warmup):
            await call()
    print(f"{case.name}:")
    for number in range(args.rounds):
        order = ["ours", "SDK"] if number % 2 == 0 else ["SDK", "ours"]
        line = [f"  round {number + 1}"]
        for side in order:
            sample = await timed(sides[side], args.calls)
            case.rounds[side].append(sample)
            line.append(
                f"{side:>4} {sample.calls_per_s:6.0f}/s p50 {sample.p50_ms:5.2f}"
                f" p95 {sample.p95_ms:5.2f} ms cpu {sample.cpu_ms:4.2f} ms"
            )
        print("  ".join(line))


def summarise(case: Case) -> None:
    ours, sdk = case.rounds["ours"], case.rounds["SDK"]
    ratios = [o.calls_per_s / s.calls_per_s for o, s in zip(ours, sdk, strict=True)]

    def median(samples: list[Sample], name: str) -> float:
        return statistics.median(getattr(sample, name) for sample in samples)

    print(
        f"  => ours {median(ours, 'calls_per_s'):.0f}/s (cpu {median(ours, 'cpu_ms'):.2f} ms),"
        f" SDK {median(sdk, 'calls_per_s'):.0f}/s (cpu {median(sdk, 'cpu_ms'):.2f} ms),"
        f" ours/SDK {statistics.median(ratios):.2f}x"
        f" (rounds {min(ratios):.2f}-{max(ratios):.2f});"
        f" CPU a call SDK/ours {median(sdk, 'cpu_ms') / median(ours, 'cpu_ms'):.2f}x"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds per call and side")
    parser.add_argument("--calls", type=int, default=50, help="calls per round")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per side first")
    parser.add_argument("--egresses", type=int, default=50, help="egresses ListEgress returns")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N of our ListRooms")
    args = parser.parse_args()
    # PyJWT warns about short HMAC keys; the secret here is long, but keep the output clean.
    warnings.filterwarnings("ignore", message="The HMAC key is")
    logging.getLogger("livekit").setLevel(logging.ERROR)
    secret = secrets.token_urlsafe(32)
    with sandbox_process(secret) as url:
        print(f"Our LiveKit client vs livekit-api {api.__version__} against the sandbox at {url}")
        if args.profile:
            asyncio.run(profile(url, secret, args.profile))
            return
        print(f"before: {load()}")
        asyncio.run(run(url, secret, args))
        print(f"after:  {load()}")


if __name__ == "__main__":
    main()
