"""What an engine profile's form asks for, per engine kind, and how its values are checked.

Django-free so the engines and the profile forms share one description: a form builds its
fields from `FIELDS[kind]` (secret ones are write-only password inputs stored encrypted), then
`clean(kind, config)` turns posted strings into typed config and `errors(kind, config, secrets,
production=...)` says what is wrong, field by field, in plain words. Kind keys match
`EngineKind` in egress_app/models/transcripts.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Errors = dict[str, str]
TRUE_STRINGS = {"1", "true", "on", "yes"}

# BCP-47-ish: "en", "fr", "pt-BR", "zh-Hans"; what Gladia, Deepgram and AssemblyAI accept.
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Field:
    """One form field. `kind`: "text" | "bool" | "choice" | "number" | "url" | "languages"
    (comma-separated codes). `choices` are (value, label) pairs; `default` fills a new form."""

    name: str
    label: str
    secret: bool = False
    required: bool = False
    kind: str = "text"
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = ""
    minimum: float | None = None
    maximum: float | None = None


API_KEY_HELP = "Kept encrypted; never shown again. Leave empty when editing to keep it."

FIELDS: dict[str, tuple[Field, ...]] = {
    "builtin": (
        Field(
            "language",
            "Language",
            kind="choice",
            choices=(("en", "English"),),
            default="en",
            help="PocketSphinx ships an English model only.",
        ),
    ),
    "gladia": (
        Field("api_key", "API key", secret=True, required=True, help=API_KEY_HELP),
        Field(
            "region",
            "Region",
            kind="choice",
            choices=(("", "Nearest (default)"), ("eu-west", "EU west"), ("us-west", "US west")),
            help="Where Gladia processes the audio.",
        ),
        Field(
            "model",
            "Model",
            kind="choice",
            choices=(("solaria-1", "Solaria 1"),),
            default="solaria-1",
        ),
        Field(
            "languages",
            "Languages",
            kind="languages",
            help="Codes such as en, fr, de, comma-separated; empty lets Gladia detect it.",
        ),
        Field(
            "code_switching",
            "Code switching",
            kind="bool",
            default=False,
            help="Detect the language of each utterance (speakers who switch languages).",
        ),
        Field(
            "endpointing",
            "Endpointing (seconds)",
            kind="number",
            default=0.3,
            minimum=0.01,
            maximum=10,
            help="Silence that ends an utterance.",
        ),
    ),
    "deepgram": (
        Field("api_key", "API key", secret=True, required=True, help=API_KEY_HELP),
        Field(
            "region",
            "Region",
            kind="choice",
            choices=(("", "Global (api.deepgram.com)"), ("eu", "EU (api.eu.deepgram.com)")),
        ),
        Field("model", "Model", default="nova-3", help="e.g. nova-3, nova-2."),
        Field(
            "language",
            "Language",
            default="en",
            help="One code such as en or en-US, or multi for several languages.",
        ),
        Field(
            "endpointing",
            "Endpointing (milliseconds)",
            kind="number",
            default=300,
            minimum=10,
            maximum=10_000,
            help="Silence that ends an utterance.",
        ),
        Field("smart_format", "Smart formatting", kind="bool", default=True),
    ),
    "assemblyai": (
        Field("api_key", "API key", secret=True, required=True, help=API_KEY_HELP),
        Field(
            "region",
            "Region",
            kind="choice",
            choices=(("", "US (default)"), ("eu", "EU")),
        ),
        Field(
            "speech_model",
            "Model",
            kind="choice",
            choices=(
                ("universal-streaming-english", "Universal streaming, English"),
                ("universal-streaming-multilingual", "Universal streaming, multilingual"),
            ),
            default="universal-streaming-english",
        ),
        Field("format_turns", "Formatted turns", kind="bool", default=True),
        Field(
            "min_silence_ms",
            "End of turn after silence (milliseconds)",
            kind="number",
            default=400,
            minimum=0,
            maximum=10_000,
            help="Silence after which a confident turn ends.",
        ),
    ),
    "forward": (
        Field(
            "url",
            "Websocket URL",
            kind="url",
            required=True,
            help="wss://… of your own service; the audio goes there as 16 kHz mono PCM.",
        ),
        Field("token", "Bearer token", secret=True, help=API_KEY_HELP),
        Field(
            "mode",
            "Audio",
            kind="choice",
            choices=(("tracks", "One channel per participant"), ("mix", "The room's mix")),
            default="tracks",
        ),
        Field(
            "results",
            "Accept results back",
            kind="bool",
            default=False,
            help="Show the JSON results your service sends back as captions (see README).",
        ),
    ),
}


def config_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if not f.secret)


def secret_fields(kind: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS[kind] if f.secret)


# --- cleaning: posted strings to typed config ---------------------------------------------------
def _clean_value(field: Field, value: Any) -> Any:
    if field.kind == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() in TRUE_STRINGS
    text = "" if value is None else str(value).strip()
    if field.kind == "languages":
        return [code.strip() for code in text.split(",") if code.strip()]
    if field.kind == "number" and text:
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text  # errors() says so
    return text


def clean(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config to store: every non-secret field of the kind, typed; empty values dropped."""
    cleaned = {f.name: _clean_value(f, config.get(f.name, f.default)) for f in config_fields(kind)}
    return {name: value for name, value in cleaned.items() if value not in ("", [], None)}


# --- errors: what is wrong, per field ------------------------------------------------------------
def language_error(code: str) -> str | None:
    if not LANGUAGE.fullmatch(code):
        return f"“{code}” is not a language code such as en, fr or pt-BR."
    return None


def forward_url_error(url: str, *, production: bool) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return "Enter a websocket URL starting with wss:// (or ws:// for local testing)."
    if production and parts.scheme != "wss":
        return "Use wss:// in production: the audio and the token would travel unencrypted."
    if parts.username or parts.password:
        return "Put the token in the Bearer token field, not in the URL."
    return None


def _field_error(field: Field, value: Any) -> str | None:
    if value in ("", [], None):
        return "This field is required." if field.required else None
    if field.kind == "choice" and value not in {v for v, _ in field.choices}:
        return "Pick one of the listed values."
    if field.kind == "number":
        return _number_error(field, value)
    if field.kind == "languages":
        return next((e for e in map(language_error, value) if e), None)
    return None


def _number_error(field: Field, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Enter a number."
    if (field.minimum is not None and value < field.minimum) or (
        field.maximum is not None and value > field.maximum
    ):
        return f"Enter a number from {field.minimum:g} to {field.maximum:g}."
    return None


def _kind_errors(kind: str, config: Mapping[str, Any], *, production: bool) -> Errors:
    """Rules beyond one field's type."""
    errors: Errors = {}
    if kind == "deepgram":
        language = config.get("language", "")
        if language and language != "multi" and (error := language_error(language)):
            errors["language"] = error
        if config.get("model") and not MODEL_NAME.fullmatch(config["model"]):
            errors["model"] = "Use a Deepgram model name such as nova-3."
    url = config.get("url") if kind == "forward" else None
    if url and (error := forward_url_error(url, production=production)):
        errors["url"] = error
    return errors


def errors(
    kind: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    production: bool,
    editing: bool = False,
) -> Errors:
    """Field errors for a cleaned config and the posted secrets. `editing`: an empty secret keeps
    the stored one, so it is not missing."""
    if kind not in FIELDS:
        return {"kind": "Pick one of the listed engines."}
    found: Errors = {}
    for field in config_fields(kind):
        if error := _field_error(field, config.get(field.name)):
            found[field.name] = error
    for field in secret_fields(kind):
        if field.required and not editing and not secrets.get(field.name, "").strip():
            found[field.name] = "This field is required."
    return _kind_errors(kind, config, production=production) | found
