from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from egress_app.transcribe.engines import MIX, SAMPLE_RATE, EngineSettings
from egress_app.transcribe.probe import STEPS, load_speech, run_engine_test
from tests.leaked import ENGINE_KEY, found_in
from tests.transcribe.broken import LeakyEngine
from tests.transcribe.listener import Listener

HOST = Path(__file__).parents[2] / "egress_app" / "sandbox" / "assets" / "host.wav"
SPEECH = np.zeros(3 * SAMPLE_RATE, dtype=np.int16)


def run(key: str, timeout: float = 5.0, engine: Listener | LeakyEngine | None = None):
    Listener.opened = []
    settings = EngineSettings(config={}, secrets={"api_key": key}, channels=[MIX])
    return run_engine_test(engine or Listener(), settings, SPEECH, timeout=timeout, pace=0.0)


def test_it_loads_three_seconds_of_the_sandboxs_speech():
    speech = load_speech(HOST, 3.0)
    assert speech.dtype == np.int16
    assert len(speech) == 3 * SAMPLE_RATE
    assert np.abs(speech).max() > 1000  # speech, not silence


def test_it_refuses_audio_that_is_not_16_khz_mono(tmp_path):
    import wave

    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(b"\0" * 400)
    with pytest.raises(ValueError, match="not 16 kHz mono"):
        load_speech(path)


def test_it_reports_each_step_of_a_working_engine():
    engine = Listener()
    result = run("good-key", engine=engine)
    assert result.ok, result
    assert [step.name for step in result.steps] == list(STEPS)
    assert all(step.ok for step in result.steps)
    assert "Sent 3.0 s of speech" in result.steps[1].message
    assert "First result (partial): “heard 1000 ms of audio”" in result.steps[2].message
    assert "1 final result in all" in result.steps[3].message
    assert engine.opened[0].closed


def test_it_says_the_key_is_wrong_in_the_engines_words_without_the_key():
    result = run("wrong-key")
    assert not result.ok
    assert result.message == (
        "Connecting failed: The engine refused while connecting: "
        "failed: 401 invalid API key [hidden]"
    )
    assert [step.message for step in result.steps[1:]] == ["skipped"] * 3


def test_it_says_the_engine_refused_the_audio_and_still_closes():
    engine = Listener()
    result = run("refuse-format", engine=engine)
    assert not result.ok
    assert result.steps[1].message.startswith("The engine refused while receiving audio: failed:")
    assert "unsupported audio format" in result.message
    assert result.steps[2].message == "skipped"
    assert result.steps[3].ok  # closed anyway
    assert engine.opened[0].closed


def test_it_says_when_the_engine_never_answers():
    result = run("silent", timeout=1.0)
    assert not result.ok
    assert result.steps[2].name == "result"
    assert not result.steps[2].ok


def test_it_gives_up_at_the_deadline_on_an_engine_that_never_connects():
    result = run("hang", timeout=0.5)
    assert not result.ok
    assert result.steps[0].message.startswith("Timed out after 0.5 s: the engine")
    assert result.message.startswith("Connecting failed: Timed out after 0.5 s")
    assert [step.message for step in result.steps[1:]] == ["skipped"] * 3


def test_it_turns_an_engine_that_raises_into_a_failed_step():
    class Broken(Listener):
        def open(self, settings):
            raise RuntimeError("boom with key sekrit-123")

    result = run("sekrit-123", engine=Broken())
    assert not result.ok
    assert result.steps[0].message == "The engine raised RuntimeError: boom with key [hidden]"


def test_it_hides_the_key_an_engine_quotes_in_any_form():
    result = run(ENGINE_KEY, engine=LeakyEngine())  # raw, URL-encoded, in capitals
    assert not result.ok
    assert result.message.endswith("failed: the key [hidden] ([hidden], [hidden]) is not valid")
    assert found_in(repr(result), ENGINE_KEY) == []
