"""What a person waits for on the home page: the live fragment, from LiveKit to HTML.

    make bench      (or: .venv/bin/python bench/home_page.py [--rooms N] [--participants N]
                     [--viewers 1,10,50] [--rounds N])

Against an in-process sandbox holding --rooms rooms of --participants participants each (camera
and microphone) plus --egresses active egresses, it times the server-side work of one refresh of
the live fragment (`/live/`, polled every 5 s): reading rooms, participants (concurrently) and
active egress from LiveKit, then rendering the fragment. First the anchor, one viewer reading
LiveKit itself (no shared answers): p50/p95 and refreshes per second.

Then viewers watching together: for each count in --viewers, --rounds rounds in which that many
viewers refresh at once (as a push makes every open page do), the shared answers forgotten before
each round (the worst case: every round finds none). Each count runs twice, each viewer reading
LiveKit itself and sharing the answers (`dashboard/livekit_cache.py`, LIVE_CACHE_SECONDS), and
prints the RPCs the sandbox received per round, each refresh's p50/p95 and the CPU time per
refresh (this process's: the sandbox's answers included).
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
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from livekit.protocol import egress  # noqa: E402
from timing import measure, percentile, report  # noqa: E402

from dashboard import livekit_cache  # noqa: E402
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
        return await load_overview(client, shared=False)

    async def refresh() -> str:
        return render_to_string("dashboard/home.html#live", {"overview": await load()})

    label = f"{args.rooms} rooms x {args.participants} people"
    report(f"read LiveKit ({label})", *await measure(load, args.calls, args.budget))
    report("read + render the fragment", *await measure(refresh, args.calls, args.budget))
    print(
        f"\nViewers refreshing together, {args.rounds} rounds each, the shared answers forgotten"
        f" before each round (LIVE_CACHE_SECONDS={settings.LIVE_CACHE_SECONDS}, cache"
        f" {type(livekit_cache.caches[livekit_cache.CACHE]).__name__}):"
    )
    for viewers in args.viewers:
        for shared in (False, True):
            await together(sandbox, client, viewers, shared=shared, rounds=args.rounds)
    await client.aclose()


async def together(
    sandbox: RunningSandbox, client: LiveKitClient, viewers: int, *, shared: bool, rounds: int
) -> None:
    """`rounds` rounds of `viewers` refreshing at once: RPCs per round, p50/p95 per refresh."""

    async def refresh() -> float:
        start = time.perf_counter()
        overview = await load_overview(client, shared=shared)
        render_to_string("dashboard/home.html#live", {"overview": overview})
        return time.perf_counter() - start

    samples: list[float] = []
    rpcs: list[int] = []
    cpu = 0.0
    for _ in range(rounds):
        livekit_cache.forget()
        before = sum(sandbox.control.calls.values())
        started = time.process_time()
        samples += await asyncio.gather(*(refresh() for _ in range(viewers)))
        cpu += time.process_time() - started
        rpcs.append(sum(sandbox.control.calls.values()) - before)
    ms = sorted(sample * 1000 for sample in samples)
    name = f"{viewers} viewer{'s' if viewers != 1 else ''}, {'shared' if shared else 'each reads'}"
    p50, p95 = statistics.median(ms), percentile(ms, 0.95)
    print(
        f"  {name:<28} RPCs a round {statistics.median(rpcs):6.0f}  p50 {p50:7.2f} ms"
        f"  p95 {p95:7.2f} ms  CPU {cpu * 1000 / len(ms):6.2f} ms a refresh"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--participants", type=int, default=5)
    parser.add_argument("--egresses", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200, help="refreshes per measurement")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument(
        "--viewers",
        type=lambda text: [int(count) for count in text.split(",")],
        default=[1, 10, 50],
        help="viewers refreshing together, comma-separated",
    )
    parser.add_argument("--rounds", type=int, default=20, help="rounds per viewer count")
    args = parser.parse_args()
    logging.getLogger("egress_app.sandbox").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The HMAC key is")
    with running_sandbox(fast_config()) as sandbox:
        populate(sandbox, args.rooms, args.participants)
        print(f"Home page live fragment against the sandbox at {sandbox.url}")
        asyncio.run(run(sandbox, args))


if __name__ == "__main__":
    main()
