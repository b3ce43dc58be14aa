"""Track egress to a websocket: the upgrade, PCM frames, mute frames and the closing handshake."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from livekit import api
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from egress_app.sandbox.testing import RunningSandbox

FRAME_BYTES = 3840  # 20 ms of 48 kHz stereo S16LE


def rms(frame: bytes) -> float:
    samples = struct.unpack(f"<{len(frame) // 2}h", frame)
    return math.sqrt(sum(s * s for s in samples) / len(samples))


@dataclass
class Capture:
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    frames: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    muted_frames: list[bytes] = field(default_factory=list)
    close_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, ws: ServerConnection) -> None:
        self.headers = (
            {k.lower(): v for k, v in ws.request.headers.raw_items()} if ws.request else {}
        )
        self.path = ws.request.path if ws.request else ""
        try:
            async for message in ws:
                if isinstance(message, str):
                    self.texts.append(message)
                elif self.texts and self.texts[-1] == '{"muted":true}':
                    self.muted_frames.append(message)
                else:
                    self.frames.append(message)
        except ConnectionClosed:
            pass
        self.close_code = ws.close_code
        self.done.set()


async def until(done: Callable[[], bool], timeout: float = 5.0) -> None:
    # Wait for what egress has sent, not for a length of time: a loaded machine sends it later.
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.01)


async def _track_egress(lkapi: api.LiveKitAPI, track: str, url: str) -> api.EgressInfo:
    return await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(room_name="podcast", track_id=track, websocket_url=url)
    )


async def test_it_streams_an_audible_tone_with_mute_frames(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    control = sandbox.control
    track = control.track_sid("podcast", "host", "microphone")
    capture = Capture()
    async with serve(capture.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}/ingest?trackID={track}")
        await asyncio.to_thread(control.wait_for_status, info.egress_id, "ACTIVE")
        await until(lambda: len(capture.frames) >= 15)
        await asyncio.to_thread(control.set_track_muted, "podcast", track, True)
        await until(lambda: len(capture.muted_frames) >= 3)
        await asyncio.to_thread(control.set_track_muted, "podcast", track, False)
        await until(lambda: len(capture.frames) >= 20)
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await asyncio.wait_for(capture.done.wait(), 5)
    ended = await asyncio.to_thread(control.wait_for_status, info.egress_id, "COMPLETE")

    assert capture.headers["content-type"] == "audio/x-raw"
    assert capture.path == f"/ingest?trackID={track}"
    assert capture.texts == ['{"muted":true}', '{"muted":false}']
    assert len(capture.frames) >= 20
    assert all(len(frame) == FRAME_BYTES for frame in capture.frames + capture.muted_frames)
    assert min(rms(frame) for frame in capture.frames) > 3000  # -12 dBFS sine: ~5800
    assert capture.muted_frames
    assert max(rms(f) for f in capture.muted_frames) == 0
    assert capture.close_code == 1005  # Close frame without a status code
    assert ended.stream_results[0].status == api.StreamInfo.Status.FINISHED
    assert ended.stream.info[0].url.startswith(f"ws://127.0.0.1:{port}/ingest")


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


async def test_it_fails_with_503_when_the_receiver_hangs_up_first(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    async def hang_up(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.close()

    track = sandbox.control.track_sid("podcast", "guest", "microphone")
    async with serve(hang_up, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = await _track_egress(lkapi, track, f"ws://127.0.0.1:{port}/")
        failed = await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "FAILED")

    assert failed.error_code == 503
    assert failed.error.startswith("websocket: write failed")


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
        await asyncio.wait_for(capture.done.wait(), 5)

    ended = await asyncio.to_thread(sandbox.control.wait_for_status, info.egress_id, "COMPLETE")
    assert ended.details == "End reason: Source closed"
    assert capture.frames
    assert capture.close_code == 1005
    assert capture.headers["content-type"] == "audio/x-raw"
