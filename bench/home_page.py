"""What a person waits for on the home page: the live fragment, from LiveKit to HTML.

    make bench      (or: .venv/bin/python bench/home_page.py [--rooms N] [--participants N])

Against an in-process sandbox holding --rooms rooms of --participants participants each (camera
and microphone) plus --egresses active egresses, it times the server-side work of one refresh of
the live fragment (`/live/`, polled every 5 s): reading rooms, participants (concurrently) and
active egress from LiveKit, then rendering the fragment. Prints p50/p95 and refreshes per second.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import warnings
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from django.template.loader import render_to_string  # noqa: E402
from livekit.protocol import egress  # noqa: E402
from timing import measure, report  # noqa: E402

from dashboard.overview import load_overview  # noqa: E402
from egress_app.livekit import LiveKitClient  # noqa: E402
from egress_app.sandbox.config import Pacing  # noqa: E402
from egress_app.sandbox.testing import RunningSandbox, fast_config, running_sandbox  # noqa: E402


def populate(sandbox: RunningSandbox, rooms: int, participants: int) -> None:
    sandbox.control.reset(fixture="empty", pacing=Pacing.fast(), webhook_urls=[])
    for r in range(rooms):
        room = f"room-{r:03}"
        sandbox.control.add_room(room)
        for p in range(participants):
            sandbox.control.add_participant(room, f"guest-{r}-{p}")


async def run(sandbox: RunningSandbox, args: argparse.Namespace) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)
    recording = egress.EncodedFileOutput(filepath="bench/{room_name}.mp4")
    for r in range(args.egresses):
        request = egress.RoomCompositeEgressRequest(
            room_name=f"room-{r % args.rooms:03}", file_outputs=[recording]
        )
        await client.start_room_composite_egress(request)

    async def load() -> object:
        return await load_overview(client)

    async def refresh() -> str:
        return render_to_string("dashboard/home.html#live", {"overview": await load()})

    label = f"{args.rooms} rooms x {args.participants} people"
    report(f"read LiveKit ({label})", *await measure(load, args.calls, args.budget))
    report("read + render the fragment", *await measure(refresh, args.calls, args.budget))
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--participants", type=int, default=5)
    parser.add_argument("--egresses", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200, help="refreshes per measurement")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement")
    args = parser.parse_args()
    logging.getLogger("egress_app.sandbox").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The HMAC key is")
    with running_sandbox(fast_config()) as sandbox:
        populate(sandbox, args.rooms, args.participants)
        print(f"Home page live fragment against the sandbox at {sandbox.url}")
        asyncio.run(run(sandbox, args))


if __name__ == "__main__":
    main()
