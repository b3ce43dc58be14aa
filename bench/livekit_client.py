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
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from livekit.protocol import egress  # noqa: E402
from timing import measure, report  # noqa: E402

from egress_app.livekit import LiveKitClient  # noqa: E402
from egress_app.sandbox.config import Pacing  # noqa: E402
from egress_app.sandbox.testing import RunningSandbox, fast_config, running_sandbox  # noqa: E402

FILE = egress.EncodedFileOutput(filepath="bench/{room_name}-{time}.mp4")


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
