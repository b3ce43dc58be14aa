from __future__ import annotations

import pickle

from egress_app.livekit import LiveKitError, LiveKitTimeout, LiveKitUnreachable
from egress_app.livekit.errors import clean_text, code_for_status


def test_it_prints_code_message_and_status() -> None:
    error = LiveKitError("not_found", "egress does not exist", 404)

    assert str(error) == "not_found: egress does not exist (HTTP 404)"


def test_it_prints_no_status_without_an_answer() -> None:
    error = LiveKitUnreachable("connection refused", url="http://127.0.0.1:1")

    assert str(error) == "unavailable: connection refused"
    assert error.status is None
    assert error.code == "unavailable"


def test_it_explains_busy_workers() -> None:
    error = LiveKitError("unavailable", "twirp error unknown: no response from servers", 503)

    assert error.plain == "No egress worker accepted the job (all busy or none connected)."


def test_it_explains_refused_credentials() -> None:
    error = LiveKitError("unauthenticated", "invalid authorization token: token is expired", 401)

    assert error.plain == (
        "LiveKit refused our credentials (check LIVEKIT_API_KEY / LIVEKIT_API_SECRET)."
    )


def test_it_explains_a_missing_permission_apart_from_bad_credentials() -> None:
    error = LiveKitError("unauthenticated", "permissions denied", 401)

    assert "credentials" in error.plain
    assert "permission" in error.plain


def test_it_explains_a_missing_room() -> None:
    error = LiveKitError("not_found", "requested room does not exist", 404)

    assert error.plain == "The room does not exist (any more)."


def test_it_explains_an_unreachable_server() -> None:
    error = LiveKitUnreachable("connection refused", url="http://127.0.0.1:1")

    assert error.plain == "LiveKit is unreachable at http://127.0.0.1:1: connection refused."


def test_it_explains_a_timeout_with_its_message() -> None:
    error = LiveKitTimeout("LiveKit did not answer ListRooms within 10 s")

    assert error.code == "deadline_exceeded"
    assert error.plain == "LiveKit did not answer ListRooms within 10 s."


def test_it_explains_a_proxy_error_page() -> None:
    meta = {"http_error_from_intermediary": "true", "status_code": "502"}
    error = LiveKitError("unavailable", "502 Bad Gateway nginx", 502, meta)

    assert (
        error.plain
        == "LiveKit (or a proxy in front of it) answered HTTP 502: 502 Bad Gateway nginx."
    )


def test_it_falls_back_to_code_and_message() -> None:
    error = LiveKitError("invalid_argument", "request has missing or invalid field: output", 400)

    assert (
        error.plain == "LiveKit rejected the request: request has missing or invalid field: output."
    )


def test_it_maps_statuses_like_twirp_clients() -> None:
    assert code_for_status(401) == "unauthenticated"
    assert code_for_status(403) == "permission_denied"
    assert code_for_status(404) == "bad_route"
    assert code_for_status(429) == "resource_exhausted"
    assert code_for_status(502) == "unavailable"
    assert code_for_status(503) == "unavailable"
    assert code_for_status(504) == "unavailable"
    assert code_for_status(500) == "internal"
    assert code_for_status(302) == "internal"
    assert code_for_status(418) == "unknown"


def test_it_cleans_html_into_a_short_excerpt() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
        "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
        + "<p>x</p>" * 200
        + "</body></html>"
    )

    text = clean_text(page)

    assert text.startswith("502 Bad Gateway 502 Bad Gateway nginx")
    assert "<" not in text
    assert "color" not in text
    assert len(text) <= 200


def test_it_never_repeats_a_token() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJkZXZrZXkifQ.c2lnbmF0dXJl"

    assert token not in clean_text(f"invalid authorization token {token}")


def test_it_survives_pickling() -> None:
    error = LiveKitUnreachable("connection refused", url="http://127.0.0.1:1")

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is LiveKitUnreachable
    assert (copy.code, copy.message, copy.status, copy.url) == (
        "unavailable",
        "connection refused",
        None,
        "http://127.0.0.1:1",
    )
