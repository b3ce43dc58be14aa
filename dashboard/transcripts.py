"""What the transcript pages show: which transcripts a user reads (those of the sessions they
see), the Transcripts list and its search a keyset page at a time, a transcript as turns."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import QuerySet
from django.http import QueryDict

from dashboard import audio
from dashboard.forms import TranscriptFilterForm
from egress_app import history, transcripts
from egress_app.launch.config import row_id
from egress_app.models import TranscriptGap, Transcription, Utterance
from egress_app.roles import may_delete_transcript

PAGE_SIZE = 30
TURNS_PAGE = 500  # utterances a transcript page shows before its "Later" link


def transcripts_for(user: AbstractUser | AnonymousUser) -> QuerySet[Transcription]:
    """The transcripts of the sessions `user` sees (`audio.sessions_for`)."""
    sessions = audio.sessions_for(user).values("pk")
    return Transcription.objects.filter(session__in=sessions).select_related("session")


def list_context(user: AbstractUser | AnonymousUser, query: QueryDict) -> dict[str, Any]:
    form = TranscriptFilterForm(query)
    form.is_valid()  # filters that do not validate are shown with their error and not applied
    filters = form.cleaned_data
    mine = transcripts_for(user)
    after, before = form.cursor("after"), form.cursor("before")
    if filters.get("words"):
        found = transcripts.search(mine, filters)
        page: history.Page[Any] = history.page(
            found, form.order, after=after, before=before, size=PAGE_SIZE
        )
    else:
        listed = transcripts.filtered_transcripts(mine, filters)
        page = history.page(listed, form.order, after=after, before=before, size=PAGE_SIZE)
    return {"form": form, "page": page, "searching": bool(filters.get("words"))}


def page_context(
    user: AbstractUser | AnonymousUser, transcription: Transcription, after: str
) -> dict[str, Any]:
    """The transcript's turns, from the utterance after `after` (`<seconds>~<pk>`) on."""
    start = _position(after)
    utterances = transcription.utterances.all()
    page = history.page(utterances, transcripts.SPOKEN_ORDER, after=start, size=TURNS_PAGE)
    gaps = _page_gaps(transcription, start, page)
    return {
        "transcription": transcription,
        "session": transcription.session,
        "turns": list(transcripts.with_gaps(page.rows, gaps)),
        "later": str(page.older or ""),
        "continued": start is not None,
        "may_delete": may_delete_transcript(user),
    }


def _page_gaps(
    transcription: Transcription, start: history.Cursor | None, page: history.Page[Utterance]
) -> list[TranscriptGap]:
    """The gaps among this page's utterances: from where it starts (the transcript's start, on
    the first page) to where the next page starts (its end, on the last), so each shows on one
    page, before the first utterance said after it."""
    since = float(start.value) if start is not None else None
    until = float(page.older.value) if page.older is not None else None
    return transcripts.gaps_between(transcription, since, until)


def _position(text: str) -> history.Cursor | None:
    """A place in the transcript from the URL: after an utterance (`<seconds>~<pk>`, the
    "Later" link), or from a time on (`<seconds>`, a search's match a little before it); None
    (its start) when it reads as neither."""
    seconds, tilde, digits = text.partition("~")
    try:
        value = float(seconds)
    except ValueError:
        return None
    pk = row_id(digits) if tilde else 0
    if pk is None or not math.isfinite(value) or value < 0:  # before the start: the start
        return None
    return history.Cursor(value, pk)
