"""Storage emulators for the tests: moto's S3 server, Azurite and a GCS emulator (being built)."""

from __future__ import annotations
