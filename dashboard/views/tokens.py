"""The Tokens page: each person's personal API tokens (admins see and revoke everyone's),
a new token shown once, and a confirmation before a revoke. The API they open is
dashboard/api; the rules are `actions.create_token` / `revoke_token`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from dashboard.forms import ActionErrorsMixin
from egress_app import actions, history
from egress_app.actions.tokens import may_manage_all
from egress_app.models import ApiToken
from egress_app.roles import VIEW_DASHBOARD, perm

has_role = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)
DEFAULT_DAYS = 90


class TokenForm(ActionErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="What uses it, e.g. “CI recordings”."
    )
    expires_on = forms.DateField(
        label="Expires after",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="It stops working at the end of that day.",
    )


def _tokens(request: HttpRequest) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    return tokens if may_manage_all(request.user) else tokens.filter(Q(user__pk=request.user.pk))


def _page(request: HttpRequest, form: TokenForm, **extra: Any) -> HttpResponse:
    context = {
        "form": form,
        "tokens": _tokens(request),
        "everyone": may_manage_all(request.user),
        "zone": timezone.get_current_timezone_name(),
    }
    response = render(request, "dashboard/tokens.html", context | extra)
    response["Cache-Control"] = "no-store"  # a new token is on it, once
    return response


def _expiry(day: date) -> Any:
    return history.start_of(day + timedelta(days=1))  # the end of that day, in TIME_ZONE


@has_role
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        initial = {"expires_on": timezone.localdate() + timedelta(days=DEFAULT_DAYS)}
        return _page(request, TokenForm(initial=initial))
    form = TokenForm(request.POST)
    if form.is_valid():
        expires_at = _expiry(form.cleaned_data["expires_on"])
        try:
            created = actions.create_token(
                request.user, name=form.cleaned_data["name"], expires_at=expires_at
            )
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            return _page(request, TokenForm(initial=form.cleaned_data), created=created)
    return _page(request, form)


@has_role
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(_tokens(request), pk=pk)
    if request.method != "POST":
        return render(request, "dashboard/token_revoke.html", {"token": token})
    actions.revoke_token(request.user, token)
    messages.success(request, f"Revoked the token {token.name}: it no longer works.")
    return redirect("dashboard-token-list")
