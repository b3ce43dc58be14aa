"""Transcripts: the list and its search, a transcript's page, its downloads and its deletion.
Whoever sees a session reads and downloads its transcripts (producers, support read-only);
admins delete one (`roles.may_delete_transcript`, checked by the action too)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from dashboard import transcripts
from dashboard.views.jobs import sees_jobs
from egress_app import actions, transcript_files
from egress_app.models import Transcription
from egress_app.roles import may_delete_transcript

DELETE_PAGE = "dashboard/transcript_delete.html"


def _get_transcript_for_user(request: HttpRequest, pk: int) -> Transcription:
    return get_object_or_404(transcripts.transcripts_for(request.user), pk=pk)


@sees_jobs
@require_GET
def transcript_list(request: HttpRequest) -> HttpResponse:
    context = transcripts.list_context(request.user, request.GET)
    return render(request, "dashboard/transcript_list.html", context)


@sees_jobs
@require_GET
def transcript_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transcription = _get_transcript_for_user(request, pk)
    after = request.GET.get("after", "")
    context = transcripts.page_context(request.user, transcription, after)
    context["formats"] = transcript_files.FORMATS.values()
    return render(request, "dashboard/transcript_detail.html", context)


@sees_jobs
@require_GET
def transcript_download(request: HttpRequest, pk: int, form: str) -> StreamingHttpResponse:
    """The whole transcript in one format, streamed as it is read (under ASGI)."""
    transcription = _get_transcript_for_user(request, pk)
    if (chosen := transcript_files.FORMATS.get(form)) is None:
        raise Http404("No such format.")
    pieces = transcript_files.streamed(transcription, chosen)
    response = StreamingHttpResponse(pieces, content_type=chosen.content_type)
    name = transcript_files.file_name(transcription, chosen)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@sees_jobs
def transcript_delete(request: HttpRequest, pk: int) -> HttpResponse:
    transcription = _get_transcript_for_user(request, pk)
    if not may_delete_transcript(request.user):
        raise PermissionDenied
    context = {"transcription": transcription}
    if request.method != "POST":
        return render(request, DELETE_PAGE, context)
    try:
        actions.delete_transcript(request.user, transcription)
    except ValidationError as error:
        return render(request, DELETE_PAGE, context | {"refused": " ".join(error.messages)})
    messages.success(request, f"Deleted the transcript of {transcription.session.room_name}.")
    return redirect("dashboard-audio-session", pk=transcription.session_id)
