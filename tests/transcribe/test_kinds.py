"""The per-kind fields of engine profiles: cleaning posted strings and saying what is wrong."""

from __future__ import annotations

from egress_app.transcribe import kinds


def test_it_describes_every_engine_kind() -> None:
    assert set(kinds.FIELDS) == {"builtin", "gladia", "deepgram", "assemblyai", "forward"}
    for kind in ("gladia", "deepgram", "assemblyai"):
        assert [f.name for f in kinds.secret_fields(kind)] == ["api_key"]
    assert [f.name for f in kinds.secret_fields("forward")] == ["token"]


def test_it_fixes_the_builtin_language_to_english() -> None:
    assert kinds.clean("builtin", {}) == {"language": "en"}
    assert kinds.errors("builtin", {"language": "fr"}, {}, production=True) == {
        "language": "Pick one of the listed values."
    }


def test_it_types_posted_values() -> None:
    config = kinds.clean(
        "gladia",
        {"region": "eu-west", "languages": "en, fr", "code_switching": "on", "endpointing": "0.5"},
    )
    assert config == {
        "region": "eu-west",
        "model": "solaria-1",
        "languages": ["en", "fr"],
        "code_switching": True,
        "endpointing": 0.5,
    }
    assert kinds.errors("gladia", config, {"api_key": "k"}, production=True) == {}


def test_it_says_what_is_wrong_per_field() -> None:
    config = kinds.clean("gladia", {"region": "mars", "languages": "english", "endpointing": "20"})
    found = kinds.errors("gladia", config, {}, production=True)
    assert found["region"] == "Pick one of the listed values."
    assert "not a language code" in found["languages"]
    assert found["endpointing"] == "Enter a number from 0.01 to 10."
    assert found["api_key"] == "This field is required."


def test_it_keeps_the_stored_key_when_editing() -> None:
    config = kinds.clean("deepgram", {})
    assert kinds.errors("deepgram", config, {}, production=True, editing=True) == {}


def test_it_checks_deepgram_language_and_model() -> None:
    config = kinds.clean("deepgram", {"language": "multi", "model": "nova-3"})
    assert kinds.errors("deepgram", config, {"api_key": "k"}, production=True) == {}
    config = kinds.clean("deepgram", {"language": "English!", "model": "Nova 3"})
    found = kinds.errors("deepgram", config, {"api_key": "k"}, production=True)
    assert set(found) == {"language", "model"}


def test_it_wants_wss_for_forward_in_production() -> None:
    config = kinds.clean("forward", {"url": "ws://stt.example.com/in"})
    assert "wss://" in kinds.errors("forward", config, {}, production=True)["url"]
    assert kinds.errors("forward", config, {}, production=False) == {}
    for bad in ("https://stt.example.com", "wss://user:pw@stt.example.com/", "stt"):
        config = kinds.clean("forward", {"url": bad})
        assert "url" in kinds.errors("forward", config, {}, production=False)


def test_it_refuses_an_unknown_kind() -> None:
    assert kinds.errors("whisper", {}, {}, production=True) == {
        "kind": "Pick one of the listed engines."
    }
