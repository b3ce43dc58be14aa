"""Forms of the admins' pages. They shape input for the actions in egress_app/actions.py; the
actions validate it and raise ValidationError({field: message}), which `add_action_errors` puts
back on the form's fields.

Secret inputs are write-only: they never render a value, not even the one just typed, and an
empty one keeps what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.choices import BaseChoiceIterator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from egress_app import history, transcripts
from egress_app.actions.support import NOTE_LENGTH
from egress_app.crypto import SecretKeyError
from egress_app.models import (
    AuditAction,
    AuditEntry,
    AuditTarget,
    EgressKind,
    EngineKind,
    EngineProfile,
    StorageProfile,
    StreamDestination,
)
from egress_app.models.base import SecretsMixin
from egress_app.storage.providers import PROVIDERS, Field, format_key_values

CLEAR_PREFIX = "clear_"
KEEP_HELP = "Stored: {hint}. Leave empty to keep it."
CLEAR_LABEL = "Replace (clear the stored value)"


class SecretTextarea(forms.Textarea):
    """A textarea for a secret (a service account key): never renders a value."""

    def format_value(self, value: Any) -> str | None:
        return None


def stored_hints(owner: SecretsMixin | None) -> dict[str, str]:
    """The owner's secret hints; none when its secrets cannot be decrypted with the current keys
    (the form then asks for every secret again, as for a new one)."""
    if owner is None:
        return {}
    try:
        return owner.secret_hints()
    except SecretKeyError:
        return {}


def _secret_widget(kind: str) -> forms.Widget:
    if kind in ("json", "textarea", "keyvalue"):
        return SecretTextarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"})
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


def _plain_widget(kind: str) -> forms.Widget:
    if kind == "bool":
        return forms.CheckboxInput()
    if kind in ("json", "textarea", "keyvalue"):
        return forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})
    if kind == "url":
        return forms.URLInput(attrs={"autocomplete": "off"})
    return forms.TextInput(attrs={"autocomplete": "off"})


def _help(field: Field, hint: str | None) -> str:
    kept = KEEP_HELP.format(hint=hint) if hint else ""
    return " ".join(part for part in (field.help, kept) if part)


def form_field(field: Field, *, hint: str | None = None) -> forms.Field:
    """The Django form field for a provider's field. Required secrets that are already stored
    become optional (empty keeps them); the action still refuses a missing required value."""
    if field.kind == "bool":
        return forms.BooleanField(label=field.label, required=False, help_text=field.help)
    widget = _secret_widget(field.kind) if field.secret else _plain_widget(field.kind)
    return forms.CharField(
        label=field.label,
        required=field.required and not hint,
        help_text=_help(field, hint),
        widget=widget,
        strip=False,
    )


class ActionErrorsMixin:
    """Puts an action's ValidationError on the fields it names, the rest on the whole form."""

    def add_action_errors(self, error: ValidationError) -> None:
        form: Any = self
        messages = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, texts in messages.items():
            target = name if name in form.fields else None
            for text in texts:
                form.add_error(target, text)


def set_up_profile_form(
    form: forms.Form,
    profile: StorageProfile | EngineProfile | None,
    *,
    choice: str,
    what: str,
    fields_url: str,
) -> None:
    """A storage or engine profile form's `choice` field (its provider or engine, `what`): on a
    new profile choosing another swaps its fieldset (from `fields_url`) in, without a reload;
    an existing profile keeps it. The default profile stays the default until another becomes it."""
    if profile is None:
        form.fields[choice].widget.attrs.update(
            {
                "hx-get": reverse(fields_url),
                "hx-target": f"#{choice}-fields",
                "hx-swap": "outerHTML",
            }
        )
    else:
        form.fields[choice].disabled = True
        form.fields[
            choice
        ].help_text = f"A profile keeps its {what}: add a new profile for another one."
    if profile is not None and profile.is_default:
        # Unticking would do nothing: another profile takes over only by becoming the default.
        form.fields["is_default"].disabled = True
        form.fields[
            "is_default"
        ].help_text = (
            "This is the default profile. Make another profile the default to change that."
        )


def add_kind_fields(
    form: forms.Form, made: Iterable[tuple[str, forms.Field]], hints: Mapping[str, str]
) -> None:
    """Add a provider's or engine's fields; each stored secret gains a `clear_<name>` box."""
    for name, field in made:
        form.fields[name] = field
        if name in hints:
            form.fields[CLEAR_PREFIX + name] = forms.BooleanField(label=CLEAR_LABEL, required=False)


def with_clear_boxes(
    form: forms.Form, names: Iterable[str]
) -> Iterator[tuple[forms.BoundField, forms.BoundField | None]]:
    """Each named field with its "replace" checkbox, if it has one, for the fieldset."""
    for name in names:
        clear = form.fields.get(CLEAR_PREFIX + name)
        yield form[name], (form[CLEAR_PREFIX + name] if clear else None)


class StorageProfileForm(ActionErrorsMixin, forms.Form):
    """A storage profile: its own fields, then the chosen provider's (see providers.Field).

    The provider's fields keep their names (`bucket`, `secret`); each stored secret gains a
    `clear_<name>` checkbox. An existing profile's provider cannot change: the actions keep it.
    """

    name = forms.CharField(label="Name", max_length=100)
    provider = forms.ChoiceField(
        label="Provider", choices=[(key, spec.label) for key, spec in PROVIDERS.items()]
    )
    path_template = forms.CharField(
        label="Path template",
        required=False,
        help_text="Default folder or file name for recordings, e.g. recordings/{room_name}/{time}. "
        "LiveKit fills {room_name}, {room_id}, {time}, {utc}, {publisher_identity}, {track_id}, "
        "{track_type}, {track_source} and {retry}; {time} and {utc} are in UTC.",
    )
    is_default = forms.BooleanField(
        label="Default profile",
        required=False,
        help_text="Recordings go here when a producer does not pick a profile.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        provider: str,
        profile: StorageProfile | None = None,
    ) -> None:
        super().__init__(data, initial=self._initial(provider, profile))
        self.profile = profile
        self.spec = PROVIDERS[provider]
        set_up_profile_form(
            self,
            profile,
            choice="provider",
            what="provider",
            fields_url="dashboard-storage-fields",
        )
        hints = stored_hints(profile) if profile and profile.provider == provider else {}
        made = ((f.name, form_field(f, hint=hints.get(f.name))) for f in self.spec.fields)
        add_kind_fields(self, made, hints)

    @staticmethod
    def _initial(provider: str, profile: StorageProfile | None) -> dict[str, Any]:
        if profile is None:
            return {"provider": provider}
        config = dict(profile.config)
        for field in PROVIDERS[profile.provider].config_fields:
            if field.kind == "keyvalue" and isinstance(config.get(field.name), Mapping):
                config[field.name] = format_key_values(config[field.name])
        return config | {
            "name": profile.name,
            "provider": profile.provider,
            "path_template": profile.path_template,
            "is_default": profile.is_default,
        }

    def provider_fields(self) -> Iterator[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each provider field with its "replace" checkbox, if it has one, for the fieldset."""
        return with_clear_boxes(self, (field.name for field in self.spec.fields))

    def _values(self, secret: bool) -> dict[str, Any]:
        fields = self.spec.secret_fields if secret else self.spec.config_fields
        return {field.name: self.cleaned_data.get(field.name) for field in fields}

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for actions.create_storage_profile (after is_valid())."""
        kwargs = self.update_kwargs()
        del kwargs["clear"]
        return {"provider": self.spec.key, **kwargs}

    def update_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for actions.update_storage_profile (after is_valid())."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "config": self._values(secret=False),
            "secrets": {k: v or "" for k, v in self._values(secret=True).items()},
            "clear": [f.name for f in self.spec.secret_fields if data.get(CLEAR_PREFIX + f.name)],
            "path_template": data["path_template"],
            "is_default": data["is_default"],
        }


class NameForm(ActionErrorsMixin, forms.Form):
    """The new name of a duplicate."""

    name = forms.CharField(label="Name of the copy", max_length=100)


class StreamDestinationForm(ActionErrorsMixin, forms.Form):
    """A stream destination: both its server URL and stream key are secret, so both are
    write-only here; an edit shows hints of the stored values."""

    name = forms.CharField(label="Name", max_length=100)
    server_url = forms.CharField(
        label="Server URL",
        help_text="rtmp://, rtmps:// or srt:// URL of the ingest server, e.g. "
        "rtmp://a.rtmp.youtube.com/live2; or mux:// or twitch:// with the key below.",
        # The stored URL is never the initial value, so it is never rendered; what the person
        # just typed comes back on a refused submit, to be corrected rather than typed again.
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        strip=False,
    )
    stream_key = forms.CharField(
        label="Stream key",
        required=False,
        help_text="Kept apart from the URL and never shown again. SRT URLs may carry the "
        "streamid themselves and need no key.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    clear_stream_key = forms.BooleanField(label=CLEAR_LABEL, required=False)

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, destination: StreamDestination | None = None
    ) -> None:
        initial = {"name": destination.name} if destination else {}
        super().__init__(data, initial=initial)
        hints = stored_hints(destination)
        for name in ("server_url", "stream_key"):
            if hint := hints.get(name):
                field = self.fields[name]
                field.required = False
                field.help_text = KEEP_HELP.format(hint=hint)
        if "stream_key" not in hints:
            del self.fields["clear_stream_key"]

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "server_url": data["server_url"],
            "stream_key": data["stream_key"],
        }

    def clear(self) -> list[str]:
        return ["stream_key"] if self.cleaned_data.get("clear_stream_key") else []


class NoteForm(ActionErrorsMixin, forms.Form):
    text = forms.CharField(
        label="Add a note",
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you found or did. Everyone who reviews jobs reads it; no secrets.",
    )


class DaysForm(forms.Form):
    """Filters read from the query string, with a range of days (`since` to `until`)."""

    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    @property
    def filtering(self) -> bool:
        """Whether any filter is applied (ones that did not validate are not; an order is not
        a filter)."""
        data = getattr(self, "cleaned_data", {})
        return any(self.data.get(name) and name in data for name in self.fields if name != "sort")


class TranscriptFilterForm(DaysForm):
    """The Transcripts list's search and filters, as the URL carries them. With words, the list
    is the utterances saying them; without, the transcripts."""

    words = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Words said, in any transcript.",
    )
    room = forms.CharField(
        label="Room", required=False, max_length=255, help_text="Part of its name, any case."
    )
    speaker = forms.CharField(
        label="Speaker", required=False, max_length=255, help_text="Part of a name or identity."
    )
    engine = forms.ChoiceField(
        label="Engine", required=False, choices=[("", "Any engine"), *EngineKind.choices]
    )
    field_order = ("words", "room", "speaker", "engine", "since", "until")

    def clean_words(self) -> str:
        return " ".join(str(self.cleaned_data.get("words") or "").split())

    @property
    def order(self) -> history.Sort:
        words = getattr(self, "cleaned_data", {}).get("words")
        return transcripts.MATCH_ORDER if words else transcripts.TRANSCRIPT_ORDER

    def cursor(self, name: str) -> history.Cursor | None:
        return self.order.parse(self.data.get(name, ""))


class AuditFilterForm(DaysForm):
    """The audit log's filters."""

    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )
    target_type = forms.ChoiceField(
        label="Target", required=False, choices=[("", "Anything"), *AuditTarget.choices]
    )
    actor = forms.ChoiceField(label="Who", required=False)
    field_order = ("action", "target_type", "actor", "since", "until")

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, targets: Sequence[AuditTarget]
    ) -> None:
        """`targets`: the kinds of entries the reader may see (support: the jobs')."""
        super().__init__(data)
        entries = AuditEntry.objects.filter(target_type__in=targets).order_by("actor_name")
        names = entries.values_list("actor_name", flat=True)
        actor: Any = self.fields["actor"]
        actor.choices = [("", "Anyone"), *((name, name) for name in names.distinct())]
        target: Any = self.fields["target_type"]
        target.choices = [("", "Anything"), *((kind.value, kind.label) for kind in targets)]


def _attrs(attrs: Mapping[str, Any]) -> SafeString:
    """A widget's attributes as Django's `attrs.html` writes them (False omitted, True bare)."""
    return format_html_join(
        "",
        " {}{}",
        (
            (name, "" if value is True else format_html('="{}"', str(value)))
            for name, value in attrs.items()
            if value is not False
        ),
    )


class PlainSelect(forms.Select):
    """A select written in Python, the same markup as Django's `select.html` (no option
    groups): a filter form renders one for each of its choices on every page, and Django's
    template includes one more template per option (for "Started by", per user; issue 18)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '\n  <option value="{}"{}>{}</option>\n',
            (
                (str(option["value"]), _attrs(option["attrs"]), option["label"])
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}\n</select>', widget["name"], _attrs(widget["attrs"]), options
        )


class _People(BaseChoiceIterator):
    """Every user, to pick whose jobs to see: read when first needed and then once only (a
    callable would be read again each time the select renders)."""

    def __init__(self) -> None:
        self.read: list[tuple[Any, str]] | None = None

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        if self.read is None:
            users = get_user_model().objects.order_by("username").values_list("pk", "username")
            self.read = [("", "Anyone"), *users]
        return iter(self.read)


YES_NO = [("", "Either"), ("yes", "Yes"), ("no", "No")]


class JobFilterForm(DaysForm):
    """The job history's filters and order, as the URL carries them (a view can be shared)."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *history.STATUS_CHOICES],
        widget=PlainSelect,
    )
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Any kind"), *EgressKind.choices],
        widget=PlainSelect,
    )
    room = forms.CharField(
        label="Room", required=False, max_length=255, help_text="Part of its name, any case."
    )
    started_by = forms.TypedChoiceField(
        label="Started by", required=False, coerce=int, empty_value=None, widget=PlainSelect
    )
    error = forms.CharField(
        label="Error text",
        required=False,
        max_length=200,
        help_text="Part of LiveKit's error or details.",
    )
    external = forms.TypedChoiceField(
        label="Started outside the dashboard",
        required=False,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
        widget=PlainSelect,
    )
    empty_output = forms.BooleanField(label="Has an empty output", required=False)
    sort = forms.ChoiceField(
        label="Order",
        required=False,
        choices=[(sort.key, sort.label) for sort in history.SORTS.values()],
        widget=PlainSelect,
    )
    field_order = (
        "status",
        "kind",
        "room",
        "started_by",
        "since",
        "until",
        "error",
        "external",
        "empty_output",
        "sort",
    )

    def __init__(self, data: Mapping[str, Any] | None, *, people: bool = True) -> None:
        super().__init__(data)
        # The days are those the jobs were created (a job refused by LiveKit never started).
        self.fields["since"].label, self.fields["until"].label = "Created from", "Created to"
        started_by: Any = self.fields["started_by"]
        if people:  # only reviewers pick whose jobs to see; a producer sees their own
            started_by.choices = _People()
        else:
            del self.fields["started_by"]

    @property
    def order(self) -> history.Sort:
        key = getattr(self, "cleaned_data", {}).get("sort") or history.DEFAULT_SORT
        return history.SORTS[key]

    @property
    def changes_the_list(self) -> bool:
        """Filtered or re-ordered: not the plain list, newest first, that new jobs top."""
        return self.filtering or self.order.key != history.DEFAULT_SORT

    def cursor(self, name: str) -> history.Cursor | None:
        """The page's `after` or `before` cursor, if the URL has a readable one."""
        return self.order.parse(self.data.get(name, ""))
