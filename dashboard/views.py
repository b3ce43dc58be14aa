"""Pages people see. Access goes through permissions (egress_app/roles.py), never group names."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.overview import load_overview
from egress_app.livekit import get_livekit_client
from egress_app.roles import VIEW_DASHBOARD, auser_role, perm

# Every role may see the live overview; a signed-in user without a role gets the 403 page.
can_view_dashboard = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)


@can_view_dashboard
async def home(request: HttpRequest) -> HttpResponse:
    # Renders at once with a loading state; the page then fetches `home_live` and polls it.
    user = await request.auser()
    return render(request, "dashboard/home.html", {"role": await auser_role(user)})


@can_view_dashboard
async def home_live(request: HttpRequest) -> HttpResponse:
    overview = await load_overview(get_livekit_client())
    return render(request, "dashboard/home.html#live", {"overview": overview})
