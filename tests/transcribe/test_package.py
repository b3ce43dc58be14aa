"""egress_app.transcribe runs in any process (the built-in engine's workers are spawned with it
alone): importing it loads nothing of Django or the product."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import egress_app.transcribe.builtin, egress_app.transcribe.registry
loaded = [
    name for name in sys.modules
    if name.split(".")[0] in {"django", "channels", "dashboard"}
    or (name.startswith("egress_app.") and not name.startswith("egress_app.transcribe"))
]
print(",".join(sorted(loaded)))
"""


def test_it_imports_nothing_of_django_or_the_rest_of_egress_app() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_it_has_an_engine_for_every_kind_a_profile_can_have() -> None:
    from egress_app.models import EngineKind
    from egress_app.transcribe.registry import ENGINES, engine_for

    assert set(ENGINES) == set(EngineKind.values)
    for kind in EngineKind.values:
        assert isinstance(engine_for(kind).multichannel, bool)
