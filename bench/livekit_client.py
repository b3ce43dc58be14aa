"""Our LiveKit client beside LiveKit's official Python SDK, against one sandbox in its own process.

    make bench      (or: .venv/bin/python bench/livekit_client.py [--rounds N] [--calls N])

Starts `manage.py livekit_sandbox` on a free loopback port (demo fixture, no webhooks, logging
only warnings: its log goes nowhere here), seeds
--egresses egresses in one room, then times sequential protobuf calls of our `LiveKitClient` and of
`livekit.api.LiveKitAPI` (aiohttp) for ListRooms, ListParticipants, ListEgress (all the seeded
egresses) and Start+Stop (StartRoomCompositeEgress then StopEgress). The two sides take turns:
--rounds rounds of --calls calls each (the first to go alternates), so a change in the machine's
load hits both alike. Per round it prints each side's calls/s, p50/p95 and client CPU per call
(this process's CPU time: the sandbox runs elsewhere); per call, the ratio ours/SDK of calls/s
as the median over the rounds, how many times more CPU the SDK spends a call, and the sandbox's
CPU a call while each side ran (its threads' run time, from Linux's /proc). The SDK is the
anchor: only the ratio measured beside it counts.

`--profile N` instead runs N calls of one kind (`--call`, ListRooms unless told) by one side
(`--side`, ours unless told) under cProfile (CPU-time clock), prints where this process's CPU
goes and the sandbox's CPU a call meanwhile.
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
    sandbox_ns: int  # the sandbox's CPU time over the round (0 where Linux's /proc is not)
    calls: int


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


@dataclass(frozen=True)
class Sandbox:
    url: str
    pid: int

    def cpu_ns(self) -> int:
        """Nanoseconds the sandbox's threads have run on a CPU (0 without /proc)."""
        total = 0
        try:
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0
        return total


@contextmanager
def sandbox_process(secret: str) -> Iterator[Sandbox]:
    """`manage.py livekit_sandbox` on a free port, until the block ends."""
    port = free_port()
    env = os.environ | {"LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": secret}
    child = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "livekit_sandbox", "--host", "127.0.0.1"),
            *("--port", str(port), "--no-webhooks", "--pacing", "0.05", "--fixture", "demo"),
            *("--log-level", "warning"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, child)
        yield Sandbox(f"http://127.0.0.1:{port}", child.pid)
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


async def timed(call: Call, calls: int, sandbox: Sandbox) -> Sample:
    samples: list[float] = []
    served = sandbox.cpu_ns()
    cpu = time.process_time()
    began = time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    served = sandbox.cpu_ns() - served
    ms = sorted(sample * 1000 for sample in samples)
    return Sample(
        calls / elapsed,
        statistics.median(ms),
        percentile(ms, 0.95),
        cpu * 1000 / calls,
        served,
        calls,
    )


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


async def run(sandbox: Sandbox, secret: str, args: argparse.Namespace) -> None:
    ours, sdk = await seeded_clients(sandbox, secret, args.egresses)
    try:
        for case in cases(ours, sdk, args.egresses):
            await measure_case(case, sandbox, args)
            summarise(case)
    finally:
        await ours.aclose()
        await sdk.aclose()


async def seeded_clients(
    sandbox: Sandbox, secret: str, egresses: int
) -> tuple[LiveKitClient, api.LiveKitAPI]:
    ours = LiveKitClient(sandbox.url, KEY, secret)
    sdk = api.LiveKitAPI(sandbox.url, KEY, secret)
    start = egress.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=[FILE])
    for _ in range(egresses):
        await ours.start_room_composite_egress(start)
    listed = await sdk.egress.list_egress(egress.ListEgressRequest(room_name="town-hall"))
    assert len(listed.items) == egresses, len(listed.items)
    return ours, sdk


async def profile(sandbox: Sandbox, secret: str, args: argparse.Namespace) -> None:
    ours, sdk = await seeded_clients(sandbox, secret, args.egresses)
    case = next(c for c in cases(ours, sdk, args.egresses) if c.name.startswith(args.call))
    call = case.ours if args.side == "ours" else case.sdk
    for _ in range(args.warmup):
        await call()
    profiler = cProfile.Profile(time.process_time)
    served = sandbox.cpu_ns()
    cpu = time.process_time()
    profiler.enable()
    for _ in range(args.profile):
        await call()
    profiler.disable()
    cpu = time.process_time() - cpu
    served = sandbox.cpu_ns() - served
    await ours.aclose()
    await sdk.aclose()
    print(
        f"{args.profile} {case.name} by {args.side}: {cpu * 1000 / args.profile:.3f} ms of CPU"
        f" a call (profiled); the sandbox's {served / 1e6 / args.profile:.3f} ms"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


async def measure_case(case: Case, sandbox: Sandbox, args: argparse.Namespace) -> None:
    sides = {"ours": case.ours, "SDK": case.sdk}
    for call in sides.values():
        for _ in range(args.warmup):
            await call()
    print(f"{case.name}:")
    for number in range(args.rounds):
        order = ["ours", "SDK"] if number % 2 == 0 else ["SDK", "ours"]
        line = [f"  round {number + 1}"]
        for side in order:
            sample = await timed(sides[side], args.calls, sandbox)
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

    def served(samples: list[Sample]) -> float:
        # Summed over the rounds: one round's few milliseconds are too few to read alone.
        return sum(s.sandbox_ns for s in samples) / 1e6 / sum(s.calls for s in samples)

    print(
        f"  => ours {median(ours, 'calls_per_s'):.0f}/s (cpu {median(ours, 'cpu_ms'):.2f} ms),"
        f" SDK {median(sdk, 'calls_per_s'):.0f}/s (cpu {median(sdk, 'cpu_ms'):.2f} ms),"
        f" ours/SDK {statistics.median(ratios):.2f}x"
        f" (rounds {min(ratios):.2f}-{max(ratios):.2f});"
        f" CPU a call SDK/ours {median(sdk, 'cpu_ms') / median(ours, 'cpu_ms'):.2f}x;"
        f" sandbox CPU a call {served(ours):.2f} ms for ours, {served(sdk):.2f} ms for the SDK"
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
    parser.add_argument("--profile", type=int, metavar="N", help="profile N calls of one side")
    parser.add_argument(
        "--call",
        choices=["ListRooms", "ListParticipants", "ListEgress", "Start+Stop"],
        default="ListRooms",
        help="what --profile calls",
    )
    parser.add_argument(
        "--side", choices=["ours", "sdk"], default="ours", help="who --profile runs"
    )
    args = parser.parse_args()
    # PyJWT warns about short HMAC keys; the secret here is long, but keep the output clean.
    warnings.filterwarnings("ignore", message="The HMAC key is")
    logging.getLogger("livekit").setLevel(logging.ERROR)
    secret = secrets.token_urlsafe(32)
    with sandbox_process(secret) as sandbox:
        print(
            f"Our LiveKit client vs livekit-api {api.__version__} against the sandbox at"
            f" {sandbox.url}"
        )
        if args.profile:
            asyncio.run(profile(sandbox, secret, args))
            return
        print(f"before: {load()}")
        asyncio.run(run(sandbox, secret, args))
        print(f"after:  {load()}")


if __name__ == "__main__":
    main()
