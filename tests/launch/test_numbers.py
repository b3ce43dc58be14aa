"""Every number a launch sends fits its protobuf field, and is finite (issue 13, section 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor

from egress_app.launch.config import ADVANCED, OUTPUT_DEFAULTS
from egress_app.launch.normalize import normalize_launch_config
from egress_app.launch.numbers import FIELDS, number_error
from egress_app.launch.requests import build_start_call
from tests.launch.test_config import errors, make

ADVANCED_ON = {"encoding": {"advanced": {}}}
SEGMENTS = {"outputs": {"segments": {}}}
IMAGES = {"outputs": {"images": {}}}


def test_it_reads_each_number_s_type_from_the_protobuf_messages() -> None:
    types = {path: field.type for path, field in FIELDS.items()}
    assert types["encoding.advanced.width"] == FieldDescriptor.TYPE_INT32
    assert types["encoding.advanced.key_frame_interval"] == FieldDescriptor.TYPE_DOUBLE
    assert types["outputs.segments.segment_duration"] == FieldDescriptor.TYPE_UINT32
    assert types["outputs.images.capture_interval"] == FieldDescriptor.TYPE_UINT32
    assert types["outputs.images.width"] == FieldDescriptor.TYPE_INT32


def test_it_covers_every_number_of_a_configuration() -> None:
    numbers = {f"encoding.advanced.{name}" for name, v in ADVANCED.items() if _number(v)}
    for output in ("segments", "images"):
        defaults = OUTPUT_DEFAULTS[output].items()
        numbers |= {f"outputs.{output}.{name}" for name, v in defaults if _number(v)}
    assert set(FIELDS) == numbers


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.parametrize(
    ("patch", "path", "message"),
    [
        (
            {"encoding": {"advanced": {"width": 2**31}}},
            "encoding.advanced.width",
            "Enter a whole number from -2,147,483,648 to 2,147,483,647.",
        ),
        (
            {"encoding": {"advanced": {"video_bitrate": 9 * 10**18}}},
            "encoding.advanced.video_bitrate",
            "Enter a whole number from -2,147,483,648 to 2,147,483,647.",
        ),
        (
            {"encoding": {"advanced": {"audio_frequency": 2**40}}},
            "encoding.advanced.audio_frequency",
            "Enter a whole number from -2,147,483,648 to 2,147,483,647.",
        ),
        (
            {"outputs": {"segments": {"segment_duration": 10**12}}},
            "outputs.segments.segment_duration",
            "Enter a whole number from 0 to 4,294,967,295.",
        ),
        (
            {"outputs": {"images": {"capture_interval": 2**32}}},
            "outputs.images.capture_interval",
            "Enter a whole number from 0 to 4,294,967,295.",
        ),
        (
            {"outputs": {"images": {"height": "9" * 5000}}},  # past Python's int() digits
            "outputs.images.height",
            "Enter a whole number.",
        ),
    ],
)
def test_it_refuses_a_number_past_its_wire_type(
    patch: dict[str, Any], path: str, message: str
) -> None:
    assert errors(make(**patch))[path] == message


@pytest.mark.parametrize("value", ["inf", "nan", "1e309", "Infinity", float("inf")])
def test_it_refuses_a_key_frame_interval_that_is_not_finite(value: Any) -> None:
    config = make(encoding={"advanced": {"key_frame_interval": value}})
    assert errors(config) == {
        "encoding.advanced.key_frame_interval": "Enter a finite number: not infinity or NaN."
    }


def test_it_refuses_an_int_past_any_float_as_a_key_frame_interval() -> None:
    config = make(encoding={"advanced": {"key_frame_interval": 10**400}})
    assert errors(config) == {"encoding.advanced.key_frame_interval": "Enter a number of seconds."}


def test_it_keeps_livekit_s_own_message_where_it_is_stricter() -> None:
    config = make(encoding={"advanced": {"width": 2**31 - 1, "audio_bitrate": -(2**40)}})
    assert errors(config) == {
        "encoding.advanced.width": "Width must be even and at least 16.",
        "encoding.advanced.audio_bitrate": "Bitrate must be more than 0.",
    }


def test_it_builds_and_stores_the_largest_numbers_each_field_carries() -> None:
    config = make(
        encoding={
            "advanced": {
                "width": 2**31 - 2,
                "video_bitrate": 2**31 - 1,
                "audio_frequency": 2**31 - 1,
                "key_frame_interval": 1.7e308,
            }
        },
        outputs={
            "file": {},
            "segments": {"segment_duration": 2**32 - 1},
            "images": {"capture_interval": 2**32 - 1, "width": 2**31 - 2},
        },
    )
    assert errors(config) == {}
    call = build_start_call(config, profile=None, destinations=[], adhoc_urls=[])
    assert call.request.advanced.width == 2**31 - 2  # type: ignore[attr-defined]  # v1 request
    json.dumps(normalize_launch_config(config), allow_nan=False)  # what the job row keeps


def test_it_tells_each_wire_type_s_range() -> None:
    double = FIELDS["encoding.advanced.key_frame_interval"]
    uint32 = FIELDS["outputs.segments.segment_duration"]
    assert number_error(uint32, 2**32 - 1) is None
    assert number_error(uint32, -1) == "Enter a whole number from 0 to 4,294,967,295."
    assert number_error(uint32, True) == "Enter a whole number."
    assert number_error(double, 0) is None
    assert number_error(double, 10**400) == "Enter a number from -1.79769e+308 to 1.79769e+308."
    assert number_error(double, float("nan")) == "Enter a finite number: not infinity or NaN."
