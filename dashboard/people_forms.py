"""Forms of the People page: a new person, a role, and the People list's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import User

from egress_app.roles import PRODUCERS, ROLE_LABELS

ROLE_CHOICES = list(ROLE_LABELS.items())
INVITE = "invite"
PASSWORD = "password"
STATES = [
    ("", "Any state"),
    ("active", "Active"),
    ("invited", "Invited"),
    ("deactivated", "Deactivated"),
]


class PersonForm(forms.ModelForm):
    """A new person: a username (unique, Django's rules), an email, a role, and either an
    invitation link or a password the admin sets (Django's password validators)."""

    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial=PRODUCERS)
    how = forms.ChoiceField(
        label="Sign-in",
        choices=[
            (INVITE, "Invite: a one-time link where they choose their password"),
            (PASSWORD, "Set a password now and give it to them"),
        ],
        initial=INVITE,
        widget=forms.RadioSelect,
    )
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        help_text="Only when setting a password now.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ["username", "email"]
        help_texts = {"email": "The invitation is emailed here when email is configured."}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("how") != PASSWORD:
            return data
        password = data.get("password1") or ""
        if not password:
            self.add_error("password1", "Enter the password, or choose to invite them.")
        elif password != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        else:
            self._validate_password(password, data)
        return data

    def _validate_password(self, password: str, data: dict[str, Any]) -> None:
        candidate = User(username=data.get("username", ""), email=data.get("email", ""))
        try:
            password_validation.validate_password(password, candidate)
        except forms.ValidationError as error:
            self.add_error("password1", error)

    @property
    def password(self) -> str | None:
        return self.cleaned_data["password1"] if self.cleaned_data["how"] == PASSWORD else None


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=150)
    role = forms.ChoiceField(
        label="Role", required=False, choices=[("", "Any role"), *ROLE_CHOICES, ("none", "No role")]
    )
    state = forms.ChoiceField(label="State", required=False, choices=STATES)

    @property
    def filtering(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields)
