"""Every refusal as a `Problem` (schemas.py): the domain's ValidationError with its field
paths (400), a role's refusal (403), a missing object (404), LiveKit's refusal in plain words
with its Twirp code (409, 502 when LiveKit cannot be reached), a malformed body (422)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja import errors as ninja_errors

from egress_app import actions
from egress_app.livekit import LiveKitError
from egress_app.models import EgressJob

ERRORS = (400, 401, 403, 404, 409, 422, 429, 502)
_TWIRP = re.compile(r"^Twirp (\w+):")


def prefixed(error: ValidationError, prefix: str) -> ValidationError:
    """`error` with its field paths as the request names them (`config.` + the launch
    config's path); its messages as they are."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {
            path if path == NON_FIELD_ERRORS else f"{prefix}{path}": texts
            for path, texts in error.message_dict.items()
        }
    )


def problem(api: NinjaAPI, request: HttpRequest, status: int, **body: Any) -> HttpResponse:
    return api.create_response(request, body, status=status)


def _invalid(api: NinjaAPI, request: HttpRequest, error: ValidationError) -> HttpResponse:
    if not hasattr(error, "error_dict"):
        return problem(api, request, 400, detail=" ".join(error.messages))
    errors = {path: " ".join(texts) for path, texts in error.message_dict.items()}
    general = errors.pop(NON_FIELD_ERRORS, "")
    detail = general or "The request has errors: see `errors`, by field."
    return problem(api, request, 400, detail=detail, errors=errors)


def _malformed(api: NinjaAPI, request: HttpRequest, error: Any) -> HttpResponse:
    errors = {
        ".".join(str(part) for part in item.get("loc", ())): str(item.get("msg", "invalid"))
        for item in error.errors
    }
    detail = "The request does not match the API's schema: see `errors`, by field."
    return problem(api, request, 422, detail=detail, errors=errors)


def refusal(job: EgressJob, message: str) -> dict[str, Any]:
    """A JobError's answer: LiveKit's Twirp code when the message is LiveKit's refusal."""
    twirp = _TWIRP.match(job.details) if job.error == message else None
    return {"detail": message, "job_id": job.pk, "twirp_code": twirp[1] if twirp else None}


def install(api: NinjaAPI) -> None:
    """Answer every refusal of the domain and of LiveKit as JSON, never as a page."""

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
        return _invalid(api, request, error)

    @api.exception_handler(ninja_errors.ValidationError)
    def malformed(request: HttpRequest, error: ninja_errors.ValidationError) -> HttpResponse:
        return _malformed(api, request, error)

    @api.exception_handler(PermissionDenied)
    def denied(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
        return problem(api, request, 403, detail=str(error) or "Your role may not do that.")

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, error: Http404) -> HttpResponse:
        return problem(api, request, 404, detail="Not found.")

    @api.exception_handler(actions.JobError)
    def refused(request: HttpRequest, error: actions.JobError) -> HttpResponse:
        return problem(api, request, 409, **refusal(error.job, error.message))

    @api.exception_handler(LiveKitError)
    def unreachable(request: HttpRequest, error: LiveKitError) -> HttpResponse:
        return problem(api, request, 502, detail=error.plain, twirp_code=error.code)
