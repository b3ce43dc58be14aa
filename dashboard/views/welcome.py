"""Where a password link leads: the invitee (or a person resetting their password) chooses a
password, checked by Django's password validators, then signs in.

Opening `/welcome/<token>/` keeps only the token's hash in the session and redirects to
`/welcome/`, so the token leaves the address bar (and any Referer) at once; the servers' access
logs hide it (dashboard/people_links.py). A wrong, used or expired link gets a page that says
so (410), never a 500."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from egress_app.actions import people

SESSION_KEY = "password_link_hash"
TEMPLATE = "dashboard/welcome.html"


@login_not_required
@require_GET
def welcome_link(request: HttpRequest, token: str) -> HttpResponse:
    request.session[SESSION_KEY] = people.token_hash(token)
    return redirect("dashboard-welcome")


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, TEMPLATE, {"refused": reason}, status=410)


@login_not_required
def welcome(request: HttpRequest) -> HttpResponse:
    hashed = request.session.get(SESSION_KEY)
    if not hashed:
        return _refused(request, "Open the link you were given to choose your password.")
    try:
        link = people.usable_link(hashed)
    except people.LinkError as error:
        return _refused(request, str(error))
    form = SetPasswordForm(link.user, request.POST or None)
    # Django's help is an HTML list; the field's hint is one paragraph of plain text.
    form.fields["new_password1"].help_text = " ".join(password_validators_help_texts())
    if request.method == "POST" and form.is_valid():
        try:
            user = people.set_password_by_link(hashed, form.cleaned_data["new_password1"])
        except people.LinkError as error:
            return _refused(request, str(error))
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"Password set. Log in as {user.get_username()}.")
        return redirect("login")
    return render(request, TEMPLATE, {"form": form, "link": link})
