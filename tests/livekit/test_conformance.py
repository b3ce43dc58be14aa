"""Every RPC of our client against the sandbox, side by side with the official SDK.

Each scenario runs once per driver (our client over protobuf, over JSON, and livekit-api) on a
freshly reset sandbox, and the results must be the same apart from ids and clock readings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from livekit.api import ServerError
from livekit.protocol import egress

from egress_app.livekit import LiveKitClient, LiveKitError
from egress_app.sandbox.config import Pacing
from egress_app.sandbox.controller import SandboxController
from egress_app.sandbox.testing import RunningSandbox
from tests.livekit.sdk_driver import SdkDriver, normal

Driver = LiveKitClient | SdkDriver
Scenario = Callable[[Driver, SandboxController], Awaitable[Any]]

FILE = egress.EncodedFileOutput(filepath="recordings/{room_name}-{time}.mp4")
RTMP_A = "rtmp://live.example.com/app/stream-key-a"
RTMP_B = "rtmp://live.example.com/app/stream-key-b"


@pytest.fixture
async def drivers(sandbox: RunningSandbox) -> AsyncIterator[dict[str, Driver]]:
    made: dict[str, Driver] = {
        "sdk": SdkDriver(sandbox.url, sandbox.api_key, sandbox.api_secret),
        "protobuf": LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret),
        "json": LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret, wire_format="json"),
    }
    yield made
    for driver in made.values():
        await driver.aclose()


async def outcome(call: Awaitable[Any]) -> Any:
    """The normalised result, or the error's (code, status) for our client and the SDK alike."""
    try:
        return normal(await call)
    except (LiveKitError, ServerError) as error:
        return ("error", error.code, error.status)


async def run_each(
    sandbox: RunningSandbox, drivers: dict[str, Driver], scenario: Scenario
) -> dict[str, Any]:
    results = {}
    for name, driver in drivers.items():
        sandbox.control.reset(fixture="demo", pacing=Pacing.fast(), webhook_urls=[])
        results[name] = await scenario(driver, sandbox.control)
    return results


def assert_same(results: dict[str, Any]) -> Any:
    expected = results["sdk"]
    for name, result in results.items():
        assert result == expected, f"{name} differs from the SDK"
    return expected


# --- Start* ----------------------------------------------------------------------------------


async def start_room_composite(d: Driver, c: SandboxController) -> Any:
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall", layout="grid", file_outputs=[FILE]
    )
    return await outcome(d.start_room_composite_egress(request))


async def start_web(d: Driver, c: SandboxController) -> Any:
    request = egress.WebEgressRequest(
        url="https://example.com/show",
        stream_outputs=[egress.StreamOutput(protocol=egress.RTMP, urls=[RTMP_A])],
    )
    return await outcome(d.start_web_egress(request))


async def start_participant(d: Driver, c: SandboxController) -> Any:
    request = egress.ParticipantEgressRequest(
        room_name="town-hall", identity="alice", screen_share=True, file_outputs=[FILE]
    )
    return await outcome(d.start_participant_egress(request))


async def start_track_composite(d: Driver, c: SandboxController) -> Any:
    request = egress.TrackCompositeEgressRequest(
        room_name="town-hall",
        audio_track_id=c.track_sid("town-hall", "alice", "microphone"),
        video_track_id=c.track_sid("town-hall", "alice", "camera"),
        file_outputs=[FILE],
    )
    return await outcome(d.start_track_composite_egress(request))


async def start_track(d: Driver, c: SandboxController) -> Any:
    request = egress.TrackEgressRequest(
        room_name="podcast",
        track_id=c.track_sid("podcast", "host", "microphone"),
        file=egress.DirectFileOutput(filepath="tracks/{track_id}"),
    )
    return await outcome(d.start_track_egress(request))


async def start_v2(d: Driver, c: SandboxController) -> Any:
    request = egress.StartEgressRequest(
        room_name="town-hall",
        template=egress.TemplateSource(layout="speaker"),
        preset=egress.H264_1080P_30,
        outputs=[egress.Output(file=egress.FileOutput(filepath="v2/{room_name}.mp4"))],
    )
    return await outcome(d.start_egress(request))


START_SCENARIOS: dict[str, Scenario] = {
    "room_composite": start_room_composite,
    "web": start_web,
    "participant": start_participant,
    "track_composite": start_track_composite,
    "track": start_track,
    "v2": start_v2,
}


@pytest.mark.parametrize("kind", START_SCENARIOS)
async def test_it_starts_every_kind_like_the_sdk(
    sandbox: RunningSandbox, drivers: dict[str, Driver], kind: str
) -> None:
    result = assert_same(await run_each(sandbox, drivers, START_SCENARIOS[kind]))

    assert result["status"] == "EGRESS_STARTING"
    assert result["egress_id"] == "<volatile>"


# --- Update, Stop, List ----------------------------------------------------------------------


async def active_room_composite(d: Driver, c: SandboxController) -> str:
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall", layout="grid", file_outputs=[FILE]
    )
    info = await d.start_room_composite_egress(request)
    c.wait_for_status(info.egress_id, "ACTIVE")
    return info.egress_id


async def active_web_stream(d: Driver, c: SandboxController) -> str:
    request = egress.WebEgressRequest(
        url="https://example.com/show",
        stream_outputs=[egress.StreamOutput(protocol=egress.RTMP, urls=[RTMP_A])],
    )
    info = await d.start_web_egress(request)
    c.wait_for_status(info.egress_id, "ACTIVE")
    return info.egress_id


async def update_layout(d: Driver, c: SandboxController) -> Any:
    egress_id = await active_room_composite(d, c)
    return await outcome(d.update_layout(egress_id, "speaker"))


async def update_stream(d: Driver, c: SandboxController) -> Any:
    egress_id = await active_web_stream(d, c)
    added = await outcome(d.update_stream(egress_id, add_output_urls=[RTMP_B]))
    removed = await outcome(d.update_stream(egress_id, remove_output_urls=[RTMP_A]))
    return added, removed


async def stop(d: Driver, c: SandboxController) -> Any:
    egress_id = await active_room_composite(d, c)
    stopped = await outcome(d.stop_egress(egress_id))
    c.wait_for_status(egress_id, "COMPLETE")
    return stopped, await outcome(d.list_egress(egress_id=egress_id))


async def list_filters(d: Driver, c: SandboxController) -> Any:
    first = await active_room_composite(d, c)
    await active_room_composite(d, c)
    await active_web_stream(d, c)
    await d.stop_egress(first)
    c.wait_for_status(first, "COMPLETE")
    return (
        await outcome(d.list_egress()),
        await outcome(d.list_egress(room_name="town-hall")),
        await outcome(d.list_egress(active=True)),
        await outcome(d.list_egress(room_name="town-hall", active=True)),
        await outcome(d.list_egress(egress_id=first)),
        await outcome(d.list_egress(room_name="podcast")),
    )


@pytest.mark.parametrize(
    "scenario", [update_layout, update_stream, stop, list_filters], ids=lambda s: s.__name__
)
async def test_it_updates_stops_and_lists_like_the_sdk(
    sandbox: RunningSandbox, drivers: dict[str, Driver], scenario: Scenario
) -> None:
    assert_same(await run_each(sandbox, drivers, scenario))


async def test_it_stops_an_active_egress_into_ending_then_complete(
    sandbox: RunningSandbox, drivers: dict[str, Driver]
) -> None:
    stopped, listed = assert_same(await run_each(sandbox, drivers, stop))

    assert stopped["status"] in {"EGRESS_ENDING", "EGRESS_COMPLETE"}
    assert [item["status"] for item in listed] == ["EGRESS_COMPLETE"]


async def test_it_filters_the_egress_list(
    sandbox: RunningSandbox, drivers: dict[str, Driver]
) -> None:
    every, town_hall, active, active_town_hall, one, podcast = assert_same(
        await run_each(sandbox, drivers, list_filters)
    )

    assert len(every) == 3
    assert len(town_hall) == 2
    assert len(active) == 2
    assert len(active_town_hall) == 1
    assert len(one) == 1
    assert podcast == []


async def five_active_egresses(d: Driver, c: SandboxController) -> Any:
    started = [(await active_room_composite(d, c)) for _ in range(5)]
    listed = await d.list_egress(room_name="town-hall")
    assert [info.egress_id for info in listed] == started
    return normal(listed)


async def test_it_follows_every_page_of_the_egress_list(
    sandbox: RunningSandbox, drivers: dict[str, Driver]
) -> None:
    page_size = sandbox.config.page_size
    sandbox.control.set_page_size(2)
    try:
        listed = assert_same(await run_each(sandbox, drivers, five_active_egresses))
    finally:
        sandbox.control.set_page_size(page_size)

    assert len(listed) == 5


# --- RoomService -----------------------------------------------------------------------------


async def rooms(d: Driver, c: SandboxController) -> Any:
    return (
        await outcome(d.list_rooms()),
        await outcome(d.list_rooms(["podcast", "no-such-room"])),
        await outcome(d.list_participants("town-hall")),
        await outcome(d.list_participants("empty-room")),
        await outcome(d.list_participants("no-such-room")),
    )


async def create_and_delete(d: Driver, c: SandboxController) -> Any:
    created = await outcome(d.create_room("studio-b"))
    listed = await outcome(d.list_rooms(["studio-b"]))
    await d.delete_room("studio-b")
    return created, listed, await outcome(d.list_rooms(["studio-b"]))


async def test_it_lists_rooms_and_participants_like_the_sdk(
    sandbox: RunningSandbox, drivers: dict[str, Driver]
) -> None:
    every, podcast, town_hall, empty, _ = assert_same(await run_each(sandbox, drivers, rooms))

    assert [room["name"] for room in every] == ["town-hall", "podcast", "empty-room"]
    assert [room["name"] for room in podcast] == ["podcast"]
    assert [p["identity"] for p in town_hall] == ["alice", "bob", "carol"]
    assert empty == []


async def test_it_creates_and_deletes_rooms_like_the_sdk(
    sandbox: RunningSandbox, drivers: dict[str, Driver]
) -> None:
    created, listed, after = assert_same(await run_each(sandbox, drivers, create_and_delete))

    assert created["name"] == "studio-b"
    assert [room["name"] for room in listed] == ["studio-b"]
    assert after == []


# --- Error paths -----------------------------------------------------------------------------


async def start_in_missing_room(d: Driver, c: SandboxController) -> Any:
    request = egress.RoomCompositeEgressRequest(room_name="no-such-room", file_outputs=[FILE])
    return await outcome(d.start_room_composite_egress(request))


async def stop_unknown(d: Driver, c: SandboxController) -> Any:
    return await outcome(d.stop_egress("EG_doesnotexist"))


async def update_unknown(d: Driver, c: SandboxController) -> Any:
    return await outcome(d.update_layout("EG_doesnotexist", "grid"))


async def stop_finished(d: Driver, c: SandboxController) -> Any:
    egress_id = await active_room_composite(d, c)
    await d.stop_egress(egress_id)
    c.wait_for_status(egress_id, "COMPLETE")
    return await outcome(d.stop_egress(egress_id))


async def no_outputs(d: Driver, c: SandboxController) -> Any:
    request = egress.RoomCompositeEgressRequest(room_name="town-hall", layout="grid")
    return await outcome(d.start_room_composite_egress(request))


async def no_workers(d: Driver, c: SandboxController) -> Any:
    c.add_room("no-workers-today")
    request = egress.RoomCompositeEgressRequest(room_name="no-workers-today", file_outputs=[FILE])
    return await outcome(d.start_room_composite_egress(request))


ERROR_SCENARIOS: dict[str, tuple[Scenario, str, int]] = {
    "room not found": (start_in_missing_room, "not_found", 404),
    "unknown egress on stop": (stop_unknown, "not_found", 404),
    "unknown egress on update": (update_unknown, "not_found", 404),
    "stop a finished egress": (stop_finished, "failed_precondition", 412),
    "no outputs": (no_outputs, "invalid_argument", 400),
    "no egress workers": (no_workers, "unavailable", 503),
}


@pytest.mark.parametrize("case", ERROR_SCENARIOS)
async def test_it_reports_errors_with_the_sdks_codes(
    sandbox: RunningSandbox, drivers: dict[str, Driver], case: str
) -> None:
    scenario, code, status = ERROR_SCENARIOS[case]

    assert assert_same(await run_each(sandbox, drivers, scenario)) == ("error", code, status)


async def test_it_explains_errors_in_plain_words(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)
    sandbox.control.add_room("no-workers-here")

    with pytest.raises(LiveKitError) as busy:
        await client.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="no-workers-here", file_outputs=[FILE])
        )
    with pytest.raises(LiveKitError) as missing:
        await client.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="gone", file_outputs=[FILE])
        )
    await client.aclose()

    assert busy.value.message == "twirp error unknown: no response from servers"
    assert busy.value.plain == "No egress worker accepted the job (all busy or none connected)."
    assert missing.value.plain == "The room does not exist (any more)."


async def test_it_reports_a_wrong_secret_as_unauthenticated(sandbox: RunningSandbox) -> None:
    ours = LiveKitClient(sandbox.url, sandbox.api_key, "not-the-secret")
    sdk = SdkDriver(sandbox.url, sandbox.api_key, "not-the-secret")

    with pytest.raises(LiveKitError) as caught:
        await ours.list_rooms()
    with pytest.raises(ServerError) as sdk_caught:
        await sdk.list_rooms()
    await ours.aclose()
    await sdk.aclose()

    # LiveKit answers auth failures in plain text; the SDK then only knows the status.
    assert (caught.value.code, caught.value.status) == ("unauthenticated", 401)
    assert sdk_caught.value.status == 401
    assert caught.value.message.startswith("invalid")
    assert caught.value.plain == (
        "LiveKit refused our credentials (check LIVEKIT_API_KEY / LIVEKIT_API_SECRET)."
    )


async def test_it_reports_a_missing_grant_like_livekit(sandbox: RunningSandbox) -> None:
    from livekit.api import LiveKitAPI

    from egress_app.livekit import create_access_token

    token = create_access_token(sandbox.api_key, sandbox.api_secret, video={"roomList": True})
    sdk = LiveKitAPI.with_token(token, sandbox.url)
    ours = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)

    with pytest.raises(ServerError) as sdk_caught:
        await sdk.egress.list_egress(egress.ListEgressRequest())
    with pytest.raises(LiveKitError) as caught:
        # Our client always signs the right grant; ask its transport for one without it.
        await ours._call(
            "Egress",
            "ListEgress",
            egress.ListEgressRequest(),
            egress.ListEgressResponse,
            {"roomList": True},
        )
    await sdk.aclose()
    await ours.aclose()

    assert (sdk_caught.value.code, sdk_caught.value.message) == (
        "unauthenticated",
        "permissions denied",
    )
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        "unauthenticated",
        "permissions denied",
        401,
    )
