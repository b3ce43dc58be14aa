"""Run a sandbox in a background thread, for tests and tools.

with running_sandbox() as sandbox:
    LiveKitAPI(sandbox.url, sandbox.api_key, sandbox.api_secret)
    sandbox.control.add_participant("town-hall", "dave")
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from egress_app.sandbox.config import Pacing, SandboxConfig
from egress_app.sandbox.controller import SandboxController
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.server import create_app
from egress_app.sandbox.serving import OneWriteHttpProtocol

STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    api_key: str
    api_secret: str
    control: SandboxController
    config: SandboxConfig


# A second API key the test sandbox knows: a Start request's webhook may name it to be signed.
SPARE_KEY, SPARE_SECRET = "spare-key", "spare-secret"


def fast_config() -> SandboxConfig:
    """Demo fixture, fast pacing, no webhook URLs; SPARE_KEY known beside the main key."""
    return SandboxConfig(
        fixture="demo",
        pacing=Pacing.fast(),
        webhook_urls=[],
        other_keys={SPARE_KEY: SPARE_SECRET},
    )


# The first name of `fast_config`, still used by bench/; pytest must not collect it.


@contextmanager
def running_sandbox(config: SandboxConfig | None = None) -> Iterator[RunningSandbox]:
    """Serve a sandbox on a free 127.0.0.1 port until the block exits (fast pacing by default)."""
    config = config or fast_config()
    # With the protocol named, asyncio turns on TCP_NODELAY for accepted connections; without it
    # Nagle's algorithm holds every response back for ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config.host, config.port = "127.0.0.1", port
    sandbox = Sandbox(config)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sandbox=sandbox),
            lifespan="off",
            log_level="warning",
            ws="none",
            http=OneWriteHttpProtocol,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=serve, args=(loop, server, sock), name=f"livekit-sandbox-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, port, thread)
        yield RunningSandbox(
            url=f"http://127.0.0.1:{port}",
            api_key=config.api_key,
            api_secret=config.api_secret,
            control=SandboxController(sandbox, loop),
            config=config,
        )
    finally:
        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(sandbox.close(), loop).result(STARTUP_TIMEOUT)
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


def serve(
    loop: asyncio.AbstractEventLoop,
    server: uvicorn.Server,
    sock: socket.socket,
    executor: ThreadPoolExecutor | None = None,
) -> None:
    """A thread's target: `server` on `sock` in `loop` (sync work in `executor`, if given)."""
    asyncio.set_event_loop(loop)
    if executor is not None:
        loop.set_default_executor(executor)
    try:
        loop.run_until_complete(server.serve(sockets=[sock]))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _wait_until_started(server: uvicorn.Server, port: int, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server thread exited during startup")
        if server.started:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.01)
    raise RuntimeError(f"the sandbox did not start on port {port} within {STARTUP_TIMEOUT}s")
