from __future__ import annotations

import pytest

from egress_app.storage.destinations import (
    BAD_PORT,
    NO_APP,
    NO_HOST,
    NO_SCHEME,
    SPACE_IN_HOST,
    SPACE_IN_PATH,
    SRT_SHAPE,
    host_of,
    normalize,
    output_url,
    protocol_of,
    validate,
)

YOUTUBE = "rtmp://a.rtmp.youtube.com/live2"


@pytest.mark.parametrize(
    ("server_url", "key", "expected"),
    [
        (YOUTUBE, "abcd-efgh-ijkl", "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"),
        (YOUTUBE + "/", "abcd", "rtmp://a.rtmp.youtube.com/live2/abcd"),
        ("rtmps://live.example.com:443/path/app", "k", "rtmps://live.example.com:443/path/app/k"),
        ("rtmp://live.example.com/app", "key live=1", "rtmp://live.example.com/app/key live=1"),
        ("srt://srt.example.com:9000", "", "srt://srt.example.com:9000"),
        (
            "srt://srt.example.com:9000",
            "#!::r=live",
            "srt://srt.example.com:9000?streamid=%23%21%3A%3Ar%3Dlive",
        ),
        (
            "srt://srt.example.com:9000?latency=200",
            "s1",
            "srt://srt.example.com:9000?latency=200&streamid=s1",
        ),
        ("mux://", "mux-key-1", "mux://mux-key-1"),
        ("twitch://", "live_123_abc", "twitch://live_123_abc"),
    ],
)
def test_it_builds_the_url_livekit_dials(server_url, key, expected):
    assert validate(server_url, key) == {}
    assert output_url(server_url, key) == expected


@pytest.mark.parametrize(
    ("server_url", "protocol", "host"),
    [
        (YOUTUBE, "rtmp", "a.rtmp.youtube.com"),
        ("rtmps://live.example.com:443/app", "rtmps", "live.example.com"),
        ("srt://srt.example.com:9000", "srt", "srt.example.com"),
        ("mux://", "mux", "global-live.mux.com"),
        ("twitch://", "twitch", "twitch.tv"),
    ],
)
def test_it_names_protocol_and_host(server_url, protocol, host):
    assert protocol_of(server_url) == protocol
    assert host_of(server_url) == host


def test_it_moves_a_key_typed_into_a_shorthand_url():
    assert normalize(" mux://mux-key-1 ", "") == ("mux://", "mux-key-1")
    assert normalize("TWITCH://live_1", "") == ("twitch://", "live_1")
    assert validate("mux://mux-key-1", "") == {}


def test_it_trims_and_lowercases_the_scheme():
    assert normalize(" RTMP://a.rtmp.youtube.com/live2 ", " k ") == (YOUTUBE, "k")


STREAMING = "a streaming scheme: use rtmp://, rtmps://, srt://, mux:// or twitch://."


@pytest.mark.parametrize(
    ("server_url", "key", "errors"),
    [
        ("", "k", {"server_url": "Server URL is required."}),
        ("http://example.com/app", "k", {"server_url": f"http:// is not {STREAMING}"}),
        ("wss://example.com/audio", "k", {"server_url": f"wss:// is not {STREAMING}"}),
        ("a.rtmp.youtube.com/live2", "k", {"server_url": NO_SCHEME}),
        ("rtmp://host with space/app", "k", {"server_url": SPACE_IN_HOST}),
        ("rtmp://bad url/nokey", "k", {"server_url": SPACE_IN_HOST}),
        ("rtmp://host/live 2", "k", {"server_url": SPACE_IN_PATH}),
        # RTMP: rtmp(s)://host[/path]/app/key
        ("rtmp://a.rtmp.youtube.com", "k", {"server_url": NO_APP}),
        ("rtmp://a.rtmp.youtube.com/", "k", {"server_url": NO_APP}),
        ("rtmp:///live2", "k", {"server_url": NO_HOST}),
        ("rtmp://host:port/app", "k", {"server_url": BAD_PORT}),
        (YOUTUBE, "", {"stream_key": "Stream key is required."}),
        (YOUTUBE, "my key", {"stream_key": "A stream key cannot contain spaces."}),
        (
            YOUTUBE + "?auth=1",
            "k",
            {"server_url": "An RTMP server URL has no ? or # part; put it in the stream key."},
        ),
        # SRT: srt://host:port
        ("srt://srt.example.com", "", {"server_url": SRT_SHAPE}),
        ("srt://:9000", "", {"server_url": SRT_SHAPE}),
        (
            "srt://srt.example.com:9000?streamid=a",
            "b",
            {"stream_key": "The server URL already has a streamid: leave the stream key empty."},
        ),
        # mux:// and twitch:// shorthands
        ("mux://", "", {"stream_key": "Stream key is required."}),
        (
            "mux://abc",
            "def",
            {"server_url": "Give the key either in the URL or as the stream key, not both."},
        ),
        (
            "twitch://",
            "live/123",
            {"stream_key": "Use only letters, digits and . _ ~ - in this stream key."},
        ),
    ],
)
def test_it_refuses_shapes_livekit_refuses(server_url, key, errors):
    assert validate(server_url, key) == errors


def test_it_never_quotes_the_stream_key_in_messages():
    errors = validate(YOUTUBE, "SECRET KEY")
    assert not any("SECRET" in message for message in errors.values())
