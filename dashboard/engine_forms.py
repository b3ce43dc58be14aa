"""The engine profile form: its own fields, then those of the chosen kind (transcribe/kinds.py's
`FIELDS`).

Secret inputs are write-only, as on the storage form (dashboard/forms.py): never rendered, an
empty one keeps what is stored, and each stored one gains a `clear_<name>` checkbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django import forms

from dashboard.forms import (
    CLEAR_PREFIX,
    KEEP_HELP,
    ActionErrorsMixin,
    add_kind_fields,
    set_up_profile_form,
    stored_hints,
    with_clear_boxes,
)
from egress_app.models import EngineKind, EngineProfile
from egress_app.transcribe import kinds
from egress_app.transcribe.kinds import Field

SECRET_INPUT = {"autocomplete": "new-password", "spellcheck": "false"}
# Said above a kind's fields.
ABOUT = {
    "builtin": "Runs on this server with no account and no network. English only, and far less "
    "accurate than the cloud engines.",
    "forward": "Sends the session's 16 kHz mono PCM to a websocket your team runs.",
}


def _help(field: Field, hint: str | None) -> str:
    # A stored secret's help says only what is kept: the kind's help tells a new form's reader.
    return KEEP_HELP.format(hint=hint) if hint else field.help


def engine_field(field: Field, *, hint: str | None = None) -> forms.Field:
    """The Django form field for a kind's field. A stored required secret becomes optional
    (empty keeps it); the action still refuses a missing required value."""
    label, help_text = field.label, _help(field, hint)
    if field.kind == "bool":
        return forms.BooleanField(label=label, required=False, help_text=help_text)
    if field.kind == "choice":
        return forms.ChoiceField(
            label=label, required=field.required, help_text=help_text, choices=field.choices
        )
    if field.secret:
        widget: forms.Widget = forms.PasswordInput(render_value=False, attrs=SECRET_INPUT)
    elif field.kind == "url":
        widget = forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    elif field.kind == "number":
        widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    required = field.required and not hint
    return forms.CharField(
        label=label, required=required, help_text=help_text, widget=widget, strip=False
    )


class EngineProfileForm(ActionErrorsMixin, forms.Form):
    """An engine profile: name, kind, default; then the kind's fields (keeping their names,
    `api_key`, `model`). An existing profile keeps its kind."""

    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Engine", choices=EngineKind.choices)
    is_default = forms.BooleanField(
        label="Default profile",
        required=False,
        help_text="Preselected when a producer starts transcribing.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        kind: str,
        profile: EngineProfile | None = None,
    ) -> None:
        super().__init__(data, initial=self._initial(kind, profile))
        self.profile = profile
        self.engine_kind = kind
        self.label = EngineKind(kind).label
        self.about = ABOUT.get(kind, "")
        set_up_profile_form(
            self, profile, choice="kind", what="engine", fields_url="dashboard-engine-fields"
        )
        hints = stored_hints(profile) if profile is not None and profile.kind == kind else {}
        made = ((f.name, engine_field(f, hint=hints.get(f.name))) for f in kinds.FIELDS[kind])
        add_kind_fields(self, made, hints)

    @staticmethod
    def _initial(kind: str, profile: EngineProfile | None) -> dict[str, Any]:
        if profile is None:
            defaults = {f.name: f.default for f in kinds.config_fields(kind) if f.default != ""}
            return defaults | {"kind": kind}
        config = dict(profile.config)
        for field in kinds.config_fields(profile.kind):
            if field.kind == "languages" and isinstance(config.get(field.name), list):
                config[field.name] = ", ".join(config[field.name])
        return config | {
            "name": profile.name,
            "kind": profile.kind,
            "is_default": profile.is_default,
        }

    def kind_fields(self) -> Iterator[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each of the kind's fields with its "replace" checkbox, if it has one."""
        return with_clear_boxes(self, (field.name for field in kinds.FIELDS[self.engine_kind]))

    def update_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for actions.update_engine_profile (after is_valid())."""
        data, secret = self.cleaned_data, kinds.secret_fields(self.engine_kind)
        return {
            "name": data["name"],
            "config": {f.name: data.get(f.name) for f in kinds.config_fields(self.engine_kind)},
            "secrets": {f.name: data.get(f.name) or "" for f in secret},
            "clear": [f.name for f in secret if data.get(CLEAR_PREFIX + f.name)],
            "is_default": data["is_default"],
        }

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for actions.create_engine_profile (after is_valid())."""
        kwargs = self.update_kwargs()
        del kwargs["clear"]
        return {"kind": self.engine_kind, **kwargs}
