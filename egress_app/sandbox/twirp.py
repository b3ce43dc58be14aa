"""Twirp over ASGI, as protoc-gen-twirp generates it for LiveKit's services.

POST only; `application/protobuf` or `application/json` (parameters stripped); JSON requests are
read like protojson with DiscardUnknown, JSON responses use proto field names with defaults
emitted; errors are `{"code", "msg", "meta"?}` JSON with Twirp's HTTP status. Authentication runs
first, like LiveKit's middleware, and answers 401 in plain text.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from egress_app.sandbox.asgi import Receive, Scope, Send, header, read_body, send_bytes, send_text
from egress_app.sandbox.auth import AuthError, Grants, authenticate
from egress_app.sandbox.errors import TwirpError

logger = logging.getLogger("egress_app.sandbox.twirp")

PREFIX = "/twirp/"
JSON = "application/json"
PROTOBUF = "application/protobuf"

Handler = Callable[[Message, Grants], Awaitable[Message]]


@dataclass(frozen=True)
class Method:
    request_type: type[Message]
    handler: Handler


Services = dict[str, dict[str, Method]]


def _bad_route(msg: str, http_method: str, path: str) -> TwirpError:
    return TwirpError("bad_route", msg, {"twirp_invalid_route": f"{http_method} {path}"})


def encode_json(message: Message) -> bytes:
    return json_format.MessageToJson(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        indent=None,
    ).encode()


def error_body(error: TwirpError) -> bytes:
    body: dict[str, object] = {"code": error.code, "msg": error.msg}
    if error.meta:
        body["meta"] = error.meta
    return json.dumps(body, separators=(",", ":")).encode()


class TwirpRouter:
    def __init__(
        self, services: Services, api_key: str, api_secret: str, calls: Counter[str] | None = None
    ) -> None:
        self.services = services
        self.api_key = api_key
        self.api_secret = api_secret
        self.calls = Counter[str]() if calls is None else calls  # requests by method name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        self.calls[path.rpartition("/")[2]] += 1
        try:
            grants = authenticate(scope, self.api_key, self.api_secret)
        except AuthError as exc:
            logger.info("%s 401 unauthenticated (middleware)", path)
            await send_text(send, 401, str(exc))
            return
        try:
            method, content_type = self._route(scope)
            request = self._decode(await read_body(receive), method.request_type, content_type)
            response = await method.handler(request, grants)
        except TwirpError as error:
            logger.info("%s %d %s", path, error.status, error.code)
            await send_bytes(send, error.status, error_body(error), JSON)
            return
        except Exception:
            logger.exception("%s failed", path)
            internal = TwirpError("internal", "internal error")
            await send_bytes(send, internal.status, error_body(internal), JSON)
            return
        logger.info("%s 200 ok", path)
        if content_type == JSON:
            await send_bytes(send, 200, encode_json(response), JSON)
        else:
            await send_bytes(send, 200, response.SerializeToString(), PROTOBUF)

    def _route(self, scope: Scope) -> tuple[Method, str]:
        path, http_method = scope["path"], scope["method"]
        if http_method != "POST":
            raise _bad_route(
                f'unsupported method "{http_method}" (only POST is allowed)', http_method, path
            )
        service, _, name = path.removeprefix(PREFIX).partition("/")
        method = self.services.get(service, {}).get(name)
        if method is None:
            raise _bad_route(f'no handler for path "{path}"', http_method, path)
        raw = header(scope, "content-type")
        content_type = raw.split(";", 1)[0].strip().lower()
        if content_type not in (JSON, PROTOBUF):
            raise _bad_route(f'unexpected Content-Type: "{raw}"', http_method, path)
        return method, content_type

    @staticmethod
    def _decode(body: bytes, request_type: type[Message], content_type: str) -> Message:
        request = request_type()
        try:
            if content_type == JSON:
                json_format.Parse(body or b"{}", request, ignore_unknown_fields=True)
            else:
                request.ParseFromString(body)
        except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError) as exc:
            kind = "json" if content_type == JSON else "protobuf"
            raise TwirpError("malformed", f"the {kind} request could not be decoded") from exc
        return request
