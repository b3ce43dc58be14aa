"""The launch form: one flat Django form whose field names are the LaunchConfig's dotted paths
with `__` for the dots (`outputs__file__filepath` is `outputs.file.filepath`), so that each of
`validate_launch_config`'s messages lands next to its field.

The form renders and keeps what was typed; it validates nothing itself. `config_from_data`
turns the posted fields into a LaunchConfig (numbers stay text: the domain coerces and names
what it cannot read), and ad-hoc stream URLs travel beside it, never inside it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict
from django.urls import reverse

from egress_app.launch import config as rules
from egress_app.launch import stop_after
from egress_app.launch.config import GivenConfig
from egress_app.launch.normalize import normalize_launch_config
from egress_app.models import StorageProfile, StreamDestination

SEP = "__"
ADVANCED = "ADVANCED"
SERVER_STORAGE = "server"
# A track egress's select says what the form knows of the chosen track, for the rules and the
# filename preview: sid|kind|publisher identity|source|mime type.
TRACK_PARTS = ("track_id", "track_kind", "publisher_identity", "track_source", "mime_type")
PICKS = {
    "participant": ("participant__identity",),
    "track_composite": ("track_composite__audio_track_id", "track_composite__video_track_id"),
    "track": ("track__track_id",),
}
# Messages on paths with no input of their own go to the input that decides them.
PATH_FIELDS = {
    "encoding": "encoding__preset",
    "outputs.stream.adhoc": "outputs__stream__adhoc",
    "track.track_kind": "track__track_id",
}

# What the filename preview reads; never the ad-hoc URLs or a websocket URL (they hold keys).
PREVIEW_INPUTS = (
    "kind",
    "api",
    "room_name",
    "storage_profile_id",
    "outputs__file",
    "outputs__file__file_type",
    "outputs__file__filepath",
    "outputs__segments",
    "outputs__segments__filename_prefix",
    "outputs__segments__playlist_name",
    "outputs__segments__live_playlist_name",
    "outputs__segments__filename_suffix",
    "outputs__images",
    "outputs__images__filename_prefix",
    "outputs__images__filename_suffix",
    "outputs__stream",
    "outputs__stream__destination_ids",
    "encoding__preset",
    "encoding__advanced__audio_codec",
    "participant__identity",
    "participant__screen_share",
    "track_composite__audio_track_id",
    "track_composite__video_track_id",
    "track__track_id",
    "room_composite__audio_only",
    "room_composite__video_only",
    "web__audio_only",
    "web__video_only",
)
KIND_CHOICES = [
    ("room_composite", "Room composite (the whole room, laid out)"),
    ("web", "Web page"),
    ("participant", "Participant (one person's camera or screen, with audio)"),
    ("track_composite", "Track composite (one audio and one video track)"),
    ("track", "Track (one track as published)"),
]
API_CHOICES = [
    ("v1", "v1: per-type Start requests (default)"),
    ("v2", "v2: unified StartEgress (LiveKit ≥ 1.13.2)"),
]


def _layout_label(name: str) -> str:
    """`single-speaker-light` → `Single speaker, light`."""
    shade = "light" if name.endswith("-light") else "dark"
    return f"{name.removesuffix('-light').replace('-', ' ').capitalize()}, {shade}"


LAYOUT_CHOICES = [("", "Default (grid, dark)")] + [
    (name, _layout_label(name)) for name in sorted(rules.LAYOUTS)
]
MIXING_CHOICES = [
    ("DEFAULT_MIXING", "Default (everyone mixed)"),
    ("DUAL_CHANNEL_AGENT", "Dual channel: agents left, everyone else right"),
    ("DUAL_CHANNEL_ALTERNATE", "Dual channel: alternating speakers"),
]
FILE_TYPE_CHOICES = [
    ("DEFAULT_FILETYPE", "Default (MP4, or the track's own container)"),
    ("MP4", "MP4"),
    ("OGG", "OGG (audio only)"),
    ("MP3", "MP3 (audio only)"),
]
AUDIO_CODEC_CHOICES = [
    ("DEFAULT_AC", "Default"),
    ("OPUS", "Opus"),
    ("AAC", "AAC"),
    ("AC_MP3", "MP3"),
]
VIDEO_CODEC_CHOICES = [
    ("DEFAULT_VC", "Default (H.264 main)"),
    ("H264_BASELINE", "H.264 baseline"),
    ("H264_MAIN", "H.264 main"),
    ("H264_HIGH", "H.264 high"),
]
SEGMENT_SUFFIX_CHOICES = [("INDEX", "Index (0, 1, 2…)"), ("TIMESTAMP", "Timestamp")]
IMAGE_SUFFIX_CHOICES = [
    ("IMAGE_SUFFIX_INDEX", "Index"),
    ("IMAGE_SUFFIX_TIMESTAMP", "Timestamp"),
    ("IMAGE_SUFFIX_NONE_OVERWRITE", "None (overwrite one image)"),
]


def preset_label(name: str) -> str:
    """`PORTRAIT_H264_1080P_60` → `H.264 1080p 60 fps, portrait`."""
    match = re.fullmatch(r"(PORTRAIT_)?H264_(\d+)P_(\d+)", name)
    if not match:
        return name
    portrait, lines, fps = match.groups()
    return f"H.264 {lines}p {fps} fps" + (", portrait" if portrait else "")


PRESET_CHOICES = [(name, preset_label(name)) for name in rules.PRESETS] + [
    (ADVANCED, "Advanced settings…")
]


def _text(label: str, help_text: str = "", **attrs: str) -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs})
    return forms.CharField(label=label, required=False, help_text=help_text, widget=widget)


def _number(label: str, help_text: str = "", step: str = "1") -> forms.CharField:
    # Text, not IntegerField: the domain coerces it and names a value it cannot read.
    widget = forms.NumberInput(attrs={"min": "0", "step": step})
    return forms.CharField(label=label, required=False, help_text=help_text, widget=widget)


def _choice(label: str, choices: list[tuple[str, str]], help_text: str = "") -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=choices, help_text=help_text)


def _flag(label: str, help_text: str = "") -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, help_text=help_text)


class LaunchForm(forms.Form):
    """Everything a launch can say. Renders only; `add_config_errors` shows the rules' verdict."""

    launch_token = forms.CharField(widget=forms.HiddenInput, required=False)
    # The job the form was opened to clone (`?clone=`): the new job is linked to it as a retry.
    retry_of = forms.CharField(widget=forms.HiddenInput, required=False)
    api = _choice("API", API_CHOICES, "v2 needs LiveKit ≥ 1.13.2.")
    kind = forms.ChoiceField(
        label="What to record", required=True, choices=KIND_CHOICES, widget=forms.RadioSelect
    )
    room_name = _choice("Room", [])
    # Room composite
    room_composite__layout = _choice("Layout", LAYOUT_CHOICES)
    room_composite__custom_base_url = forms.CharField(
        label="Custom template URL",
        required=False,
        help_text="Your own recording template (https://…); replaces the layout.",
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
    )
    room_composite__audio_only = _flag("Audio only")
    room_composite__video_only = _flag("Video only")
    room_composite__audio_mixing = _choice(
        "Audio mixing", MIXING_CHOICES, "Dual channel: audio-only recordings, v1 API."
    )
    # Web
    web__url = forms.CharField(
        label="Page URL",
        required=True,
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
        help_text="The page to record, https://…",
    )
    web__audio_only = _flag("Audio only")
    web__video_only = _flag("Video only")
    web__await_start_signal = _flag(
        "Wait for the page's start signal", "The page logs START_RECORDING when it is ready."
    )
    # Participant, track composite, track: choices come from the room's live participants.
    participant__identity = forms.ChoiceField(label="Participant", required=True, choices=[])
    participant__screen_share = _flag("Record the screen share instead of the camera")
    track_composite__audio_track_id = _choice("Audio track", [])
    track_composite__video_track_id = _choice("Video track", [])
    track__track_id = forms.ChoiceField(label="Track", required=True, choices=[])
    track__websocket_url = _text(
        "WebSocket URL",
        "wss://… to receive the audio as raw PCM instead of a file. Leave empty to record a file.",
    )
    # Encoding
    encoding__preset = _choice("Encoding", PRESET_CHOICES)
    encoding__advanced__width = _number("Width", "Pixels; 0 for the default.")
    encoding__advanced__height = _number("Height", "Pixels; 0 for the default.")
    encoding__advanced__depth = _number("Depth", "8, 16 or 24; 0 for the default.")
    encoding__advanced__framerate = _number("Frame rate", "1 to 60; 0 for the default.")
    encoding__advanced__audio_codec = _choice("Audio codec", AUDIO_CODEC_CHOICES)
    encoding__advanced__audio_bitrate = _number("Audio bitrate", "kbps; 0 for the default.")
    encoding__advanced__audio_frequency = _number("Audio frequency", "Hz; 0 for the default.")
    encoding__advanced__video_codec = _choice("Video codec", VIDEO_CODEC_CHOICES)
    encoding__advanced__video_bitrate = _number("Video bitrate", "kbps; 0 for the default.")
    encoding__advanced__key_frame_interval = _number(
        "Key frame interval", "Seconds; 0 for the default.", step="any"
    )
    # Outputs
    outputs__file = _flag("Record to a file")
    outputs__file__file_type = _choice("File type", FILE_TYPE_CHOICES)
    outputs__file__filepath = _text(
        "File path",
        "Placeholders: {room_name}, {room_id}, {time}, {utc}, {publisher_identity}, "
        "{track_id}, {track_type}, {track_source} ({time} and {utc} in UTC). Empty: the "
        "profile's path template or a generated name.",
    )
    outputs__file__disable_manifest = _flag("No manifest file")
    outputs__stream = _flag("Stream live (RTMP or SRT)")
    outputs__stream__destination_ids = forms.MultipleChoiceField(
        label="Saved destinations", required=False, widget=forms.CheckboxSelectMultiple
    )
    outputs__stream__adhoc = forms.CharField(
        label="Other stream URLs",
        required=False,
        help_text="One rtmp://, rtmps:// or srt:// URL a line, with its stream key. "
        "Used for this launch only: the dashboard never stores them.",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
    )
    outputs__segments = _flag("HLS segments")
    outputs__segments__filename_prefix = _text("Segment prefix", "e.g. hls/{room_name}/seg")
    outputs__segments__playlist_name = _text("Playlist", "e.g. hls/{room_name}/index.m3u8")
    outputs__segments__live_playlist_name = _text(
        "Live playlist", "Optional; same folder as the playlist, e.g. hls/{room_name}/live.m3u8"
    )
    outputs__segments__segment_duration = _number("Segment duration", "Seconds (default 4).")
    outputs__segments__filename_suffix = _choice("Segment suffix", SEGMENT_SUFFIX_CHOICES)
    outputs__images = _flag("Images (snapshots)")
    outputs__images__capture_interval = _number("Every", "Seconds between snapshots (default 10).")
    outputs__images__width = _number("Width", "Pixels; 0 for the video's.")
    outputs__images__height = _number("Height", "Pixels; 0 for the video's.")
    outputs__images__filename_prefix = _text("Image prefix", "e.g. images/{room_name}/frame")
    outputs__images__filename_suffix = _choice("Image suffix", IMAGE_SUFFIX_CHOICES)
    storage_profile_id = _choice("Storage", [])
    stop_after = _text("Stop after", stop_after.HELP, placeholder="e.g. 1:30:00")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        initial: Mapping[str, Any] | None = None,
        profiles: Iterable[StorageProfile] = (),
        destinations: Iterable[StreamDestination] = (),
    ) -> None:
        super().__init__(data, initial=dict(initial or {}))
        self.profiles = list(profiles)
        profile_choices = [(str(p.pk), profile_label(p)) for p in self.profiles]
        field: Any = self.fields["storage_profile_id"]
        field.choices = [*profile_choices, (SERVER_STORAGE, "LiveKit's own storage")]
        field = self.fields["outputs__stream__destination_ids"]
        field.choices = [(str(d.pk), d.name) for d in destinations]
        self.fields["kind"].widget.attrs.update(
            {
                "hx-get": reverse("dashboard-launch-source"),
                "hx-include": "[name=room_name]",
                "hx-target": "#source",
                "hx-swap": "outerHTML",
            }
        )

    def full_clean(self) -> None:
        # The rules live in the domain (validate_launch_config); the form only carries them.
        self._errors = ErrorDict()
        self.cleaned_data = {}

    def value(self, name: str) -> Any:
        return self[name].value()

    def set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field: Any = self.fields[name]
        field.choices = [("", "Choose…"), *choices]

    def add_config_errors(self, errors: Mapping[str, str]) -> None:
        """Each message next to its field; a path without one goes to the top of the form."""
        for path, message in errors.items():
            name, text = field_for_path(path, message)
            self.add_error(name if name in self.fields else None, text)


def field_for_path(path: str, message: str) -> tuple[str, str]:
    """The form field showing the message of `path`, and the message as it shows there."""
    head, _, tail = path.rpartition(".")
    if head == "outputs.stream.adhoc" and tail.isdigit():
        return "outputs__stream__adhoc", f"Line {int(tail) + 1}: {message}"
    return PATH_FIELDS.get(path, path.replace(".", SEP)), message


def _on(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes") if value else False


def fresh_token() -> str:
    return str(uuid.uuid4())


def adhoc_urls(data: Mapping[str, Any]) -> list[str]:
    """The ad-hoc stream URLs typed, one a line (only when the stream output is on)."""
    if not _on(data.get("outputs__stream")) or data.get("kind") == "track":
        return []
    return [
        line.strip()
        for line in str(data.get("outputs__stream__adhoc", "")).splitlines()
        if line.strip()
    ]


def _section(data: Mapping[str, Any], prefix: str, names: Iterable[str]) -> dict[str, Any]:
    return {name: data.get(f"{prefix}{SEP}{name}") for name in names}


def profile_label(profile: StorageProfile) -> str:
    """A profile as the storage select names it; a failed last test shows in the list itself."""
    notes = ["default"] if profile.is_default else []
    if profile.last_test_ok is False:
        notes.append("last test failed")
    return f"{profile.name} ({', '.join(notes)})" if notes else profile.name


def chosen_profile(form: LaunchForm) -> StorageProfile | None:
    """The storage profile the form has chosen, among those it offers."""
    wanted = str(form.value("storage_profile_id") or "")
    return next((p for p in form.profiles if str(p.pk) == wanted), None)


def preview_inputs() -> str:
    """The selector of the inputs the preview reads (htmx's `hx-include`)."""
    return ",".join(f"[name={name}]" for name in PREVIEW_INPUTS)


def config_from_data(data: Any) -> GivenConfig:
    """The configuration the posted form describes (a QueryDict or a plain mapping), as given:
    the domain normalizes and validates it."""
    kind = str(data.get("kind") or "room_composite")
    config: dict[str, Any] = {
        "api": data.get("api") or settings.LIVEKIT_EGRESS_API,
        "kind": kind,
        "room_name": "" if kind == "web" else data.get("room_name", ""),
        "outputs": _outputs(data, kind),
    }
    if kind in rules.SECTIONS:
        config[kind] = _section(data, kind, rules.SECTIONS[kind])
    if kind == "track":
        config["track"].update(_track_parts(str(data.get("track__track_id") or "")))
    else:
        config["encoding"] = _encoding(data)
    storage = data.get("storage_profile_id") or None
    config["server_storage"] = storage == SERVER_STORAGE
    config["storage_profile_id"] = None if storage == SERVER_STORAGE else storage
    if str(data.get("stop_after") or "").strip():
        config["stop_after"] = str(data.get("stop_after"))
    return config


def _track_parts(value: str) -> dict[str, str]:
    parts = value.split("|")
    return dict(zip(TRACK_PARTS, parts + [""] * (len(TRACK_PARTS) - len(parts)), strict=True))


def track_value(section: Mapping[str, Any]) -> str:
    """The track select's value for a track section (see TRACK_PARTS)."""
    if not section.get("track_id"):
        return ""
    return "|".join(str(section.get(part) or "") for part in TRACK_PARTS)


def _encoding(data: Any) -> dict[str, Any]:
    preset = data.get("encoding__preset") or rules.DEFAULT_PRESET
    if preset != ADVANCED:
        return {"preset": preset}
    return {"advanced": _section(data, "encoding__advanced", rules.ADVANCED)}


def _outputs(data: Any, kind: str) -> dict[str, Any]:
    shown = ("file",) if kind == "track" else rules.OUTPUTS
    outputs: dict[str, Any] = {}
    for name in shown:
        if not _on(data.get(f"outputs{SEP}{name}")):
            continue
        fields = [n for n in rules.OUTPUT_DEFAULTS[name] if n not in ("adhoc", "destination_ids")]
        output = _section(data, f"outputs{SEP}{name}", fields)
        if name == "stream":
            getlist = getattr(data, "getlist", None)
            ids = (
                getlist("outputs__stream__destination_ids")
                if getlist
                else data.get("outputs__stream__destination_ids", [])
            )
            output["destination_ids"] = list(ids)
        outputs[name] = {key: value for key, value in output.items() if value is not None}
    return outputs


def initial_from_config(config: GivenConfig) -> dict[str, Any]:
    """The form's initial values for a saved configuration (a job's or a recipe's)."""
    clean = normalize_launch_config(config)
    kind = clean["kind"]
    initial: dict[str, Any] = {"api": clean["api"], "kind": kind, "room_name": clean["room_name"]}
    section: Mapping[str, object] = clean.get(kind) or {}
    initial |= {f"{kind}{SEP}{name}": value for name, value in section.items()}
    if kind == "track":
        track = clean["track"]
        initial["track__track_id"] = track_value(track)
        if "{" in track["websocket_url"]:  # stored redacted: its token must be typed again
            initial["track__websocket_url"] = ""
    encoding = clean["encoding"]
    if "advanced" in encoding:
        initial["encoding__preset"] = ADVANCED
        initial |= {f"encoding__advanced__{k}": v for k, v in encoding["advanced"].items()}
    elif "preset" in encoding:
        initial["encoding__preset"] = encoding["preset"]
    # Every output's fields become form fields by name: a generic walk over the typed outputs.
    outputs: Mapping[str, Any] = clean["outputs"]
    for name, output in outputs.items():
        if output is None:
            continue
        initial[f"outputs{SEP}{name}"] = True
        for key, value in output.items():
            if key == "adhoc":
                continue  # redacted: never a usable URL
            if key == "destination_ids":
                value = [str(pk) for pk in value]
            initial[f"outputs{SEP}{name}{SEP}{key}"] = value
    if clean["server_storage"]:
        initial["storage_profile_id"] = SERVER_STORAGE
    elif clean["storage_profile_id"] is not None:
        initial["storage_profile_id"] = str(clean["storage_profile_id"])
    if isinstance(seconds := clean.get("stop_after"), int):
        initial["stop_after"] = stop_after.clock(seconds)
    return initial


def default_initial(profiles: Iterable[StorageProfile]) -> dict[str, Any]:
    default = next((p for p in profiles if p.is_default), None)
    return {
        "api": settings.LIVEKIT_EGRESS_API,
        "kind": "room_composite",
        "encoding__preset": rules.DEFAULT_PRESET,
        "outputs__file__filepath": "",
        "outputs__segments__segment_duration": 4,
        "outputs__images__capture_interval": 10,
        "storage_profile_id": str(default.pk) if default else "",
    }
