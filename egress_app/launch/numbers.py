"""The numbers a launch sends, each with the range its protobuf field can carry.

A value past its wire type (an int32 width of 2147483648) makes the protobuf class raise at the
moment of the call, and a non-finite float (inf, nan) is neither JSON a job can keep nor a key
frame interval: both are refused here, next to their field. The table is read from the message
descriptors of livekit-protocol, never copied by hand, so a type that changes there changes here.
LiveKit's own, stricter rules (a width even and at least 16) stay with `encoding` and `outputs`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any, cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.launch.config import ADVANCED, OUTPUT_DEFAULTS, WHOLE_NUMBER, Errors, is_int

_T = FieldDescriptor
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# Wire type -> (least, most) whole number it carries.
INT_RANGES: dict[int, tuple[int, int]] = {
    _T.TYPE_INT32: _INT32,
    _T.TYPE_SINT32: _INT32,
    _T.TYPE_SFIXED32: _INT32,
    _T.TYPE_UINT32: (0, 2**32 - 1),
    _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_INT64: _INT64,
    _T.TYPE_SINT64: _INT64,
    _T.TYPE_SFIXED64: _INT64,
    _T.TYPE_UINT64: (0, 2**64 - 1),
    _T.TYPE_FIXED64: (0, 2**64 - 1),
}
# Wire type -> the largest finite magnitude it carries.
FLOAT_LIMITS: dict[int, float] = {
    _T.TYPE_FLOAT: 3.4028234663852886e38,
    _T.TYPE_DOUBLE: sys.float_info.max,
}


def _numbers(prefix: str, defaults: Mapping[str, Any], message: type[Message]) -> dict[str, _T]:
    """Each number of a configuration part (a number default: bools are flags) -> the field of
    `message` it is sent in, under the same name."""
    # The C implementation's descriptors (google._upb) are typed apart, with the same API.
    fields = cast(Mapping[str, _T], message.DESCRIPTOR.fields_by_name)
    return {
        f"{prefix}.{name}": fields[name]
        for name, default in defaults.items()
        if isinstance(default, int | float) and not isinstance(default, bool)
    }


# Configuration path -> the protobuf field its number is sent in (the same in v1 and v2).
FIELDS: dict[str, _T] = {
    **_numbers("encoding.advanced", ADVANCED, egress.EncodingOptions),
    **_numbers("outputs.segments", OUTPUT_DEFAULTS["segments"], egress.SegmentedFileOutput),
    **_numbers("outputs.images", OUTPUT_DEFAULTS["images"], egress.ImageOutput),
}


def number_error(field: _T, value: Any) -> str | None:
    """What is wrong with `value` for the protobuf `field`, or None if the field carries it."""
    if field.type in INT_RANGES:
        least, most = INT_RANGES[field.type]
        if not is_int(value):
            return WHOLE_NUMBER
        if not least <= value <= most:
            return f"Enter a whole number from {least:,} to {most:,}."
        return None
    limit = FLOAT_LIMITS[field.type]
    if not isinstance(value, float | int) or isinstance(value, bool):
        return "Enter a number."
    if isinstance(value, float) and not math.isfinite(value):
        return "Enter a finite number: not infinity or NaN."
    if abs(value) > limit:  # exact for an int of any size: Python compares without converting
        return f"Enter a number from {-limit:g} to {limit:g}."
    return None


def number_errors(config: Mapping[str, Any]) -> Errors:
    """Each number of a normalized configuration its protobuf field cannot carry."""
    errors: Errors = {}
    for path, field in FIELDS.items():
        found, value = _at(config, path)
        if found and (message := number_error(field, value)):
            errors[path] = message
    return errors


def _at(config: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(True, the value at the dotted `path`), or (False, None) where a part is absent."""
    value: Any = config
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value
