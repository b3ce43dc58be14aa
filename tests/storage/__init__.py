"""The storage tests, and the assertions the connection-test (probe) tests share."""

from __future__ import annotations

from egress_app.storage.probes import ProbeResult


def assert_failed_at(result: ProbeResult, step: str, *phrases: str) -> None:
    """The probe failed at `step`, saying each phrase, and skipped every later step."""
    failed = next(s for s in result.steps if not s.ok)
    assert (result.ok, failed.name) == (False, step), result
    for phrase in phrases:
        assert phrase.lower() in result.message.lower(), result.message
        assert phrase.lower() in failed.message.lower(), failed.message
    later = [s.message for s in result.steps[result.steps.index(failed) + 1 :]]
    assert later == ["skipped"] * len(later)


def assert_no_secrets(result: ProbeResult, secrets: dict[str, str]) -> None:
    text = " ".join([result.message, *(s.message for s in result.steps)])
    for value in secrets.values():
        assert not value or value not in text
