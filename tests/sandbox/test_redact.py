"""Redaction ported from LiveKit, checked with LiveKit's own test cases."""

from __future__ import annotations

import pytest
from livekit.protocol import egress

from egress_app.sandbox.redact import (
    redact_identifier,
    redact_request,
    redact_stream_key,
    redact_url_query_values,
    stream_info_url,
)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        # livekit/protocol egress/redact_test.go TestRedactStreamOutput
        ("rtmps://foo.bar.com/app/secret_stream_key", "rtmps://foo.bar.com/app/{sec...key}"),
        ("mux://8e0b1b9c-50a2-d893-ec0a-102056d112ae", "mux://{8e0...2ae}"),
        ("twitch://live_12345678_abcdefghijklmnop", "twitch://{liv...nop}"),
        ("srt://foo.bar.com:9999", "srt://foo.bar.com:9999"),
        (
            "srt://foo.bar.com:9999?streamid=124939da-5244&passphrase=WnxknzJTUbwYl9SpdqAudX",
            "srt://foo.bar.com:9999?streamid={...}&passphrase={...}",
        ),
        # livekit/egress test/stream.go
        ("rtmp://localhost:1936/wrong/stream", "rtmp://localhost:1936/wrong/{st...am}"),
        ("rtmp://h/path/app/sk_live_123456 live=1", "rtmp://h/path/app/{sk_...456} live=1"),
    ],
)
def test_it_echoes_stream_urls_like_livekit(url: str, redacted: str) -> None:
    assert redact_stream_key(url)[0] == redacted


def test_it_says_whether_it_redacted() -> None:
    assert redact_stream_key("srt://foo.bar.com:9999") == ("srt://foo.bar.com:9999", False)
    assert redact_stream_key("rtmp://h/app/key")[1] is True


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        # livekit/protocol egress/redact_test.go TestRedactDirectOutputs
        (
            "wss://foo.bar.com/audio?callId=12145&token=7df13dab0d4437602d6f7056b97e72b9",
            "wss://foo.bar.com/audio?callId={...}&token={...}",
        ),
        ("wss://h/a", "wss://h/a"),
        ("wss://h/a?", "wss://h/a?"),
        # Go cuts at the first "?" and keeps flags and empty values: nothing to hide in them.
        ("wss://h/a?flag&empty=&t=x=y", "wss://h/a?flag&empty=&t={...}"),
    ],
)
def test_it_redacts_query_values_like_livekit(url: str, redacted: str) -> None:
    assert redact_url_query_values(url) == redacted


@pytest.mark.parametrize(
    ("identifier", "redacted"),
    [
        ("secret_stream_key", "{sec...key}"),
        ("abcdef", "{ab...ef}"),
        ("abc", "{a...c}"),
        ("ab", "{...}"),
    ],
)
def test_it_keeps_at_most_three_bytes_at_each_end(identifier: str, redacted: str) -> None:
    assert redact_identifier(identifier) == redacted


def test_it_counts_bytes_as_go_does() -> None:
    assert redact_identifier("ééé") == "{é...é}"  # six bytes: two from each end


@pytest.mark.parametrize(
    ("url", "kind", "shown"),
    [
        # livekit/egress pkg/config/urls_test.go TestValidateUrl, after mux:// is expanded
        (
            "rtmps://global-live.mux.com:443/app/streamkey",
            "rtmp",
            "rtmps://global-live.mux.com:443/app/{str...key}",
        ),
        ("rtmp://localhost:1935/live/streamkey", "rtmp", "rtmp://localhost:1935/live/{str...key}"),
        # ValidateUrl: SRT and websocket URLs are reported as given
        ("srt://h:9000?passphrase=hunter22", "srt", "srt://h:9000?passphrase=hunter22"),
        ("wss://h/a?token=t", "websocket", "wss://h/a?token=t"),
    ],
)
def test_it_reports_stream_urls_like_egress(url: str, kind: str, shown: str) -> None:
    assert stream_info_url(url, kind) == shown


def test_it_matches_rtmp_urls_as_go_regexp_does() -> None:
    # Go's $ does not match before a final newline, and its \S is ASCII only.
    assert redact_stream_key("rtmp://h/app/key\n") == ("rtmp://h/app/key\n", False)
    assert redact_stream_key("rtmp://h/app/ke\u00a0y")[0] == "rtmp://h/app/{k...y}"


def test_it_redacts_every_secret_of_a_v2_request() -> None:
    request = egress.StartEgressRequest(
        storage=egress.StorageConfig(s3=egress.S3Upload(access_key="AK", secret="SK")),
        outputs=[
            egress.Output(stream=egress.StreamOutput(urls=["mux://mux-key-1234"])),
            egress.Output(
                file=egress.FileOutput(),
                storage=egress.StorageConfig(gcp=egress.GCPUpload(credentials="{json}")),
            ),
        ],
    )

    redact_request(request)

    assert (request.storage.s3.access_key, request.storage.s3.secret) == (
        "{access_key}",
        "{secret}",
    )
    assert list(request.outputs[0].stream.urls) == ["mux://{mux...234}"]
    assert request.outputs[1].storage.gcp.credentials == "{credentials}"
