"""The room rule form and the Live page's Create room form."""

from __future__ import annotations

from django import forms

from dashboard.forms import ActionErrorsMixin
from egress_app.actions.room_rules import PATTERN_LENGTH, ROOM_NAME_LENGTH, RuleInput
from egress_app.models import EgressKind, Recipe, RoomRule


def room_composite_recipes() -> list[Recipe]:
    """The recipes a rule may use: they record the room (room composites)."""
    return [r for r in Recipe.objects.all() if r.config.get("kind") == EgressKind.ROOM_COMPOSITE]


class RoomRuleForm(ActionErrorsMixin, forms.Form):
    pattern = forms.CharField(
        label="Room name pattern",
        max_length=PATTERN_LENGTH,
        help_text="* stands for any text, ? for one character: webinar-* matches webinar-42.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    recipe = forms.TypedChoiceField(label="Recipe", coerce=int, empty_value=None)
    record_room = forms.BooleanField(label="Record the room with the recipe", required=False)
    each_participant = forms.BooleanField(
        label="Record each participant (to the recipe's storage)", required=False
    )
    each_track = forms.BooleanField(
        label="Record each track (to the recipe's storage)", required=False
    )
    enabled = forms.BooleanField(label="Enabled", required=False)

    def __init__(self, data: object = None, *, rule: RoomRule | None = None) -> None:
        initial: dict[str, object] = {"record_room": True, "enabled": True}
        if rule is not None:
            initial = {
                "pattern": rule.pattern,
                "recipe": rule.recipe_id,
                "record_room": rule.record_room,
                "each_participant": rule.each_participant,
                "each_track": rule.each_track,
                "enabled": rule.enabled,
            }
        super().__init__(data, initial=initial)  # type: ignore[arg-type]  # QueryDict or None
        choices = [(r.pk, r.name) for r in room_composite_recipes()]
        self.fields["recipe"].choices = [("", "Choose a recipe"), *choices]  # type: ignore[attr-defined]

    def rule_input(self) -> RuleInput:
        data = self.cleaned_data
        return RuleInput(
            pattern=data["pattern"],
            recipe_id=data["recipe"],
            record_room=data["record_room"],
            each_participant=data["each_participant"],
            each_track=data["each_track"],
            enabled=data["enabled"],
        )


class CreateRoomForm(ActionErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Room name",
        max_length=ROOM_NAME_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    empty_timeout = forms.IntegerField(
        label="Close when empty after (seconds)",
        required=False,
        min_value=0,
        max_value=2**32 - 1,
        help_text="Empty: LiveKit's default (5 minutes).",
    )
    max_participants = forms.IntegerField(
        label="Most participants",
        required=False,
        min_value=0,
        max_value=2**32 - 1,
        help_text="Empty or 0: no limit.",
    )
