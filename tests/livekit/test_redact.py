"""Stream URLs as LiveKit echoes them, and the dashboard's display form of them."""

from __future__ import annotations

import pytest

from egress_app.livekit.redact import (
    echoed_stream_url,
    redact_identifier,
    redact_stream_key,
    redact_stream_url,
)


@pytest.mark.parametrize(
    ("identifier", "redacted"),
    [
        ("secret_stream_key", "{sec...key}"),  # livekit/protocol egress/redact_test.go
        ("abcdef", "{ab...ef}"),
        ("abcde", "{a...e}"),
        ("abc", "{a...c}"),
        ("ab", "{...}"),
        ("", "{...}"),
    ],
)
def test_it_keeps_at_most_three_characters_at_each_end(identifier: str, redacted: str) -> None:
    assert redact_identifier(identifier) == redacted


def test_it_masks_an_rtmp_stream_key_like_livekit() -> None:
    assert redact_stream_url("rtmps://foo.bar.com/app/secret_stream_key") == (
        "rtmps://foo.bar.com/app/{sec...key}"
    )


def test_it_keeps_the_path_and_the_live_flag_of_an_rtmp_url() -> None:
    url = "rtmp://live.example.com/path/app/sk_live_123456 live=1"

    assert redact_stream_url(url) == "rtmp://live.example.com/path/app/{sk_...456} live=1"


def test_it_tells_an_rtmp_url_livekit_refuses() -> None:
    assert redact_stream_key("rtmp://host-only/key") == ("rtmp://host-only/key", False)
    assert redact_stream_key("rtmp://h/app/key")[1] is True


def test_it_replaces_websocket_query_values_and_keeps_their_names() -> None:
    url = "wss://ingest.example.com/a?token=s3cr3t&p=1"

    assert redact_stream_url(url) == "wss://ingest.example.com/a?token={...}&p={...}"
    assert echoed_stream_url(url) == "wss://ingest.example.com/a?token={...}&p={...}"


def test_it_leaves_a_websocket_url_without_a_query_alone() -> None:
    assert redact_stream_url("ws://127.0.0.1:9000/audio") == "ws://127.0.0.1:9000/audio"


def test_it_hides_srt_query_values_livekit_echoes_as_given() -> None:
    url = "srt://ingest.example.com:9000?streamid=publish:cam1&passphrase=hunter22"

    assert redact_stream_url(url) == (
        "srt://ingest.example.com:9000?streamid={...}&passphrase={...}"
    )
    assert echoed_stream_url(url) == url  # E:pkg/config/urls.go: SRT URLs stay as given


@pytest.mark.parametrize("scheme", ["mux", "twitch"])
def test_it_masks_the_key_of_a_shorthand_url(scheme: str) -> None:
    url = f"{scheme}://live_abcdef123456"

    assert redact_stream_url(url) == f"{scheme}://{{liv...456}}"
    assert echoed_stream_url(url) == url


def test_it_shows_no_typed_secret_in_the_display_form() -> None:
    secrets = ["sk_live_123456", "hunter22", "tok-987", "muxkey-55"]
    urls = [
        "rtmp://a.rtmp.youtube.com/live2/sk_live_123456",
        "srt://h:9000?passphrase=hunter22",
        "wss://h/in?token=tok-987",
        "mux://muxkey-55",
    ]

    shown = " ".join(redact_stream_url(url) for url in urls)

    assert not [secret for secret in secrets if secret in shown]
