"""Secrets hidden in LiveKit's texts: stored ones and the job's own, however they are quoted."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from egress_app.livekit.scrub import Secrets, hide_stream_urls, scrub, stored_values

KEY = "sk+Live/KEY=abc&123"


@pytest.mark.parametrize(
    "quoted",
    [KEY, KEY.lower(), KEY.upper(), quote(KEY, safe=""), quote(KEY), quote_plus(KEY)],
)
def test_it_hides_a_secret_in_any_case_and_url_encoded(quoted: str) -> None:
    assert (
        Secrets([KEY]).hide(f"dial rtmp://x/app/{quoted}: refused")
        == "dial rtmp://x/app/{…}: refused"
    )


def test_it_hides_lower_case_percent_escapes_too() -> None:
    assert Secrets([KEY]).hide(quote(KEY, safe="").lower()) == "{…}"


def test_it_leaves_short_values_alone() -> None:
    # "live1" hidden wherever it appears would mangle ordinary words of LiveKit's texts.
    assert Secrets(["live1", ""]).hide("live1 stream ended") == "live1 stream ended"
    assert not Secrets(["live1"])


def test_it_hides_the_longer_of_two_secrets_whole() -> None:
    assert Secrets(["abcdef", "abcdefghij"]).hide("key abcdefghij") == "key {…}"


def test_it_hides_a_stream_urls_key_quoted_in_another_case() -> None:
    url = "rtmp://live.example.com/app/SECRET-own-key-XYZ123"
    text = "could not publish secret-own-key-xyz123"
    assert hide_stream_urls(text, [url]) == "could not publish {…}"


def test_it_hides_stored_secrets_in_every_string_of_a_payload() -> None:
    payload = {"room": {"metadata": f"key={quote_plus(KEY)}"}, "numbers": [1, KEY.upper()]}
    assert scrub(payload, Secrets([KEY])) == {
        "room": {"metadata": "key={…}"},
        "numbers": [1, "{…}"],
    }


def test_it_takes_the_secret_parts_of_stored_values() -> None:
    service_account = json.dumps(
        {"type": "service_account", "private_key_id": "abc123def456", "private_key": "-----PEM"}
    )
    values = stored_values(
        {
            "server_url": "srt://ingest.example.com:9000?passphrase=SECRET-pass-XYZ",
            "stream_key": "SECRET-key-XYZ",
            "credentials": service_account,
        }
    )
    assert "SECRET-pass-XYZ" in values
    assert "SECRET-key-XYZ" in values
    assert "abc123def456" in values
    assert "-----PEM" in values
    # The server's host names nothing secret: LiveKit's texts keep it.
    assert not any("ingest.example.com" in value for value in values)
