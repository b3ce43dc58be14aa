"""The dashboard SIGKILLed and started again while LiveKit sends it 2,000 signed webhooks.

LiveKit's notifier keeps one queue per egress, sends its events in order and retries each one
(connection errors, 429, 5xx) until it is answered 2xx. Here 500 egresses each move through
STARTING -> ACTIVE -> ENDING -> COMPLETE (four webhooks with event ids of their own), sent by
concurrent senders that behave like that notifier, to one real uvicorn process on its own
database. Once a third of the webhooks are acknowledged the process is SIGKILLed (webhooks in
flight: some committed whose answer never left, some lost before their commit) and started
again on the same port; the senders carry on. Afterwards each event id is in the ledger exactly
once, every egress has one job and it is COMPLETE.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from livekit.protocol import egress, webhook

from egress_app.sandbox.webhooks import CONTENT_TYPE, encode, sign
from tests.servers import KEY, SECRET, Server, django_json, fresh_site, serving

pytestmark = pytest.mark.slow

EGRESSES = 500
STEPS = (  # (event, status) of each egress, in LiveKit's order
    ("egress_started", egress.EGRESS_STARTING),
    ("egress_updated", egress.EGRESS_ACTIVE),
    ("egress_updated", egress.EGRESS_ENDING),
    ("egress_ended", egress.EGRESS_COMPLETE),
)
WEBHOOKS = EGRESSES * len(STEPS)  # 2,000
SENDERS = 32  # webhooks in flight at once
KILL_AFTER = WEBHOOKS // 3  # acknowledged webhooks before the SIGKILL
ATTEMPTS = 200  # per webhook at most
ANSWER_TIMEOUT = 15.0  # seconds for one answer
BACKOFF, MAX_BACKOFF = 0.05, 0.5  # seconds, doubling between attempts
DEADLINE = 120.0  # seconds for the whole delivery


def egress_id(index: int) -> str:
    return f"EG_fault_{index:04}"


def event_id(index: int, step: int) -> str:
    return f"EV_fault_{index:04}_{step}"


def webhook_request(index: int, step: int, port: int, base_ns: int) -> bytes:
    """The raw HTTP request of one signed webhook, as LiveKit's notifier posts it."""
    name, status = STEPS[step]
    second = 1_000_000_000
    room = f"room-{index % 20:02}"
    path = f"recordings/{room}/{egress_id(index)}.mp4"
    info = egress.EgressInfo(
        egress_id=egress_id(index),
        room_id=f"RM_{room}",
        room_name=room,
        status=status,
        updated_at=base_ns + step * second,
        room_composite=egress.RoomCompositeEgressRequest(
            room_name=room, layout="grid", file_outputs=[egress.EncodedFileOutput(filepath=path)]
        ),
    )
    if step:
        info.started_at = base_ns + second
    if status == egress.EGRESS_COMPLETE:
        info.ended_at = base_ns + step * second
        info.file_results.add(
            filename=path, started_at=info.started_at, ended_at=info.ended_at, size=1234
        )
    event = webhook.WebhookEvent(
        event=name, id=event_id(index, step), created_at=base_ns // second, egress_info=info
    )
    body = encode(event).encode()
    head = (
        f"POST /livekit/webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: LiveKit\r\n"
        f"Authorization: {sign(body.decode(), KEY, SECRET)}\r\nContent-Type: {CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_status(reader: asyncio.StreamReader) -> tuple[int, str, bool]:
    """One HTTP/1.1 response: its status, its body and whether the connection stays open."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    status = int(head.split(" ", 2)[1])
    length = int(head.split("\r\ncontent-length:", 1)[1].split("\r\n", 1)[0])
    text = (await reader.readexactly(length)).decode()
    return status, text, "\r\nconnection: close" not in head


@dataclass
class Tally:
    """What the senders saw."""

    answers: Counter[str] = field(default_factory=Counter)  # "200 ok", "200 duplicate", ...
    failures: Counter[str] = field(default_factory=Counter)  # attempts without a 2xx, by cause
    acknowledged: int = 0
    before_kill: int = 0
    given_up: list[str] = field(default_factory=list)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    enough: asyncio.Event = field(default_factory=asyncio.Event)


class Sender:
    """One of LiveKit's delivery queues: webhooks in order, each retried until it gets a 2xx."""

    def __init__(self, port: int, tally: Tally, deadline: float) -> None:
        self.port, self.tally, self.deadline = port, tally, deadline
        self.connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send_all(self, queue: asyncio.Queue[list[tuple[str, bytes]]]) -> None:
        while not queue.empty():
            for name, request in queue.get_nowait():
                await self.deliver(name, request)
        self.hang_up()

    async def deliver(self, name: str, request: bytes) -> None:
        for attempt in range(ATTEMPTS):
            if time.monotonic() > self.deadline:
                break
            if attempt:
                await asyncio.sleep(min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF))
            try:
                status, text = await asyncio.wait_for(self.post(request), ANSWER_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                self.tally.failures[type(error).__name__] += 1
                self.hang_up()
                continue
            if 200 <= status < 300:
                self.acknowledge(f"{status} {text}")
                return
            self.tally.failures[f"HTTP {status}"] += 1
        self.tally.given_up.append(name)

    async def post(self, request: bytes) -> tuple[int, str]:
        if self.connection is None:
            self.connection = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.connection
        writer.write(request)
        await writer.drain()
        status, text, keep = await read_status(reader)
        if not keep:
            self.hang_up()
        return status, text

    def acknowledge(self, answer: str) -> None:
        self.tally.answers[answer] += 1
        self.tally.acknowledged += 1
        if not self.tally.killed.is_set():
            self.tally.before_kill += 1
        if self.tally.acknowledged >= KILL_AFTER:
            self.tally.enough.set()

    def hang_up(self) -> None:
        if self.connection is not None:
            self.connection[1].close()
            self.connection = None


async def kill_and_restart(server: Server, tally: Tally) -> None:
    await tally.enough.wait()
    server.kill()
    tally.killed.set()
    server.start()
    await asyncio.to_thread(server.wait_until_up)


async def deliver_through_a_kill(server: Server, requests: list[list[tuple[str, bytes]]]) -> Tally:
    tally = Tally()
    queue: asyncio.Queue[list[tuple[str, bytes]]] = asyncio.Queue()
    for egress_requests in requests:
        queue.put_nowait(egress_requests)
    deadline = time.monotonic() + DEADLINE
    killer = asyncio.create_task(kill_and_restart(server, tally))
    senders = [Sender(server.port, tally, deadline).send_all(queue) for _ in range(SENDERS)]
    await asyncio.gather(*senders)
    if not killer.done():  # every webhook answered before the kill: a failure shown below
        killer.cancel()
    else:
        await killer
    return tally


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # The suite's Redis channel layer when it has one (under a prefix of its own); the
    # in-memory layer otherwise.
    extra = {}
    if redis_url := os.environ.get("REDIS_URL"):
        extra = {"REDIS_URL": redis_url, "REDIS_PREFIX": f"egress-faults-{os.getpid()}"}
    with fresh_site(tmp_path, **extra) as env:
        running = Server(env, tmp_path / "server.log")
        with serving(running):
            yield running


LEDGER_AND_JOBS = """
import json
from collections import Counter
from egress_app.models import EgressJob, LedgerEntry
entries = LedgerEntry.objects.filter(event_id__startswith="EV_fault_")
print(json.dumps({
    "event_ids": list(entries.values_list("event_id", flat=True)),
    "outcomes": Counter(entries.values_list("outcome", flat=True)),
    "jobs": list(EgressJob.objects.values_list("egress_id", "status", "launch_state")),
}))
"""


def test_it_records_every_webhook_once_through_a_sigkill_and_restart(server: Server) -> None:
    base_ns = time.time_ns() - 600 * 1_000_000_000
    requests = [
        [
            (event_id(index, step), webhook_request(index, step, server.port, base_ns))
            for step in range(len(STEPS))
        ]
        for index in range(EGRESSES)
    ]

    tally = asyncio.run(deliver_through_a_kill(server, requests))

    print(f"senders saw: {dict(tally.answers)}; failed attempts: {dict(tally.failures)}")
    assert tally.killed.is_set(), "the server was never killed"
    assert server.runs == 2
    assert tally.given_up == []
    assert tally.acknowledged == WEBHOOKS
    # The kill came partway: answers before it, attempts cut by it, answers after the restart.
    assert 0 < tally.before_kill < WEBHOOKS
    assert sum(tally.failures.values()) > 0
    assert set(tally.answers) <= {"200 ok", "200 duplicate"}

    found = django_json(server.env, LEDGER_AND_JOBS)
    sent = [name for egress_requests in requests for name, _ in egress_requests]
    assert sorted(found["event_ids"]) == sorted(sent)  # each once: none lost, none twice
    assert found["outcomes"] == {"applied": WEBHOOKS}  # in order: none stale, none pending
    jobs = found["jobs"]
    assert len(jobs) == EGRESSES  # no duplicate job, no half-made one
    assert sorted(job[0] for job in jobs) == [egress_id(index) for index in range(EGRESSES)]
    assert {(status, state) for _, status, state in jobs} == {("EGRESS_COMPLETE", "launched")}
