"""Round-trip cost of the dashboard's LiveKit client against the in-process sandbox.

    make bench      (or: .venv/bin/python bench/livekit_client.py [--calls N] [--egresses N])

For each wire format (protobuf, json) it times sequential calls over loopback: ListRooms,
ListParticipants, ListEgress over a room holding --egresses egresses, and Start+Stop (one
StartRoomCompositeEgress followed by StopEgress). Prints p50/p95 latency and calls per second.
Each measurement stops after --calls calls or --budget seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from livekit.protocol import egress  # noqa: E402

from egress_app.livekit import LiveKitClient  # noqa: E402
from egress_app.sandbox.config import Pacing  # noqa: E402
from egress_app.sandbox.testing import RunningSandbox, fast_config, running_sandbox  # noqa: E402

FILE = egress.EncodedFileOutput(filepath="bench/{room_name}-{time}.mp4")


async def measure(
    call: Callable[[], Awaitable[object]], calls: int, budget: float
) -> tuple[list[float], float]:
    await call()  # warm the connection pool
    samples: list[float] = []
    began = time.perf_counter()
    deadline = began + budget
    while len(samples) < calls and time.perf_counter() < deadline:
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples, time.perf_counter() - began


def report(name: str, samples: list[float], elapsed: float) -> None:
    ms = sorted(sample * 1000 for sample in samples)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"  {name:<28} n={len(ms):>4}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
        f"{len(ms) / elapsed:8.1f} calls/s"
    )


async def bench_format(sandbox: RunningSandbox, wire_format: str, args: argparse.Namespace) -> None:
    sandbox.control.reset(fixture="demo", pacing=Pacing.fast(), webhook_urls=[])
    client = LiveKitClient(
        sandbox.url, sandbox.api_key, sandbox.api_secret, wire_format=wire_format
    )
    start = egress.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=[FILE])
    for _ in range(args.egresses):
        await client.start_room_composite_egress(start)

    async def start_stop() -> None:
        info = await client.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="podcast", file_outputs=[FILE])
        )
        await client.stop_egress(info.egress_id)

    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("ListRooms", client.list_rooms),
        ("ListParticipants", lambda: client.list_participants("town-hall")),
        (
            f"ListEgress ({args.egresses} egresses)",
            lambda: client.list_egress(room_name="town-hall"),
        ),
        ("Start+Stop", start_stop),
    ]
    print(f"{wire_format}:")
    for name, call in cases:
        report(name, *await measure(call, args.calls, args.budget))
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per measurement")
    parser.add_argument("--egresses", type=int, default=50, help="egresses ListEgress returns")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per measurement")
    args = parser.parse_args()
    # The sandbox logs every call and PyJWT warns about its short dev secret on every check.
    logging.getLogger("egress_app.sandbox").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The HMAC key is")
    with running_sandbox(fast_config()) as sandbox:
        print(f"LiveKit client round trips against the sandbox at {sandbox.url}")
        for wire_format in ("protobuf", "json"):
            asyncio.run(bench_format(sandbox, wire_format, args))


if __name__ == "__main__":
    main()
