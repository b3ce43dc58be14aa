"""A launch configuration normalized (defaults filled, values coerced), and facts read from it.

Forms and stored JSON give any mapping; past normalize_launch_config, every key of the
configuration's kind is in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from livekit.protocol import egress

from egress_app.launch import stop_after
from egress_app.launch.config import (
    ADVANCED,
    DEFAULT_PRESET,
    ENUMS,
    OUTPUT_DEFAULTS,
    OUTPUTS,
    SECTIONS,
    SUFFIXES,
    UPLOADING_OUTPUTS,
    GivenConfig,
    LaunchConfig,
)
from egress_app.livekit.redact import redact_stream_url


# --- normalizing ---------------------------------------------------------------------------------
def normalize_launch_config(
    config: GivenConfig, *, adhoc_urls: Sequence[str] | None = None
) -> LaunchConfig:
    """Defaults filled, numbers and flags coerced, unknown keys dropped; an output is a mapping
    (`{}` takes every default), anything else (null, false, absent) becomes None.

    Values that cannot be coerced are kept as given, for validation to explain. Only the
    section named by `kind` is kept. Given the real `adhoc_urls`, the stream output shows
    their redacted display form. Idempotent.
    """
    config = config if isinstance(config, Mapping) else {}
    kind = _text(config.get("kind")) or "room_composite"
    normalized: dict[str, Any] = {
        "api": _text(config.get("api")).lower() or "v1",
        "kind": kind,
        "room_name": _text(config.get("room_name")),
    }
    if kind in SECTIONS:
        normalized[kind] = _fill(SECTIONS[kind], config.get(kind), ENUMS)
    normalized["encoding"] = _encoding(config.get("encoding"), kind)
    normalized["outputs"] = _outputs(config.get("outputs"))
    normalized["storage_profile_id"] = _optional_int(config.get("storage_profile_id"))
    normalized["server_storage"] = _bool(config.get("server_storage"))
    if (stop := stop_after.parse(config.get("stop_after"))) is not None:
        normalized["stop_after"] = (
            stop  # only when set: configurations without one stay as they were
        )
    stream = normalized["outputs"]["stream"]
    if adhoc_urls is not None and stream is not None:
        stream["adhoc"] = [redact_stream_url(url.strip()) for url in adhoc_urls if url.strip()]
    # Where a plain mapping becomes a LaunchConfig: every key of its type is filled above.
    return cast(LaunchConfig, normalized)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def _int(value: Any, default: int = 0) -> Any:
    """An int, or the value as given when it is not one (validation names it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than Python reads (sys.get_int_max_str_digits)
            return value
    return value


def _float(value: Any, default: float = 0.0) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past any float
        return value


def _optional_int(value: Any) -> Any:
    return None if value in (None, "") else _int(value)


def _enum_name(value: Any, enum: EnumTypeWrapper, default: str) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return enum.Name(value) if value in enum.values() else value
    return str(value).strip().upper()


def _fill(
    defaults: Mapping[str, Any], given: Any, enums: Mapping[str, EnumTypeWrapper]
) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    return {
        name: _coerce(name, default, given.get(name), enums) for name, default in defaults.items()
    }


def _coerce(name: str, default: Any, value: Any, enums: Mapping[str, EnumTypeWrapper]) -> Any:
    if name in enums:
        return _enum_name(value, enums[name], default)
    if isinstance(default, bool):
        return _bool(value)
    if isinstance(default, int):
        return _int(value, default)
    if isinstance(default, float):
        return _float(value, default)
    if isinstance(default, list):
        return _items(name, value)
    return _text(value)


def _items(name: str, value: Any) -> list[Any]:
    values = list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])
    if name == "destination_ids":
        return [_int(item) for item in values if item not in (None, "")]
    return [text for item in values if (text := _text(item))]


def _encoding(given: Any, kind: str) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    encoding: dict[str, Any] = {}
    if given.get("preset") not in (None, ""):
        encoding["preset"] = _enum_name(given["preset"], egress.EncodingOptionsPreset, "")
    if isinstance(given.get("advanced"), Mapping):
        encoding["advanced"] = _fill(ADVANCED, given["advanced"], ENUMS)
    if not encoding and kind != "track":
        encoding["preset"] = DEFAULT_PRESET
    return encoding


def _outputs(given: Any) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    outputs: dict[str, Any] = {}
    for name in OUTPUTS:
        value = given.get(name)
        enums = {**ENUMS, "filename_suffix": SUFFIXES[name]} if name in SUFFIXES else ENUMS
        # Any mapping is an output ({} takes every default); null, false or absent is none.
        present = isinstance(value, Mapping)
        outputs[name] = _fill(OUTPUT_DEFAULTS[name], value, enums) if present else None
    return outputs


# --- facts the rules share -----------------------------------------------------------------------
def storage_needed(config: GivenConfig) -> bool:
    """Whether the configuration has an output that uploads (file, segments or images)."""
    outputs = normalize_launch_config(config)["outputs"]
    return any(outputs[name] is not None for name in UPLOADING_OUTPUTS)


def has_media(config: LaunchConfig) -> tuple[bool, bool]:
    """(audio, video) of a normalized configuration, as egress decides it from the request."""
    kind = config["kind"]
    if kind in ("room_composite", "web"):
        flags = config[kind]
        return not flags["video_only"], not flags["audio_only"]
    if kind == "track_composite":
        tracks = config["track_composite"]
        return bool(tracks["audio_track_id"]), bool(tracks["video_track_id"])
    if kind == "track":
        track_kind = config["track"]["track_kind"]
        return track_kind != "video", track_kind != "audio"
    return True, True  # participant egress: egress always expects both
