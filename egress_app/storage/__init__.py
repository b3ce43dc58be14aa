"""Storage profiles' providers (fields, validation, LiveKit upload messages), stream destinations'
URL rules, and the connection tests."""

from __future__ import annotations
