"""Launch configurations: what a producer asks to record, LiveKit's rules for it, the request.

`config` holds the plain-JSON configuration's shape and choices, `normalize` fills it in,
`validation` (with `encoding` and `outputs`) holds LiveKit's rules for it, `paths` egress's way
with a path; `requests` turns a valid one into the LiveKit request at the moment of the call,
`filenames` previews the file egress will write.
"""

from __future__ import annotations

from egress_app.launch.config import LaunchConfig
from egress_app.launch.filenames import preview_filename
from egress_app.launch.normalize import normalize_launch_config, storage_needed
from egress_app.launch.requests import StartCall, build_start_call, stream_urls
from egress_app.launch.validation import validate_launch_config

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
