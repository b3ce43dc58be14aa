"""The Twirp transport, auth and error shapes, driven with raw HTTP."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
from livekit import api

from egress_app.sandbox.errors import TwirpError
from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import token, twirp

FILE_OUTPUT = {"file_outputs": [{"filepath": "out.mp4"}]}


def test_it_answers_json_with_proto_names_and_defaults(sandbox: RunningSandbox) -> None:
    response = twirp(sandbox, "StartRoomCompositeEgress", {"room_name": "town-hall", **FILE_OUTPUT})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    info = response.json()
    assert info["egress_id"].startswith("EG_")
    assert info["status"] == "EGRESS_STARTING"
    assert info["source_type"] == "EGRESS_SOURCE_TYPE_WEB"
    assert isinstance(info["started_at"], str)
    assert int(info["started_at"]) > 0
    assert info["error"] == ""
    assert info["error_code"] == 0
    assert info["stream_results"] == []
    assert info["room_composite"]["room_name"] == "town-hall"


def test_it_accepts_camel_case_and_ignores_unknown_fields(sandbox: RunningSandbox) -> None:
    body = {
        "roomName": "town-hall",
        "audioOnly": True,
        "fileOutputs": [{"filepath": "a.ogg", "fileType": "OGG"}],
        "notAField": 1,
    }

    response = twirp(
        sandbox,
        "StartRoomCompositeEgress",
        json.dumps(body).encode(),
        content_type="application/json; charset=UTF-8",
    )

    assert response.status_code == 200, response.text
    info = response.json()
    assert info["room_composite"]["audio_only"] is True
    assert info["source_type"] == "EGRESS_SOURCE_TYPE_SDK"
    assert info["file_results"][0]["filename"] == "a.ogg"


def test_it_answers_protobuf_to_protobuf(sandbox: RunningSandbox) -> None:
    request = api.ListEgressRequest(room_name="town-hall")

    response = twirp(
        sandbox, "ListEgress", request.SerializeToString(), content_type="application/protobuf"
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/protobuf"
    assert api.ListEgressResponse.FromString(response.content).items == []


def test_it_rejects_other_content_types_as_bad_route(sandbox: RunningSandbox) -> None:
    response = twirp(sandbox, "ListEgress", b"{}", content_type="text/plain")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == "bad_route"
    assert body["msg"].startswith("unexpected Content-Type")


def test_it_rejects_unknown_methods_and_non_post(sandbox: RunningSandbox) -> None:
    unknown = twirp(sandbox, "UpdateEgress", {})
    wrong_verb = httpx.get(f"{sandbox.url}/twirp/livekit.Egress/ListEgress")

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "bad_route"
    assert unknown.json()["meta"] == {
        "twirp_invalid_route": "POST /twirp/livekit.Egress/UpdateEgress"
    }
    assert wrong_verb.status_code == 404
    assert wrong_verb.json()["msg"] == 'unsupported method "GET" (only POST is allowed)'


def test_it_reports_undecodable_bodies_as_malformed(sandbox: RunningSandbox) -> None:
    as_json = twirp(sandbox, "ListEgress", b"{not json")
    as_proto = twirp(sandbox, "ListEgress", b"\xff\xff\xff", content_type="application/protobuf")

    assert (as_json.status_code, as_json.json()["code"]) == (400, "malformed")
    assert (as_proto.status_code, as_proto.json()["code"]) == (400, "malformed")


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("Token abc", "invalid authorization header. Must start with Bearer "),
        ("Bearer not-a-jwt", "invalid authorization token"),
    ],
)
def test_it_answers_plain_text_401_for_bad_headers(
    sandbox: RunningSandbox, authorization: str, expected: str
) -> None:
    response = httpx.post(
        f"{sandbox.url}/twirp/livekit.Egress/ListEgress",
        json={},
        headers={"Authorization": authorization},
    )

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == expected


def _signed(claims: dict[str, object], secret: str = "secret") -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_it_answers_plain_text_401_for_bad_tokens(sandbox: RunningSandbox) -> None:
    now = int(time.time())
    grant = {"video": {"roomRecord": True}}
    unknown_key = _signed({"iss": "nobody", "exp": now + 60, **grant})
    bad_signature = _signed({"iss": "devkey", "exp": now + 60, **grant}, secret="wrong")
    expired = _signed({"iss": "devkey", "exp": now - 120, **grant})
    no_exp = _signed({"iss": "devkey", **grant})

    answers = {
        name: twirp(sandbox, "ListEgress", {}, bearer=jwt_)
        for name, jwt_ in [
            ("unknown_key", unknown_key),
            ("bad_signature", bad_signature),
            ("expired", expired),
            ("no_exp", no_exp),
        ]
    }

    assert {r.status_code for r in answers.values()} == {401}
    assert answers["unknown_key"].text == "invalid API key: nobody"
    assert answers["bad_signature"].text.startswith("invalid token: ")
    assert "cryptographic primitive" in answers["bad_signature"].text
    assert "token is expired" in answers["expired"].text
    assert "missing exp" in answers["no_exp"].text


def test_it_accepts_tokens_within_the_leeway_and_in_the_query(sandbox: RunningSandbox) -> None:
    recently_expired = _signed(
        {"iss": "devkey", "exp": int(time.time()) - 30, "video": {"roomRecord": True}}
    )

    by_header = twirp(sandbox, "ListEgress", {}, bearer=recently_expired)
    by_query = httpx.post(
        f"{sandbox.url}/twirp/livekit.Egress/ListEgress",
        params={"access_token": token(sandbox, room_record=True)},
        json={},
    )

    assert by_header.status_code == 200
    assert by_query.status_code == 200


def test_it_refuses_a_token_it_accepted_once_the_token_expires(sandbox: RunningSandbox) -> None:
    # Valid until the leeway (60 s) runs out one to two seconds from now: `exp` is whole
    # seconds, and "now + 1" truncated could leave a slow machine too little to be let in.
    ending = int(time.time()) + 2
    bearer = _signed({"iss": "devkey", "exp": ending - 60, "video": {"roomRecord": True}})

    before = twirp(sandbox, "ListEgress", {}, bearer=bearer)
    while time.time() < ending + 0.1:
        time.sleep(0.1)
    after = twirp(sandbox, "ListEgress", {}, bearer=bearer)

    assert before.status_code == 200
    assert after.status_code == 401
    assert "token is expired" in after.text


def test_it_answers_twirp_unauthenticated_without_the_grant(sandbox: RunningSandbox) -> None:
    no_token = twirp(sandbox, "ListEgress", {}, bearer="")
    wrong_grant = twirp(sandbox, "ListEgress", {}, room_list=True)
    rooms_without_list = twirp(
        sandbox, "ListRooms", {}, service="livekit.RoomService", room_record=True
    )

    for response in (no_token, wrong_grant, rooms_without_list):
        assert response.status_code == 401
        assert response.json() == {"code": "unauthenticated", "msg": "permissions denied"}


async def test_it_surfaces_grant_errors_through_the_sdk(sandbox: RunningSandbox) -> None:
    client = api.LiveKitAPI.with_token(token(sandbox, room_list=True), sandbox.url)
    try:
        with pytest.raises(api.TwirpError) as caught:
            await client.egress.list_egress(api.ListEgressRequest())
    finally:
        await client.aclose()

    assert caught.value.code == "unauthenticated"
    assert caught.value.status == 401
    assert caught.value.message == "permissions denied"


def test_it_says_404_outside_its_routes(sandbox: RunningSandbox) -> None:
    assert httpx.get(f"{sandbox.url}/").status_code == 404


@pytest.mark.parametrize(
    ("code", "status"),
    [("data_loss", 500), ("resource_exhausted", 429), ("failed_precondition", 412), ("", 200)],
)
def test_it_answers_twirps_own_status_for_each_code(code: str, status: int) -> None:
    assert TwirpError(code, "msg").status == status


def test_it_turns_a_code_twirp_does_not_know_into_an_internal_error() -> None:
    # twirp errors.go NewError
    error = TwirpError("dataloss", "msg")

    assert (error.code, error.msg, error.status) == ("internal", "invalid error type dataloss", 500)
