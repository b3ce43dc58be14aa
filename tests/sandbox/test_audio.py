"""Track egress to a websocket: speech or tone in 10 ms PCM frames, mute and keep-alive messages,
the closing handshake and the failures, as livekit/egress's websocket sink behaves."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from livekit import api
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from egress_app.sandbox import speech
from egress_app.sandbox.testing import RunningSandbox

WAIT = 15.0  # seconds at most, a bound: what egress sends arrives later on a loaded machine

FRAME_BYTES = 1920  # 10 ms of 48 kHz stereo S16LE


def rms(frame: bytes) -> float:
    samples = struct.unpack(f"<{len(frame) // 2}h", frame)
    return math.sqrt(sum(s * s for s in samples) / len(samples))


@dataclass
class Capture:
    """A websocket receiver that records everything egress sends, frames grouped by mute state."""

    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    frames: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    muted_frames: list[bytes] = field(default_factory=list)
    unmuted_frames: list[bytes] = field(default_factory=list)
    pings: list[bytes] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    connections: int = 0
    close_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.headers = (
            {k.lower(): v for k, v in ws.request.headers.raw_items()} if ws.request else {}
        )
        self.path = ws.request.path if ws.request else ""
        recv_frame = ws.protocol.recv_frame

        def spy(frame: Frame) -> None:
            if frame.opcode is Opcode.PING:
                self.pings.append(frame.data)
            elif frame.opcode is Opcode.PONG:
                self.pongs.append(frame.data)
            recv_frame(frame)

        ws.protocol.recv_frame = spy  # type: ignore[method-assign]
        try:
            async for message in ws:
                if isinstance(message, str):
                    self.texts.append(message)
                elif not self.texts:
                    self.frames.append(message)
                elif self.texts[-1] == '{"muted":true}':
                    self.muted_frames.append(message)
                else:
                    self.unmuted_frames.append(message)
        except ConnectionClosed:
            pass
        self.close_code = ws.close_code
        self.done.set()


async def until(done: Callable[[], bool], timeout: float = WAIT) -> None:
    # Wait for what egress has sent, not for a length of time: a loaded machine sends it later.
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.01)


async def _track_egress(
    lkapi: api.LiveKitAPI, track: str, url: str, room: str = "podcast"
) -> api.EgressInfo:
    return await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(room_name=room, track_id=track, websocket_url=url)
    )


async def _mute(lkapi: api.LiveKitAPI, identity: str, track: str, muted: bool) -> None:
    await lkapi.room.mute_published_track(
        api.MuteRoomTrackRequest(room="podcast", identity=identity, track_sid=track, muted=muted)
    )


@asynccontextmanager
async def tapping(
    lkapi: api.LiveKitAPI, track: str, path: str = "/"
) -> AsyncIterator[tuple[Capture, api.EgressInfo]]:
    """A receiver on a free port and a Track Egress of `track` to it; the egress is stopped and
    its close awaited at the end of the block."""
    capture = Capture()
    async with serve(capture.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}{path}")
        yield capture, info
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await asyncio.wait_for(capture.done.wait(), WAIT)


async def test_it_streams_the_participants_speech_in_10_ms_stereo_frames(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    track = control.track_sid("podcast", "host", "microphone")
    async with tapping(lkapi, track, f"/ingest?trackID={track}") as (capture, info):
        await asyncio.to_thread(control.wait_for_status, info.egress_id, "ACTIVE")
        await until(lambda: len(capture.frames) >= 100)
    ended = await asyncio.to_thread(control.wait_for_status, info.egress_id, "COMPLETE")

    assert capture.headers["content-type"] == "audio/x-raw"
    assert capture.path == f"/ingest?trackID={track}"
    assert capture.texts == []
    assert all(len(frame) == FRAME_BYTES for frame in capture.frames)
    received = b"".join(capture.frames)
    assert received == speech.speech("host")[: len(received)]  # from the first sentence on
    samples = struct.unpack(f"<{len(received) // 2}h", received)
    assert samples[0::2] == samples[1::2]  # a mono microphone, upmixed: left = right
    assert max(rms(frame) for frame in capture.frames) > 1000  # speech, not silence
    assert capture.close_code == 1005  # Close frame without a status code
    assert ended.stream_results[0].status == api.StreamInfo.Status.FINISHED


def test_it_knows_the_sentences_of_every_demo_microphone() -> None:
    assert speech.sentences("host") == [
        "Hello and welcome to the podcast.",
        "Today we are talking about gardens.",
    ]
    for identity in ("alice", "bob", "carol", "host", "guest"):
        assert speech.has_speech(identity)
        assert len(speech.sentences(identity)) >= 2
        seconds = len(speech.speech(identity)) / (48_000 * 2 * 2)
        assert 3 < seconds < 12
    assert not speech.has_speech("nobody")


async def test_it_streams_the_tone_when_asked_to(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    control.set_audio(source="tone", frame_seconds=0.02)
    track = control.track_sid("podcast", "host", "microphone")
    async with tapping(lkapi, track) as (capture, _):
        await until(lambda: len(capture.frames) >= 10)

    assert all(len(frame) == 3840 for frame in capture.frames)  # 20 ms as configured
    assert min(rms(frame) for frame in capture.frames) > 3000  # -12 dBFS sine: ~5800


async def test_it_gives_the_tone_to_microphones_without_sentences(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    zoe = control.add_participant("podcast", "zoe", tracks=["microphone"])
    async with tapping(lkapi, zoe.tracks[0].sid) as (capture, _):
        await until(lambda: len(capture.frames) >= 10)

    received = b"".join(capture.frames)
    assert received == speech.tone()[: len(received)]


async def test_it_sends_mute_messages_and_zeros_when_muted_through_room_service(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    control.set_remote_unmute(True)  # LiveKit's room.enable_remote_unmute
    track = control.track_sid("podcast", "host", "microphone")
    async with tapping(lkapi, track) as (capture, _):
        await until(lambda: len(capture.frames) >= 20)
        await _mute(lkapi, "host", track, True)
        await until(lambda: len(capture.muted_frames) >= 20)
        await _mute(lkapi, "host", track, False)
        await until(lambda: any(rms(f) > 1000 for f in capture.unmuted_frames))

    assert capture.texts == ['{"muted":true}', '{"muted":false}']
    assert max(rms(f) for f in capture.muted_frames) == 0
    assert all(len(f) == FRAME_BYTES for f in capture.muted_frames + capture.unmuted_frames)


async def test_it_says_muted_at_the_start_when_the_track_is_muted(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    track = control.track_sid("podcast", "guest", "microphone")
    await _mute(lkapi, "guest", track, True)
    async with tapping(lkapi, track) as (capture, _):
        await until(lambda: len(capture.muted_frames) >= 10)

    assert capture.frames == []
    assert capture.texts == ['{"muted":true}']
    assert max(rms(f) for f in capture.muted_frames) == 0


async def test_it_says_muted_when_packets_stop_and_unmuted_when_they_resume(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    control.set_audio(inactive_after=0.05)
    track = control.track_sid("podcast", "host", "microphone")
    async with tapping(lkapi, track) as (capture, _):
        await until(lambda: len(capture.frames) >= 10)
        await asyncio.to_thread(control.set_track_stalled, "podcast", track, True)
        await until(lambda: len(capture.muted_frames) >= 10)
        await asyncio.to_thread(control.set_track_stalled, "podcast", track, False)
        await until(lambda: any(rms(f) > 1000 for f in capture.unmuted_frames))

    assert capture.texts == ['{"muted":true}', '{"muted":false}']
    assert max(rms(f) for f in capture.muted_frames) == 0


async def test_it_pings_with_ping_and_answers_pings_with_pong(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    control.set_audio(ping_interval=0.05)
    track = control.track_sid("podcast", "host", "microphone")
    capture = Capture()
    receivers: list[ServerConnection] = []

    async def handler(ws: ServerConnection) -> None:
        receivers.append(ws)
        await capture.handler(ws)

    async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}/")
        await until(lambda: len(capture.pings) >= 2)
        await receivers[0].ping(b"are you there?")
        await until(lambda: bool(capture.pongs))
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await asyncio.wait_for(capture.done.wait(), WAIT)
    ended = await asyncio.to_thread(control.wait_for_status, info.egress_id, "COMPLETE")

    assert set(capture.pings) == {b"ping"}
    assert capture.pongs == [b"pong"]  # not the echo RFC 6455 asks for
    assert ended.stream_results[0].status == api.StreamInfo.Status.FINISHED


async def test_it_fails_with_400_when_the_websocket_cannot_be_dialled(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    track = sandbox.control.track_sid("podcast", "guest", "microphone")

    info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}/nobody")

    assert info.status == api.EgressStatus.EGRESS_STARTING
    failed = await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "FAILED")
    assert failed.error_code == 400
    assert "connection refused" in failed.error


async def test_it_fails_with_egress_error_when_the_receiver_hangs_up_and_never_redials(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    dials = 0

    async def hang_up(ws: ServerConnection) -> None:
        nonlocal dials
        dials += 1
        await ws.recv()
        await ws.close()

    track = sandbox.control.track_sid("podcast", "guest", "microphone")
    async with serve(hang_up, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}/")
        failed = await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "FAILED")

    assert failed.error_code == 503
    assert failed.error == "websocket: close sent"  # gorilla's ErrCloseSent
    # Egress marks only RTMP/SRT stream results FAILED; a websocket's stays FINISHED, no error
    # (E:pkg/pipeline/controller.go `Close` uses GetStreamConfig, not GetWebsocketConfig).
    assert failed.stream_results[0].status == api.StreamInfo.Status.FINISHED
    assert failed.stream_results[0].error == ""
    assert dials == 1


async def test_it_streams_v2_websocket_outputs_audio_only(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    track = sandbox.control.track_sid("podcast", "host", "microphone")
    capture = Capture()
    async with serve(capture.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = await lkapi.egress.start_egress(
            api.StartEgressRequest(
                room_name="podcast",
                media=api.MediaSource(
                    audio=api.AudioConfig(routes=[api.AudioRoute(track_id=track)])
                ),
                outputs=[
                    api.Output(
                        stream=api.StreamOutput(
                            protocol=api.StreamProtocol.WEBSOCKET,
                            urls=[f"ws://127.0.0.1:{port}/v2"],
                        )
                    )
                ],
            )
        )
        await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "ACTIVE")
        await until(lambda: bool(capture.frames))
        await asyncio.to_thread(sandbox.control.unpublish_track, "podcast", track)
        await asyncio.wait_for(capture.done.wait(), WAIT)

    ended = await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "COMPLETE")
    assert ended.details == "End reason: Source closed"
    assert capture.frames
    assert capture.close_code == 1005
    assert capture.headers["content-type"] == "audio/x-raw"
