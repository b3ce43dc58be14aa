"""LiveKit's enum values by name, without refusing one this version of the protocol lacks."""

from __future__ import annotations

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper


def name_of(enum: EnumTypeWrapper, value: int) -> str:
    """The name of `value` in `enum`; a value it does not define (a newer LiveKit's) as its
    number, so that what LiveKit says is kept rather than refused."""
    return enum.Name(value) if value in enum.values() else str(value)
