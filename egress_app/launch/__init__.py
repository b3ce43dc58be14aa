"""Launch configurations: what a producer asks to record, LiveKit's rules for it, the request.

`config` holds the plain-JSON configuration and its validation, `requests` turns a valid one into
the LiveKit request at the moment of the call, `filenames` previews the file egress will write.
"""

from __future__ import annotations

from egress_app.launch.config import (
    LaunchConfig,
    normalize_launch_config,
    storage_needed,
    validate_launch_config,
)
from egress_app.launch.filenames import preview_filename
from egress_app.launch.requests import StartCall, build_start_call, stream_urls

__all__ = [
    "LaunchConfig",
    "StartCall",
    "build_start_call",
    "normalize_launch_config",
    "preview_filename",
    "storage_needed",
    "stream_urls",
    "validate_launch_config",
]
