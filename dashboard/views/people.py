"""The People page: admins list the team, create or invite people, change roles, deactivate and
reactivate them, and make password reset links. Producers and support never reach it (403).

A new link is shown once, in the answer to the POST that made it: never in a flash message,
which the session would store."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.people_forms import PeopleFilterForm, PersonForm, RoleForm
from dashboard.views.common import HtmxHttpRequest
from egress_app.actions import people
from egress_app.models import LinkPurpose
from egress_app.roles import ADMINS, MANAGE_USERS, ROLE_LABELS, perm

logger = logging.getLogger(__name__)
manages_users = permission_required(perm(MANAGE_USERS), raise_exception=True)
LIST = "dashboard-people-list"


@dataclass(frozen=True)
class Person:
    """A user as the People page shows them."""

    user: User
    role: str | None  # the role group's name
    state: str  # active, invited, invite-expired, deactivated

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role] if self.role else "No role"

    @property
    def state_label(self) -> str:
        return self.state.replace("-", " ").capitalize()


def _state(user: User) -> str:
    if not user.is_active:
        return "deactivated"
    if user.has_usable_password() or user.last_login is not None:
        return "active"
    links = [link for link in user.password_links.all() if link.used_at is None]
    return "invited" if any(not link.expired for link in links) else "invite-expired"


def _person(user: User) -> Person:
    return Person(user=user, role=people.role_of(user), state=_state(user))


def _matching(filters: dict[str, str]) -> list[Person]:
    users: QuerySet[User] = User.objects.order_by("username").prefetch_related(
        "groups", "password_links"
    )
    if q := filters.get("q"):
        users = users.filter(Q(username__icontains=q) | Q(email__icontains=q))
    found = [_person(user) for user in users]
    if role := filters.get("role"):
        found = [p for p in found if p.role == (None if role == "none" else role)]
    if state := filters.get("state"):
        found = [p for p in found if p.state.startswith(state)]
    return found


@manages_users
@require_GET
def people_list(request: HtmxHttpRequest) -> HttpResponse:
    form = PeopleFilterForm(request.GET)
    form.is_valid()  # Filters that do not validate are shown with their error and not applied.
    context = {"form": form, "people": _matching(form.cleaned_data), "filtered": form.filtering}
    template = "dashboard/people_list.html"
    return render(request, template + "#results" if request.htmx else template, context)


def _link_page(request: HttpRequest, user: User, issued: people.IssuedLink) -> HttpResponse:
    url = request.build_absolute_uri(reverse("dashboard-welcome-link", args=[issued.token]))
    emailed = _email_link(user, url, issued.link.purpose) if settings.EMAIL_CONFIGURED else False
    context = {"person": user, "url": url, "link": issued.link, "emailed": emailed}
    return render(request, "dashboard/person_link.html", context)


def _email_link(user: User, url: str, purpose: str) -> bool:
    if not user.email:
        return False
    invited = purpose == LinkPurpose.INVITE
    subject = "You are invited to the Egress Dashboard" if invited else "Reset your password"
    body = (
        f"Hello {user.get_username()},\n\nOpen this link to choose your password "
        f"(it works once, for {settings.INVITE_LINK_HOURS:g} hours):\n\n{url}\n"
    )
    try:
        send_mail(subject, body, None, [user.email])
    except (OSError, smtplib.SMTPException) as error:
        # The admin still has the link to copy; the page says it was not emailed.
        logger.warning("Could not email a password link to %s: %s", user.get_username(), error)
        return False
    return True


@manages_users
def person_create(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, issued = people.create_person(
            request.user,
            username=data["username"],
            email=data["email"],
            role=data["role"],
            password=form.password,
        )
        if issued is not None:
            return _link_page(request, user, issued)
        messages.success(request, f"Created {user.get_username()}; they can sign in now.")
        return redirect("dashboard-person-detail", pk=user.pk)
    context = {
        "form": form,
        "invite_hours": f"{settings.INVITE_LINK_HOURS:g}",
        "email_configured": bool(settings.EMAIL_CONFIGURED),
    }
    return render(request, "dashboard/person_create.html", context)


def _get_user(pk: int) -> User:
    return get_object_or_404(User.objects.prefetch_related("groups", "password_links"), pk=pk)


@manages_users
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(_get_user(pk))
    form = RoleForm(initial={"role": person.role})
    return render(request, "dashboard/person_detail.html", {"person": person, "form": form})


@manages_users
@require_POST
def person_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
    else:
        try:
            people.change_role(request.user, user, form.cleaned_data["role"])
        except people.LastAdminError as error:
            messages.error(request, str(error))
        else:
            label = ROLE_LABELS[form.cleaned_data["role"]]
            messages.success(request, f"{user.get_username()} is now {label}.")
    if user.pk == request.user.pk and not user.is_superuser and people.role_of(user) != ADMINS:
        return redirect("dashboard-home")  # they stepped down: People is no longer theirs
    return redirect("dashboard-person-detail", pk=user.pk)


@manages_users
def person_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then deactivate: they are signed out everywhere and cannot sign in."""
    user = _get_user(pk)
    context: dict[str, object] = {"person": _person(user)}
    if request.method == "POST":
        try:
            people.deactivate_person(request.user, user)
        except people.LastAdminError as error:
            return render(
                request,
                "dashboard/person_deactivate.html",
                context | {"refused": error},
                status=409,
            )
        messages.success(request, f"Deactivated {user.get_username()}; their sessions ended.")
        if user.pk == request.user.pk:
            return redirect("login")
        return redirect("dashboard-person-detail", pk=user.pk)
    return render(request, "dashboard/person_deactivate.html", context)


@manages_users
@require_POST
def person_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    people.reactivate_person(request.user, user)
    messages.success(request, f"Reactivated {user.get_username()}; they can sign in again.")
    return redirect("dashboard-person-detail", pk=user.pk)


@manages_users
def person_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then make a one-time link to set a new password (replacing older links)."""
    user = _get_user(pk)
    if request.method == "POST" and user.is_active:
        return _link_page(request, user, people.make_reset_link(request.user, user))
    return render(request, "dashboard/person_reset.html", {"person": _person(user)})
