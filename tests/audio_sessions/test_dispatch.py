"""The audio endpoint's per-message path: no hop to the sync thread for egress's frames."""

from __future__ import annotations

import pytest
from channels import consumer

from egress_app.taps import AudioTapConsumer


async def test_it_receives_egress_frames_without_cleaning_up_connections_first(monkeypatch):
    async def hop_to_the_sync_thread() -> None:
        pytest.fail("a frame went through channels' connection cleanup")

    monkeypatch.setattr(consumer, "aclose_old_connections", hop_to_the_sync_thread)
    tap = AudioTapConsumer()  # not connected: a frame is dropped, after dispatch

    await tap.dispatch({"type": "websocket.receive", "bytes": b"\0" * 1920})
    await tap.dispatch({"type": "websocket.receive", "text": '{"muted":true}'})


async def test_it_still_cleans_up_around_other_messages(monkeypatch):
    cleaned = []

    async def cleanup() -> None:
        cleaned.append(True)

    async def disconnected(message) -> None:
        pass

    monkeypatch.setattr(consumer, "aclose_old_connections", cleanup)
    tap = AudioTapConsumer()
    monkeypatch.setattr(tap, "websocket_disconnect", disconnected)

    await tap.dispatch({"type": "websocket.disconnect", "code": 1000})

    assert cleaned == [True]
