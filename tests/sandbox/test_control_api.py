"""The HTTP control API (`/sandbox/...`) and the management command's options."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.core.management.base import CommandError

from egress_app.management.commands.livekit_sandbox import Command
from egress_app.sandbox.config import Pacing
from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import token


def _call(
    sandbox: RunningSandbox, method: str, path: str, body: Any = None, **grants: Any
) -> httpx.Response:
    jwt = token(sandbox, **(grants or {"room_admin": True}))
    return httpx.request(
        method,
        f"{sandbox.url}/sandbox{path}",
        json=body,
        headers={"Authorization": f"Bearer {jwt}"},
    )


def test_it_shows_the_state(sandbox: RunningSandbox) -> None:
    state = _call(sandbox, "GET", "/state").json()

    assert [r["name"] for r in state["rooms"]] == ["town-hall", "podcast", "empty-room"]
    alice = state["rooms"][0]["participants"][0]
    assert alice["identity"] == "alice"
    assert alice["tracks"][0]["sid"].startswith("TR_")
    assert state["egresses"] == []
    assert state["webhook_urls"] == []
    assert state["pacing"]["starting"] == Pacing.fast().starting


def test_it_changes_the_world(sandbox: RunningSandbox) -> None:
    room = _call(sandbox, "POST", "/rooms", {"name": "studio"}).json()
    joined = _call(
        sandbox,
        "POST",
        "/rooms/studio/participants",
        {"identity": "zoe", "name": "Zoe", "tracks": ["microphone"]},
    ).json()
    mic = joined["tracks"][0]["sid"]
    screen = _call(
        sandbox, "POST", "/rooms/studio/participants/zoe/tracks", {"source": "screen_share"}
    ).json()
    muted = _call(sandbox, "POST", f"/rooms/studio/tracks/{mic}/mute", {"muted": True}).json()

    assert room["sid"].startswith("RM_")
    assert joined["name"] == "Zoe"
    assert screen["source"] == "SCREEN_SHARE"
    assert muted["muted"] is True
    assert _call(sandbox, "DELETE", f"/rooms/studio/tracks/{screen['sid']}").status_code == 200
    assert _call(sandbox, "DELETE", "/rooms/studio/participants/zoe").status_code == 200
    assert sandbox.control.participants("studio") == []
    assert _call(sandbox, "DELETE", "/rooms/studio").status_code == 200
    assert "studio" not in [r.name for r in sandbox.control.rooms()]


def test_it_sets_pacing_webhooks_and_resets(sandbox: RunningSandbox) -> None:
    pacing = _call(sandbox, "POST", "/pacing", {"starting": 0.5}).json()
    hooks = _call(sandbox, "POST", "/webhooks", {"urls": ["http://127.0.0.1:1/hook"]}).json()
    bad_key = _call(sandbox, "POST", "/pacing", {"sideways": 1})

    assert pacing["starting"] == 0.5
    assert hooks == {"urls": ["http://127.0.0.1:1/hook"]}
    assert bad_key.status_code == 400
    assert _call(sandbox, "POST", "/reset", {"fixture": "empty"}).status_code == 200
    assert sandbox.control.rooms() == []


def test_it_sets_the_websocket_audio_until_reset(sandbox: RunningSandbox) -> None:
    before = _call(sandbox, "GET", "/state").json()["audio"]
    audio = _call(sandbox, "POST", "/audio", {"source": "tone", "ping_interval": 5}).json()
    anonymous = httpx.post(f"{sandbox.url}/sandbox/audio", json={"source": "tone"})
    recorder = _call(sandbox, "POST", "/audio", {"source": "tone"}, room_record=True)
    _call(sandbox, "POST", "/reset")

    assert before == {
        "source": "speech",
        "frame_seconds": 0.01,
        "ping_interval": 30.0,
        "inactive_after": 2.0,
    }
    assert (audio["source"], audio["ping_interval"]) == ("tone", 5.0)
    assert anonymous.status_code == recorder.status_code == 401
    assert _call(sandbox, "GET", "/state").json()["audio"] == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/rooms/ghost/participants", {"identity": "x"}, 404),
        ("POST", "/rooms/town-hall/participants", {"identity": "alice"}, 400),
        ("POST", "/rooms/town-hall/participants", {"identity": "y", "tracks": ["lasers"]}, 400),
        ("POST", "/rooms/town-hall/participants", {}, 400),
        ("DELETE", "/rooms/town-hall/participants/nobody", None, 404),
        ("POST", "/rooms/town-hall/tracks/TR_nope/mute", {"muted": True}, 404),
        ("POST", "/rooms/town-hall/tracks/TR_nope/stall", {"stalled": True}, 404),
        ("POST", "/audio", {"source": "music"}, 400),
        ("POST", "/audio", {"frame_seconds": 0}, 400),
        ("POST", "/audio", {"frame_seconds": 0.00001}, 400),
        ("POST", "/audio", {"ping_interval": "soon"}, 400),
        ("POST", "/audio", {"loudness": 11}, 400),
        ("GET", "/rooms", None, 405),
        ("GET", "/nowhere", None, 404),
    ],
)
def test_it_explains_bad_requests(
    sandbox: RunningSandbox, method: str, path: str, body: Any, status: int
) -> None:
    response = _call(sandbox, method, path, body)

    assert response.status_code == status
    assert response.json()["error"]


def test_it_needs_a_room_admin_token(sandbox: RunningSandbox) -> None:
    anonymous = httpx.get(f"{sandbox.url}/sandbox/state")
    recorder = _call(sandbox, "GET", "/state", room_record=True)
    garbage = httpx.get(f"{sandbox.url}/sandbox/state", headers={"Authorization": "Bearer x"})

    assert anonymous.status_code == recorder.status_code == garbage.status_code == 401
    assert garbage.text == "invalid authorization token"


def test_it_reads_webhook_urls_from_options(settings: Any) -> None:
    settings.SANDBOX_WEBHOOK_URL = "http://127.0.0.1:8000/livekit/webhook"
    base = {"no_webhooks": False, "webhook_urls": None}

    assert Command._webhook_urls(base) == ["http://127.0.0.1:8000/livekit/webhook"]
    assert Command._webhook_urls({**base, "webhook_urls": ["http://a", "http://b"]}) == [
        "http://a",
        "http://b",
    ]
    assert Command._webhook_urls({**base, "no_webhooks": True}) == []


def _options(*args: str) -> dict[str, Any]:
    return vars(Command().create_parser("manage.py", "livekit_sandbox").parse_args(args))


def test_it_configures_the_audio_from_the_command_line() -> None:
    default = Command.sandbox_config(_options()).audio
    assert (default.source, default.frame_seconds, default.ping_interval) == ("speech", 0.01, 30.0)

    audio = Command.sandbox_config(
        _options("--audio-source", "tone", "--message-ms", "20", "--ping-interval", "0.5")
    ).audio

    assert (audio.source, audio.frame_seconds, audio.ping_interval) == ("tone", 0.02, 0.5)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--message-ms", "0"], "--message-ms must be between 1 and 1000"),
        (["--message-ms", "1001"], "--message-ms must be between 1 and 1000"),
        (["--ping-interval", "0"], "--ping-interval must be a positive number of seconds"),
    ],
)
def test_it_refuses_audio_options_egress_could_not_have(args: list[str], error: str) -> None:
    with pytest.raises(CommandError, match=error):
        Command.sandbox_config(_options(*args))


def test_it_counts_the_twirp_requests_it_receives(sandbox: RunningSandbox) -> None:
    jwt = token(sandbox, room_list=True)
    for _ in range(2):
        httpx.post(
            f"{sandbox.url}/twirp/livekit.RoomService/ListRooms",
            content=b"",
            headers={"Authorization": f"Bearer {jwt}", "Content-Type": "application/protobuf"},
        )
    httpx.post(f"{sandbox.url}/twirp/livekit.RoomService/ListRooms")  # refused: still received

    assert _call(sandbox, "GET", "/calls").json() == {"ListRooms": 3}
    assert sandbox.control.calls == {"ListRooms": 3}
    sandbox.control.reset()
    assert sandbox.control.calls == {}
