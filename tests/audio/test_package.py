"""egress_app.audio runs in any process: importing it loads nothing of Django or the product."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import egress_app.audio.levels, egress_app.audio.mixer
import egress_app.audio.pcm, egress_app.audio.resample
import egress_app.audio.bus, egress_app.audio.processor
loaded = [
    name for name in sys.modules
    if name.split(".")[0] in {"django", "channels", "dashboard"}
    or (name.startswith("egress_app.") and not name.startswith("egress_app.audio"))
]
print(",".join(sorted(loaded)))
"""


def test_it_imports_nothing_of_django_or_the_rest_of_egress_app() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
