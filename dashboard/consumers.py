"""The live websocket: a thin relay of the fragments actions publish (egress_app/events.py).

A page opens `/ws/live/?view=jobs|job|home` (htmx's ws extension). The consumer checks the user
may see that view, joins its groups, sends a snapshot (the page's live part as it is now, so a
reconnect never misses what happened while it was away) and then forwards pushes as they come.
No writes and no LiveKit calls here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import fanout
from dashboard.subscriptions import Subscription, subscribe
from egress_app.events import PERSON, Fragment, group


class LiveConsumer(AsyncWebsocketConsumer):
    # Its groups' messages come from the process's fan-out (dashboard.fanout), which follows
    # each group once for all its sockets. Channels still makes the consumer a channel of its
    # own, unused: subscribing it at connect also has the Redis layer reconnect and subscribe
    # again to every group after Redis restarted, before this socket counts on them.
    joined: list[str]
    plan: Subscription | None = None
    held: list[dict[str, Any]] | None  # pushes that came before the snapshot went out
    push: fanout.Send

    async def connect(self) -> None:
        self.joined, self.held = [], []
        # Pushes go straight to the server (see fanout.ServerSend); the rest through channels.
        self.push = self.scope.get(fanout.SERVER_SEND, self.base_send)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        params = {name: values[-1] for name, values in query.items()}
        plan: Subscription | None = await database_sync_to_async(subscribe)(
            self.scope.get("user"), params
        )
        if plan is None:
            # Refused before the handshake completes: the browser sees a 403 and stays on polling.
            await self.close()
            return
        # The person's own group too: deactivating them closes this socket (`live_signed_out`).
        names = [*plan.groups, group(PERSON, self.scope["user"].pk)]
        for name in names:
            self.joined.append(name)  # before: a socket closed meanwhile still leaves it
            await fanout.follow(name, self)
        self.plan = plan
        # Rendered once joined: whatever changes from now on also comes as a push.
        snapshot = await database_sync_to_async(plan.snapshot)()
        await self.accept()
        await self.send(text_data=snapshot)
        while self.held:  # those that came meanwhile, after it and in order
            await self.forward(self.held.pop(0))
        self.held = None

    async def disconnect(self, code: int) -> None:
        await self.leave()

    async def leave(self) -> None:
        joined, self.joined = self.joined, []
        for name in joined:
            await fanout.unfollow(name, self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page has nothing to say: whatever it sends is ignored."""

    async def relay(self, message: dict[str, Any]) -> None:
        """A message to one of its groups, from the process's fan-out."""
        if self.held is not None:  # the snapshot is not out yet
            self.held.append(message)
            return
        await self.forward(message)

    async def forward(self, message: dict[str, Any]) -> None:
        # A fragment touches no database: not through channels' dispatch, whose connection
        # cleanup is a hop to the sync thread per frame (the main cost of a push to many sockets).
        if message["type"] == Fragment.type:
            await self.live_fragment(message)
            return
        await self.dispatch(message)

    async def live_fragment(self, message: dict[str, Any]) -> None:
        if "withheld" in message and not (self.plan and self.plan.sees_ended(message["owner"])):
            # The job ended and is not theirs: its page is now a 404 for them, so no more of it
            # (its outcome included). A normal close: htmx's ws extension does not reconnect.
            self.held = []  # pushes relayed meanwhile are held, never sent
            await self.send(text_data=message["withheld"])
            await self.leave()
            await self.close()
            return
        await self.push({"type": "websocket.send", "text": message["html"]})

    async def live_signed_out(self, message: dict[str, Any]) -> None:
        """The person was deactivated: stop relaying at once (their session is gone, so a
        reconnect is refused and the page's polling meets the sign-in page)."""
        self.held = []  # pushes relayed meanwhile are held, never sent
        await self.leave()
        await self.close()
