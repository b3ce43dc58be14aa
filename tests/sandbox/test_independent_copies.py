"""The product's copies of LiveKit's rules beside the sandbox's own ports of them.

The sandbox ports LiveKit's Go source; the product keeps copies for its client, the launch form
and the dashboard's display. Where both claim to be LiveKit's rule they must agree on real
inputs, so that a bug in either shows; where they may differ, a test says how and why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from egress_app.launch.paths import clean_path
from egress_app.livekit import errors as product_errors
from egress_app.livekit import redact as product
from egress_app.sandbox import errors as sandbox_errors
from egress_app.sandbox import redact as sandbox
from egress_app.sandbox.paths import clean
from egress_app.storage import destinations

# NoError ("") answers 200: it is no error, so the product's table of errors leaves it out.
TWIRP_CODES = [code for code in sandbox_errors.TWIRP_STATUS if code]


def _imported(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_sandbox_imports_nothing_of_the_product() -> None:
    # Otherwise the double and the code it checks would agree by construction.
    modules = set().union(*map(_imported, Path(sandbox_errors.__file__).parent.glob("*.py")))

    product_modules = {name for name in modules if name.split(".")[0] == "egress_app"}
    assert {name for name in product_modules if not name.startswith("egress_app.sandbox")} == set()


# --- Twirp code -> HTTP status -------------------------------------------------------------------
@pytest.mark.parametrize("code", TWIRP_CODES)
def test_it_gives_each_twirp_code_the_same_status(code: str) -> None:
    assert product_errors.TWIRP_STATUS.get(code) == sandbox_errors.TWIRP_STATUS[code]


def test_the_product_knows_no_code_twirp_does_not() -> None:
    assert set(product_errors.TWIRP_STATUS) <= set(TWIRP_CODES)


# --- RTMP stream keys ----------------------------------------------------------------------------
REAL_RTMP = [
    "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst",
    "rtmps://a.rtmps.youtube.com:443/live2/abcd-efgh-ijkl-mnop-qrst",
    "rtmp://b.rtmp.youtube.com/live2?backup=1/abcd-efgh-ijkl-mnop-qrst",
    "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEfGhIjKlMnOp?s_bl=1&s_sc=123",
    "rtmp://live.twitch.tv/app/live_123456789_AbCdEfGhIjKlMnOpQrStUvWxYz",
    "rtmps://ingest.global-contribute.live-video.net:443/app/live_123456789_AbCdEf",
    "rtmps://fa723fc1b171.global-contribute.live-video.net/app/sk_us-west-2_AbCdEf123",
    "rtmps://global-live.mux.com:443/app/8e0b1b9c-50a2-d893-ec0a-102056d112ae",
    "rtmps://sandbox.contribute.live-video.net/app/live_999",
    "rtmp://live.restream.io/live/re_1234567_abcdef0123456789",
    "rtmps://rtmp-global.cloud.vimeo.com:443/live/0a1b2c3d-4e5f-6a7b-8c9d",
    "rtmps://1a2b3c.channel.media.azure.net:2935/live/0123456789abcdef/streamkey",
    "rtmp://localhost:1935/live/streamkey",
    "rtmp://live.example.com/path/app/sk_live_123456 live=1",
    "rtmp://localhost:1936/wrong/stream",
    "rtmp://h/live/abc",
    "rtmp://h/app/ab",
]


@pytest.mark.parametrize("url", REAL_RTMP)
def test_it_redacts_real_rtmp_keys_alike(url: str) -> None:
    redacted, matched = product.redact_stream_key(url)

    assert matched
    assert sandbox.redact_stream_key(url) == (redacted, True)
    assert sandbox.stream_info_url(url, "rtmp") == redacted
    assert product.echoed_stream_url(url) == product.redact_stream_url(url) == redacted


URL_TEXT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/"), max_size=12
)
RTMP_URLS = st.builds(
    lambda scheme, segments, key, live: f"{scheme}://{'/'.join(segments)}/{key}{live}",
    st.sampled_from(["rtmp", "rtmps"]),
    st.lists(URL_TEXT, min_size=0, max_size=4),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
    st.sampled_from(["", " live=1", " live=0"]),
)


@given(RTMP_URLS)
def test_it_tells_and_redacts_rtmp_urls_alike(url: str) -> None:
    redacted, matched = product.redact_stream_key(url)

    assert (sandbox.RTMP_PATTERN.match(url) is not None) == matched
    assert (destinations.RTMP_PATTERN.match(url) is not None) == matched
    if matched:
        assert sandbox.redact_stream_key(url) == (redacted, True)


NAME = st.text(st.sampled_from("abcxyz019-_."), min_size=1, max_size=10)
DESTINATIONS = st.tuples(
    st.builds(
        lambda scheme, host, port, segments: f"{scheme}://{host}{port}/{'/'.join(segments)}",
        st.sampled_from(["rtmp", "rtmps"]),
        NAME,
        st.sampled_from(["", ":1935", ":443"]),
        st.lists(NAME, min_size=1, max_size=3),
    ),
    st.builds(
        str.__add__,
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
        st.sampled_from(["", " live=1"]),
    ),
)


@given(DESTINATIONS)
def test_it_accepts_every_destination_the_product_accepts(destination: tuple[str, str]) -> None:
    # The product may refuse more (an empty key, a query in the server URL), never less.
    server_url, key = destinations.normalize(*destination)
    assume(destinations.validate(server_url, key) == {})

    assert sandbox.RTMP_PATTERN.match(destinations.output_url(server_url, key))


@pytest.mark.parametrize(
    ("url", "products", "livekits"),
    [
        ("rtmp://h/app/key\n", "rtmp://h/app/{k...y}", "rtmp://h/app/key\n"),
        ("rtmp://h/app/ke\u00a0y", "rtmp://h/app/ke\u00a0y", "rtmp://h/app/{k...y}"),
    ],
)
def test_it_may_read_whitespace_otherwise(url: str, products: str, livekits: str) -> None:
    # Go's $ ends the text and its \S is ASCII; Python's are not. The product strips stream
    # URLs and refuses any with whitespace in them before they reach these functions.
    assert product.redact_stream_key(url)[0] == products
    assert sandbox.redact_stream_key(url)[0] == livekits


# --- websocket and other echoed URLs -------------------------------------------------------------
REAL_WEBSOCKETS = [
    "wss://foo.bar.com/audio?callId=12145&token=7df13dab0d4437602d6f7056b97e72b9",
    "wss://transcribe.example.com/audio?token=SECRET-ws-token-123",
    "wss://api.deepgram.com/v1/listen?encoding=linear16&sample_rate=48000&channels=1",
    "ws://127.0.0.1:9000/ingest?trackID=TR_AbCd1234",
    "wss://ingest.example.com/a?token=s3cr3t&p=1",
    "ws://127.0.0.1:9000/audio",
]


@pytest.mark.parametrize("url", REAL_WEBSOCKETS)
def test_it_redacts_real_websocket_urls_alike(url: str) -> None:
    redacted = sandbox.redact_url_query_values(url)

    assert product.echoed_stream_url(url) == product.redact_stream_url(url) == redacted
    assert sandbox.redact_stream_key(url)[0] == redacted


@pytest.mark.parametrize(
    ("url", "products", "livekits"),
    [
        # The product's parse_qsl hides flags and empty values too, keeps the fragment apart
        # and decodes the names; LiveKit cuts the raw text. Only the display uses these.
        (
            "wss://h/a?flag&empty=&t=1",
            "wss://h/a?flag={...}&empty={...}&t={...}",
            "wss://h/a?flag&empty=&t={...}",
        ),
        ("wss://h/a?t=1#frag", "wss://h/a?t={...}#frag", "wss://h/a?t={...}"),
        ("wss://h/a?a%20b=1", "wss://h/a?a b={...}", "wss://h/a?a%20b={...}"),
    ],
)
def test_it_may_redact_odd_queries_otherwise(url: str, products: str, livekits: str) -> None:
    assert product.echoed_stream_url(url) == products
    assert sandbox.redact_stream_key(url)[0] == livekits


@pytest.mark.parametrize(
    "url",
    [
        "mux://8e0b1b9c-50a2-d893-ec0a-102056d112ae",
        "twitch://live_12345678_abcdefghijklmnop",
        "srt://foo.bar.com:9999?streamid=124939da-5244&passphrase=WnxknzJTUbwYl9SpdqAudX",
    ],
)
def test_its_display_hides_what_livekit_now_echoes_redacted(url: str) -> None:
    # echoed_stream_url echoes these as given, as LiveKit did before livekit/protocol #1713 and
    # #1714 (August 2026); only the display uses it, and the display hides them as LiveKit does.
    assert product.echoed_stream_url(url) == url
    assert product.redact_stream_url(url) == sandbox.redact_stream_key(url)[0] != url


# --- output paths --------------------------------------------------------------------------------
REAL_PATHS = [
    "",
    "recordings/{room_name}-{time}.mp4",
    "recordings/",
    "{room_name}/{publisher_identity}/{track_id}",
    "livestreams/{room_name}/index.m3u8",
    "/abs/recordings/x.mp4",
    "./here.mp4",
    "a/../../b.mp4",
    "../../etc/passwd",
    "a//b/./c/",
    "..",
    "/",
    "///x",
    "//recordings/x.mp4",
]


@pytest.mark.parametrize("path", REAL_PATHS)
def test_it_cleans_real_paths_alike(path: str) -> None:
    assert clean_path(path) == clean(path)


PATH_PARTS = st.sampled_from(["a", "b.mp4", "/", ".", "..", "{room_name}", "-"])


@given(st.lists(PATH_PARTS, max_size=16).map("".join))
def test_it_cleans_paths_alike(path: str) -> None:
    assert clean_path(path) == clean(path)
