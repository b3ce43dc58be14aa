"""The live home page, for every role."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.overview import load_overview
from egress_app.livekit import get_livekit_client
from egress_app.roles import VIEW_DASHBOARD, perm

# Every role may see the live overview; a signed-in user without a role gets the 403 page.
can_view_dashboard = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)


@can_view_dashboard
def home(request: HttpRequest) -> HttpResponse:
    # Renders at once with a loading state; the page then fetches `home_live` and polls it.
    return render(request, "dashboard/home.html")


@can_view_dashboard
async def home_live(request: HttpRequest) -> HttpResponse:
    overview = await load_overview(get_livekit_client())
    return render(request, "dashboard/home.html#live", {"overview": overview})
