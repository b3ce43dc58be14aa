"""HTTP control API for changing a running sandbox (`/sandbox/...`), for `make run` and scripts.

Authenticated like the Twirp services, with a token carrying the `roomAdmin` grant. Bodies and
answers are JSON; protos are rendered with their proto field names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from egress_app.sandbox.asgi import Receive, Scope, Send, read_body, send_bytes, send_text
from egress_app.sandbox.auth import AuthError, authenticate
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.world import STANDARD, WorldError, WorldNotFound

PREFIX = "/sandbox"
Payload = dict[str, Any]
Action = Callable[[Sandbox, dict[str, str], Payload], Awaitable[Any]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _proto(message: Message) -> Payload:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


async def _state(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return {
        "rooms": [
            {**_proto(s.room), "participants": [_proto(p) for p in s.participants.values()]}
            for s in sandbox.world.rooms.values()
        ],
        "egresses": [_proto(info) for info in sandbox.egresses.infos()],
        "webhook_urls": sandbox.webhooks.urls,
        "pacing": vars(sandbox.config.pacing),
        "audio": vars(sandbox.config.audio),
    }


async def _data(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return {"data": [record.as_json() for record in sandbox.data.records]}


async def _calls(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return dict(sandbox.calls)


async def _add_room(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return _proto(sandbox.world.create_room(_required(body, "name")))


async def _delete_room(sandbox: Sandbox, args: dict[str, str], body: Payload) -> None:
    sandbox.world.delete_room(args["room"])


async def _add_participant(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    participant = sandbox.world.add_participant(
        args["room"],
        _required(body, "identity"),
        name=str(body.get("name", "")),
        tracks=tuple(body.get("tracks", ("camera", "microphone"))),
        kind=int(body.get("kind", STANDARD)),
    )
    return _proto(participant)


async def _remove_participant(sandbox: Sandbox, args: dict[str, str], body: Payload) -> None:
    sandbox.world.remove_participant(args["room"], args["identity"])


async def _publish(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return _proto(
        sandbox.world.publish_track(args["room"], args["identity"], _required(body, "source"))
    )


async def _unpublish(sandbox: Sandbox, args: dict[str, str], body: Payload) -> None:
    sandbox.world.unpublish_track(args["room"], args["sid"])


async def _mute(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    return _proto(
        sandbox.world.set_track_muted(args["room"], args["sid"], bool(body.get("muted", True)))
    )


async def _stall(sandbox: Sandbox, args: dict[str, str], body: Payload) -> None:
    sandbox.egresses.set_track_stalled(args["room"], args["sid"], bool(body.get("stalled", True)))


async def _audio(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    try:
        sandbox.config.audio = sandbox.config.audio.updated(**body)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from exc
    return vars(sandbox.config.audio)


async def _reset(sandbox: Sandbox, args: dict[str, str], body: Payload) -> None:
    await sandbox.reset(fixture=body.get("fixture"))


async def _pacing(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    try:
        sandbox.config.pacing = sandbox.config.pacing.updated(**body)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from exc
    return vars(sandbox.config.pacing)


async def _webhooks(sandbox: Sandbox, args: dict[str, str], body: Payload) -> Payload:
    sandbox.webhooks.urls = [str(url) for url in body.get("urls", [])]
    return {"urls": sandbox.webhooks.urls}


def _required(body: Payload, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{key} is required")
    return value


_SEGMENT = r"(?P<{}>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Action]] = [
    (
        method,
        re.compile(
            "^"
            + pattern.format(
                room=_SEGMENT.format("room"),
                identity=_SEGMENT.format("identity"),
                sid=_SEGMENT.format("sid"),
            )
            + "$"
        ),
        action,
    )
    for method, pattern, action in [
        ("GET", "/state", _state),
        ("GET", "/data", _data),
        ("GET", "/calls", _calls),
        ("POST", "/reset", _reset),
        ("POST", "/pacing", _pacing),
        ("POST", "/audio", _audio),
        ("POST", "/webhooks", _webhooks),
        ("POST", "/rooms", _add_room),
        ("DELETE", "/rooms/{room}", _delete_room),
        ("POST", "/rooms/{room}/participants", _add_participant),
        ("DELETE", "/rooms/{room}/participants/{identity}", _remove_participant),
        ("POST", "/rooms/{room}/participants/{identity}/tracks", _publish),
        ("DELETE", "/rooms/{room}/tracks/{sid}", _unpublish),
        ("POST", "/rooms/{room}/tracks/{sid}/mute", _mute),
        ("POST", "/rooms/{room}/tracks/{sid}/stall", _stall),
    ]
]


class ControlAPI:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            grants = authenticate(
                scope, self.sandbox.config.api_key, self.sandbox.config.api_secret
            )
        except AuthError as exc:
            await send_text(send, 401, str(exc))
            return
        try:
            if not grants.video.get("roomAdmin"):
                raise ControlError(401, "permissions denied")
            action, args = self._route(scope["method"], scope["path"].removeprefix(PREFIX))
            result = await action(self.sandbox, args, _json(await read_body(receive)))
        except ControlError as exc:
            await _send_json(send, exc.status, {"error": str(exc)})
        except WorldNotFound as exc:
            await _send_json(send, 404, {"error": str(exc)})
        except WorldError as exc:
            await _send_json(send, 400, {"error": str(exc)})
        else:
            await _send_json(send, 200, result if result is not None else {})

    @staticmethod
    def _route(method: str, path: str) -> tuple[Action, dict[str, str]]:
        allowed = False
        for route_method, pattern, action in ROUTES:
            match = pattern.match(path)
            if match:
                if route_method == method:
                    return action, match.groupdict()
                allowed = True
        raise ControlError(405 if allowed else 404, f"no route for {method} {PREFIX}{path}")


def _json(body: bytes) -> Payload:
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ControlError(400, "the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise ControlError(400, "the body must be a JSON object")
    return payload


async def _send_json(send: Send, status: int, payload: Any) -> None:
    await send_bytes(send, status, json.dumps(payload).encode(), "application/json")
