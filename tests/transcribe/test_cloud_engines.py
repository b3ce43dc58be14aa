"""The cloud engines against local stand-ins of their services (tests/transcribe/standins.py):
the real Gladia, Deepgram and AssemblyAI cannot be reached from the test machine, so each
stand-in speaks the service's protocol and checks what the service checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from egress_app.transcribe.assemblyai import AssemblyAIEngine
from egress_app.transcribe.cloud import Interleaver, probe
from egress_app.transcribe.deepgram import DeepgramEngine, DeepgramStream
from egress_app.transcribe.engines import (
    MIX,
    EngineSettings,
    EngineStream,
    Gap,
    Samples,
    Words,
)
from egress_app.transcribe.forward import ForwardEngine
from egress_app.transcribe.gladia import GladiaEngine
from tests.leaked import ENGINE_KEY, found_in
from tests.transcribe.standins import (
    AssemblyAIStandIn,
    DeepgramStandIn,
    ForwardStandIn,
    GladiaStandIn,
    StandIn,
)

KEY = "good-key"
BAD_KEY = "sk-wrong-key-that-must-never-show"
TICK = 1600  # 100 ms at 16 kHz, as the processor sends
FAST = {"backoff": 0.05, "retries": 3}
ALICE, BOB = "TR_alice", "TR_bob"


def tone(seconds: float, amplitude: int = 3000) -> Samples:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def silence(seconds: float) -> Samples:
    return np.zeros(int(seconds * 16_000), np.int16)


def feed(stream: EngineStream, audio: dict[str, Samples]) -> None:
    """Sends each channel's audio tick by tick, the way the mix processor does."""
    length = max(len(a) for a in audio.values())
    for offset in range(0, length, TICK):
        for channel, samples in audio.items():
            stream.send(channel, samples[offset : offset + TICK])


def wait_for(
    stream: EngineStream, done: Callable[[list[Words | Gap]], bool], timeout: float = 10
) -> list[Words | Gap]:
    results: list[Words | Gap] = []
    deadline = time.monotonic() + timeout
    while not done(results) and time.monotonic() < deadline:
        results += stream.poll()
        time.sleep(0.02)
    return results


def finals(results: list[Words | Gap]) -> list[Words]:
    return [r for r in results if isinstance(r, Words) and r.final]


def settings(
    config: dict[str, Any] | None = None, key: str = KEY, channels: tuple[str, ...] = (ALICE, BOB)
) -> EngineSettings:
    names = {ALICE: "Alice", BOB: "Bob"}
    return EngineSettings(config or {}, {"api_key": key}, channels, ("en",), names)


def closed(stream: EngineStream) -> list[Words | Gap]:
    stream.close(timeout=5)
    return stream.poll()


@pytest.fixture
def deepgram() -> Iterator[DeepgramStandIn]:
    with DeepgramStandIn(KEY).running() as standin:
        yield standin
    assert standin.violations == []


@pytest.fixture
def gladia() -> Iterator[GladiaStandIn]:
    with GladiaStandIn(KEY).running() as standin:
        yield standin
    assert standin.violations == []


@pytest.fixture
def assemblyai() -> Iterator[AssemblyAIStandIn]:
    with AssemblyAIStandIn(KEY).running() as standin:
        yield standin
    assert standin.violations == []


# --- what they share --------------------------------------------------------------------------
def test_it_interleaves_channels_and_pads_one_that_fell_silent() -> None:
    interleaver = Interleaver([ALICE, BOB], mix=False)
    assert interleaver.push(ALICE, np.full(4, 1, np.int16)) is None
    chunk = interleaver.push(BOB, np.full(4, 2, np.int16))
    assert chunk
    assert chunk.start == 0
    assert chunk.frames == 4
    assert np.frombuffer(chunk.data, "<i2").tolist() == [1, 2] * 4
    late = interleaver.push(ALICE, np.full(9000, 3, np.int16))  # Bob sent nothing for 0.56 s
    assert late
    assert late.start == 4
    assert late.frames == 9000
    assert np.frombuffer(late.data, "<i2").reshape(-1, 2)[:, 1].tolist() == [0] * 9000


def test_it_mixes_channels_without_wrapping_around() -> None:
    interleaver = Interleaver([ALICE, BOB], mix=True)
    interleaver.push(ALICE, np.array([30000, -5], np.int16))
    chunk = interleaver.push(BOB, np.array([30000, 7], np.int16))
    assert chunk
    assert np.frombuffer(chunk.data, "<i2").tolist() == [32767, 2]


# --- Deepgram -----------------------------------------------------------------------------------
def test_it_opens_deepgram_with_its_parameters_and_one_channel_per_speaker(
    deepgram: DeepgramStandIn,
) -> None:
    config = {"model": "nova-3", "language": "en", "endpointing": 300}
    stream = DeepgramEngine(base=deepgram.url, **FAST).open(settings(config))
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    results = wait_for(stream, lambda r: bool(finals(r))) + closed(stream)

    query = deepgram.sessions[0].query
    assert query["encoding"] == "linear16"
    assert query["sample_rate"] == "16000"
    assert query["channels"] == "2"
    assert query["multichannel"] == "true"
    assert query["interim_results"] == "true"
    assert query["endpointing"] == "300"
    assert query["model"] == "nova-3"
    assert query["language"] == "en"
    frames = np.frombuffer(bytes(deepgram.sessions[0].audio), "<i2").reshape(-1, 2)
    assert len(frames) == 24_000
    assert not frames[:, 1].any()
    assert frames[:8000, 0].any()
    assert deepgram.sessions[0].texts[-1] == {"type": "CloseStream"}
    assert [w.channel for w in results if isinstance(w, Words)] == [ALICE] * 3
    partial, final = results[0], finals(results)[0]
    assert isinstance(partial, Words)
    assert not partial.final
    assert partial.text == "hello"
    assert (final.text, final.start, final.end, final.language) == ("hello world", 0.0, 1.0, "en")
    assert stream.status.text == "ended"


def test_it_fails_on_a_refused_deepgram_key_in_deepgrams_words(deepgram: DeepgramStandIn) -> None:
    with deepgram.holding_handshakes():  # all 0.3 s is queued before the 401 comes back
        stream = DeepgramEngine(base=deepgram.url, **FAST).open(settings(key=BAD_KEY))
        feed(stream, {ALICE: tone(0.3), BOB: tone(0.3)})
    results = wait_for(stream, lambda r: stream.status.failed) + stream.poll()
    assert stream.status.failed
    assert stream.status.text == "failed: HTTP 401: Invalid credentials."
    assert len(deepgram.sessions) == 0  # refused at the handshake, not tried again
    # the audio it still held is marked as never heard
    assert results == [Gap(c, 0.0, 0.3, "Deepgram failed") for c in (ALICE, BOB)]
    feed(stream, {ALICE: tone(0.3)})  # sending to a failed stream is harmless
    assert stream.poll() == []
    closed(stream)


def test_it_reconnects_to_deepgram_after_a_drop_and_keeps_stream_times(
    deepgram: DeepgramStandIn,
) -> None:
    stream = DeepgramEngine(base=deepgram.url, **FAST).open(settings())
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    wait_for(stream, lambda r: bool(finals(r)))
    deepgram.drop()
    wait_for(stream, lambda r: len(deepgram.sessions) == 2 and stream.status.text == "live")
    feed(stream, {ALICE: silence(0.5), BOB: np.concatenate([tone(1.0), silence(0.5)])})
    results = wait_for(stream, lambda r: bool(finals(r))) + closed(stream)

    final = finals(results)[0]
    assert (final.channel, final.start, final.end) == (BOB, 1.5, 2.5)  # 0.0-1.0 s to Deepgram
    assert len(deepgram.sessions) == 2
    assert stream.status.text == "ended"


def test_it_keeps_an_idle_deepgram_socket_alive(deepgram: DeepgramStandIn) -> None:
    stream = DeepgramStream(settings(), base=deepgram.url, **FAST)
    stream.keepalive_every = 0.1  # Deepgram's own limit is 10 s; we send at 5 s
    alive = {"type": "KeepAlive"}
    wait_for(stream, lambda r: any(alive in s.texts for s in deepgram.sessions))
    closed(stream)
    assert deepgram.sessions[0].texts[0] == {"type": "KeepAlive"}
    assert deepgram.sessions[0].texts[-1] == {"type": "CloseStream"}


def test_it_counts_tries_afresh_after_a_connection_that_held(deepgram: DeepgramStandIn) -> None:
    stream = DeepgramStream(settings(), base=deepgram.url, backoff=0.05, retries=1)
    stream.stable_after = 0.2
    for connections in (1, 2, 3):
        deadline = time.monotonic() + 10
        while not (len(deepgram.sessions) == connections and deepgram.open):
            assert time.monotonic() < deadline, stream.status.text
            time.sleep(0.02)
        time.sleep(0.3)  # longer than stable_after: the next drop is a new outage
        deepgram.drop()
    wait_for(stream, lambda r: len(deepgram.sessions) == 4 and stream.status.text == "live")
    assert stream.status.text == "live"
    closed(stream)


def test_it_ends_without_the_last_results_when_the_engine_keeps_them_too_long() -> None:
    with ForwardStandIn(KEY).running() as standin:
        config = {"results": True}  # so it waits for the service to close, which it never does
        stream = ForwardEngine(**FAST).open(forward_settings(standin.url, **config))
        feed(stream, {ALICE: tone(0.2), BOB: tone(0.2)})
        stream.close(timeout=0.3)
    assert stream.status.text == "ended: no last results from the forward service within 0.3 s"


def test_it_marks_a_gap_when_deepgram_is_away_longer_than_the_buffer(
    deepgram: DeepgramStandIn,
) -> None:
    deepgram.unavailable = 2
    engine = DeepgramEngine(base=deepgram.url, buffer_seconds=0.5, backoff=0.3, retries=3)
    stream = engine.open(settings())
    feed(stream, {ALICE: tone(2.0), BOB: tone(2.0)})
    results = wait_for(stream, lambda r: any(isinstance(x, Gap) for x in r))
    results += closed(stream)

    gaps = [r for r in results if isinstance(r, Gap)]
    assert {g.channel for g in gaps} == {ALICE, BOB}
    assert [(g.start, g.end) for g in gaps if g.channel == ALICE] == [(0.0, 1.5)]
    assert gaps[0].reason.startswith("Deepgram was away longer than the 0.5 s buffer (")
    assert len(deepgram.sessions[0].audio) == 0.5 * 16_000 * 2 * 2


# --- Gladia -------------------------------------------------------------------------------------
def test_it_starts_a_gladia_session_with_its_init_body(gladia: GladiaStandIn) -> None:
    config = {"region": "eu-west", "languages": ["en", "fr"], "endpointing": 0.5}
    stream = GladiaEngine(api=gladia.api, **FAST).open(settings(config))
    feed(stream, {ALICE: silence(1.5), BOB: np.concatenate([tone(1.0), silence(0.5)])})
    results = wait_for(stream, lambda r: bool(finals(r))) + closed(stream)

    query, body = gladia.inits[0]
    assert query == {"region": "eu-west"}
    assert body["encoding"] == "wav/pcm"
    assert body["bit_depth"] == 16
    assert body["sample_rate"] == 16_000
    assert body["channels"] == 2
    assert body["language_config"] == {"languages": ["en", "fr"], "code_switching": False}
    assert body["messages_config"]["receive_partial_transcripts"] is True
    assert body["endpointing"] == 0.5
    assert max(gladia.sessions[0].sizes) <= 100 * 16 * 2 * 2  # about 100 ms a message
    assert gladia.sessions[0].texts == [{"type": "stop_recording"}]
    final = finals(results)[0]
    assert (final.channel, final.text, final.start, final.end) == (BOB, "hello world", 0.0, 1.0)
    assert final.confidence == 0.9
    assert final.language == "en"
    assert stream.status.text == "ended"


def test_it_fails_on_a_refused_gladia_key_without_showing_it(gladia: GladiaStandIn) -> None:
    stream = GladiaEngine(api=gladia.api, **FAST).open(settings(key=BAD_KEY))
    wait_for(stream, lambda r: stream.status.failed)
    assert stream.status.text == "failed: HTTP 401: Invalid or missing x-gladia-key"
    assert BAD_KEY not in stream.status.text
    closed(stream)


def test_it_hides_a_key_the_service_quotes_back_in_any_form() -> None:
    with GladiaStandIn(KEY, echo_key=True).running() as standin:
        stream = GladiaEngine(api=standin.api, **FAST).open(settings(key=ENGINE_KEY))
        wait_for(stream, lambda r: stream.status.failed)
        closed(stream)
    hidden = "[hidden] ([hidden], [hidden]) is not valid"
    assert stream.status.text == f"failed: HTTP 401: Invalid x-gladia-key: the key {hidden}"
    assert found_in(stream.status.text, ENGINE_KEY) == []


def test_it_reports_gladias_validation_errors(gladia: GladiaStandIn) -> None:
    stream = GladiaEngine(api=gladia.api, **FAST).open(settings({"endpointing": 20}))
    wait_for(stream, lambda r: stream.status.failed)
    assert stream.status.text == (
        "failed: HTTP 422: Invalid request body; endpointing must not be greater than 10"
    )
    closed(stream)


def test_it_resumes_the_gladia_session_on_the_same_url_after_a_drop(
    gladia: GladiaStandIn,
) -> None:
    stream = GladiaEngine(api=gladia.api, **FAST).open(settings())
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    wait_for(stream, lambda r: bool(finals(r)))
    gladia.drop()
    wait_for(stream, lambda r: len(gladia.sessions) == 2 and stream.status.text == "live")
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    results = wait_for(stream, lambda r: bool(finals(r))) + closed(stream)

    assert len(gladia.inits) == 1  # no new session
    assert gladia.sessions[0].query["token"] == gladia.sessions[1].query["token"]
    final = finals(results)[0]
    assert (final.channel, final.start, final.end) == (ALICE, 1.5, 2.5)
    assert stream.status.text == "ended"


def test_it_starts_a_new_gladia_session_when_the_old_one_is_gone(gladia: GladiaStandIn) -> None:
    stream = GladiaEngine(api=gladia.api, **FAST).open(settings())
    wait_for(stream, lambda r: bool(gladia.open))
    gladia.live.clear()  # Gladia ended the session (expired, or ended on its side)
    gladia.drop()
    wait_for(stream, lambda r: len(gladia.sessions) == 2 and stream.status.text == "live")
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    results = closed(stream)
    assert len(gladia.inits) == 2
    assert gladia.sessions[0].query["token"] != gladia.sessions[1].query["token"]
    assert [(w.channel, w.text) for w in finals(results)] == [(ALICE, "hello world")]


def test_it_never_shows_the_gladia_session_token(gladia: GladiaStandIn) -> None:
    stream = GladiaEngine(api=gladia.api, backoff=0.05, retries=1).open(settings())
    wait_for(stream, lambda r: bool(gladia.open))
    token = gladia.sessions[0].query["token"]
    gladia.unavailable = 10
    gladia.drop()
    wait_for(stream, lambda r: stream.status.failed)
    assert stream.status.text.startswith("failed: ")
    assert token not in stream.status.text
    closed(stream)


# --- AssemblyAI ---------------------------------------------------------------------------------
def test_it_streams_one_channel_to_assemblyai_in_allowed_message_sizes(
    assemblyai: AssemblyAIStandIn,
) -> None:
    config = {"speech_model": "universal-streaming-english", "min_silence_ms": 500}
    engine = AssemblyAIEngine(base=assemblyai.url, **FAST)
    stream = engine.open(settings(config, channels=(ALICE,)))
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5), tone(0.52)])})
    results = closed(stream)

    session = assemblyai.sessions[0]
    assert session.headers["Authorization"] == KEY
    assert session.query["sample_rate"] == "16000"
    assert session.query["encoding"] == "pcm_s16le"
    assert session.query["format_turns"] == "true"
    assert session.query["min_end_of_turn_silence_when_confident"] == "500"
    assert all(1600 <= size <= 32_000 for size in session.sizes)  # 50 to 1000 ms
    assert session.texts == [{"type": "Terminate"}]
    texts = [(w.text, w.final, w.start, w.end) for w in results if isinstance(w, Words)]
    assert ("Hello world.", True, 0.0, 1.0) in texts
    assert ("hello world", True, 0.0, 1.0) not in texts  # the unformatted end of turn
    assert texts[-1][:2] == ("Hello world.", True)  # the last turn, after Terminate
    assert stream.status.text == "ended"


def test_it_fails_when_assemblyai_refuses_the_key(assemblyai: AssemblyAIStandIn) -> None:
    engine = AssemblyAIEngine(base=assemblyai.url, **FAST)
    stream = engine.open(settings(key=BAD_KEY, channels=(ALICE,)))
    feed(stream, {ALICE: tone(0.5)})
    wait_for(stream, lambda r: stream.status.failed)
    assert stream.status.text == "failed: closed by AssemblyAI (4001: Not authorized)"
    assert len(assemblyai.sessions) == 1
    closed(stream)


def test_it_connects_to_assemblyai_with_a_temporary_token(assemblyai: AssemblyAIStandIn) -> None:
    token_only = EngineSettings({}, {"token": KEY}, (ALICE,))
    stream = AssemblyAIEngine(base=assemblyai.url, **FAST).open(token_only)
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)])})
    results = closed(stream)
    assert "Authorization" not in assemblyai.sessions[0].headers
    assert assemblyai.sessions[0].query["token"] == KEY
    assert [w.text for w in finals(results)] == ["Hello world."]


def test_it_shrugs_off_odd_input_without_raising(assemblyai: AssemblyAIStandIn) -> None:
    stream = AssemblyAIEngine(base=assemblyai.url, **FAST).open(settings(channels=(ALICE,)))
    stream.send("TR_nobody", tone(0.1))  # a channel it was not opened with
    stream.send(ALICE, np.zeros((2, 2), np.int16))  # not one channel's samples
    stream.send(ALICE, np.zeros(0, np.int16))
    assert stream.poll() == []
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)])})
    assert [w.text for w in finals(closed(stream))] == ["Hello world."]


def test_it_mixes_for_assemblyai_when_given_several_channels(
    assemblyai: AssemblyAIStandIn,
) -> None:
    stream = AssemblyAIEngine(base=assemblyai.url, **FAST).open(settings())
    feed(stream, {ALICE: np.concatenate([tone(1.0), silence(0.5)]), BOB: silence(1.5)})
    results = closed(stream)
    assert {w.channel for w in results if isinstance(w, Words)} == {MIX}


# --- Forward ------------------------------------------------------------------------------------
def forward_settings(url: str, **config: Any) -> EngineSettings:
    names = {ALICE: "Alice", BOB: "Bob"}
    return EngineSettings({"url": url} | config, {"token": KEY}, (ALICE, BOB), (), names)


def test_it_forwards_each_speakers_channel_with_a_start_message() -> None:
    with ForwardStandIn(KEY).running() as standin:
        stream = ForwardEngine(**FAST).open(forward_settings(standin.url + "/in"))
        feed(stream, {ALICE: tone(0.5), BOB: silence(0.5)})
        assert closed(stream) == []
        time.sleep(0.1)
    assert standin.violations == []
    assert standin.starts == [
        {
            "type": "start",
            "sample_rate": 16_000,
            "encoding": "s16le",
            "channels": [{"id": ALICE, "name": "Alice"}, {"id": BOB, "name": "Bob"}],
        }
    ]
    session = standin.sessions[0]
    assert session.path == "/in"
    assert session.texts == [{"type": "stop"}]
    frames = np.frombuffer(bytes(session.audio), "<i2").reshape(-1, 2)
    assert np.array_equal(frames[:, 0], tone(0.5))
    assert not frames[:, 1].any()
    assert stream.status.text == "ended"


def test_it_forwards_the_mix_and_takes_results_back() -> None:
    with ForwardStandIn(KEY, answer=True).running() as standin:
        config = {"mode": "mix", "results": True}
        stream = ForwardEngine(**FAST).open(forward_settings(standin.url, **config))
        feed(stream, {ALICE: tone(1.0), BOB: tone(1.0)})
        results = closed(stream)
    assert standin.violations == []
    assert [c["id"] for c in standin.starts[0]["channels"]] == [MIX]
    mixed = np.frombuffer(bytes(standin.sessions[0].audio), "<i2")
    assert np.array_equal(mixed, np.clip(tone(1.0).astype(np.int32) * 2, -32768, 32767))
    final = finals(results)[0]
    assert (final.channel, final.text, final.start, final.end) == (MIX, "hello world", 0.0, 1.0)


def test_it_fails_when_the_forward_service_refuses_the_token() -> None:
    with ForwardStandIn("another-token").running() as standin:
        stream = ForwardEngine(**FAST).open(forward_settings(standin.url))
        wait_for(stream, lambda r: stream.status.failed)
        closed(stream)
    assert stream.status.text == "failed: HTTP 401: bad token Bearer [hidden]"  # never the token


def test_it_fails_after_its_tries_when_nothing_answers() -> None:
    standin: StandIn = ForwardStandIn(KEY)
    with standin.running():
        url = standin.url
    stream = ForwardEngine(backoff=0.05, retries=2).open(forward_settings(url))
    feed(stream, {ALICE: tone(0.5), BOB: tone(0.5)})
    results = wait_for(stream, lambda r: stream.status.failed)
    results += stream.poll()
    assert stream.status.text.startswith("failed: cannot connect")
    assert [(g.start, g.end) for g in results if isinstance(g, Gap) and g.channel == ALICE] == [
        (0.0, 0.5)
    ]
    closed(stream)


# --- a profile's Test button --------------------------------------------------------------------
def test_it_probes_an_engine_with_a_short_real_session(deepgram: DeepgramStandIn) -> None:
    ok, message = probe(DeepgramEngine(base=deepgram.url, **FAST), settings())
    assert (ok, message) == (True, "Connected, sent 1 s of audio, and the session ended cleanly.")
    assert len(deepgram.sessions[0].audio) == 16_000 * 2 * 2


def test_it_probes_a_refused_key_in_the_engines_words(gladia: GladiaStandIn) -> None:
    ok, message = probe(GladiaEngine(api=gladia.api, **FAST), settings(key=BAD_KEY))
    assert (ok, message) == (False, "Failed: HTTP 401: Invalid or missing x-gladia-key")


def test_it_probes_a_service_that_is_not_there() -> None:
    standin = ForwardStandIn(KEY)
    with standin.running():
        url = standin.url
    engine = ForwardEngine(backoff=0.05, retries=1)
    ok, message = probe(engine, forward_settings(url))
    assert not ok
    assert message.startswith("Failed: cannot connect")
