"""Support follows jobs live: rows change as LiveKit reports them, over the page's websocket, with
no reload, and a page that lost its socket catches up from the snapshot when it reconnects.

Two people, two browser contexts: the demo support user watches the job list while the demo
producer launches and stops egresses from the launch form and the job page. The sandbox moves
each egress on and reports it to the dashboard with signed webhooks (tests/browser/conftest.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from egress_app.sandbox.testing import RunningSandbox
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/live.png"
STREAM_URL = "rtmp://live.example.com/app/SECRET-live-journey-key"
LIVE_SOCKET = "**/ws/live/**"


@dataclass
class SocketProxy:
    """Routes the page's live websockets through the test, to cut them and to read what came.

    While `held`, a new socket is not connected to the server: Playwright answers it itself and
    it stays silent, like a connection that is open but dead, until `release()` closes it.
    """

    held: bool = False
    routes: list[tuple[WebSocketRoute, WebSocketRoute | None]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def __call__(self, ws: WebSocketRoute) -> None:
        if "view=jobs" not in ws.url:  # not the job list's (the home page's, left behind)
            ws.connect_to_server()
            return
        if self.held:
            self.routes.append((ws, None))
            return
        server = ws.connect_to_server()
        self.routes.append((ws, server))
        # The test alone closes the page's socket: closing the server's side must not close the
        # page's a second time (htmx would then reconnect twice).
        server.on_close(lambda code, reason: None)

        def from_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            self.received.append(text)
            ws.send(message)

        server.on_message(from_server)

    def cut(self, *, hold: bool) -> None:
        """Close the current socket as a restarting server does (1012: htmx reconnects)."""
        self.held = hold
        ws, server = self.routes[-1]
        ws.close(code=1012, reason="Service Restart")
        if server is not None:
            server.close()

    def release(self) -> None:
        self.cut(hold=False)


def wait_until(page: Page, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition on the test's side (route handlers run while Playwright waits)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def status_of(row: Locator) -> Locator:
    return row.locator("td").first.locator(".badge").first


def pushed(messages: list[str], job_id: int, status: str) -> bool:
    """Whether a message from the server carried the job's row with that status."""
    row = re.compile(rf'<tr id="job-{job_id}"[^>]*>\s*<td><span class="badge [^"]*">{status}<')
    return any(row.search(message) for message in messages)


def launch_stream(page: Page, room: str) -> int:
    """The producer starts a room composite streamed to an RTMP URL; returns the job's id."""
    page.goto("/launch/")
    page.get_by_role("combobox", name="Room", exact=True).select_option(room)
    page.get_by_label("Room composite (the whole room, laid out)").check()
    page.get_by_label("Stream live (RTMP or SRT)").check()
    page.get_by_label("Other stream URLs").fill(STREAM_URL)
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    match = re.search(r"/jobs/(\d+)/$", page.url)
    assert match is not None
    return int(match.group(1))


def stop_from_job_page(page: Page) -> None:
    page.get_by_role("link", name="Stop this egress").click()
    page.get_by_role("button", name="Stop the egress").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")


def test_it_shows_support_each_change_of_a_job_live_and_catches_up_after_a_lost_socket(
    page: Page, new_page: Callable[[], Page], sandbox: RunningSandbox
) -> None:
    # STARTING lasts long enough to be seen; the rest stays fast.
    sandbox.control.set_pacing(starting=2.0)
    proxy = SocketProxy()
    support = page
    log_in(support, "support", "support-demo-pass")
    support.route_web_socket(LIVE_SOCKET, proxy)
    support.goto("/jobs/")
    expect(
        support.get_by_text("No jobs yet: nothing has been recorded or streamed.")
    ).to_be_visible()
    expect(support.locator("body")).to_have_class(re.compile(r"\blive-connected\b"))
    assert support.evaluate('document.body.classList.contains("live-connected")') is True
    support.evaluate("window.__marker = 1")

    producer = new_page()
    log_in(producer, "producer", "producer-demo-pass")

    # A new job tops the list, then follows LiveKit: Starting, Active, and Complete once stopped.
    first = launch_stream(producer, "town-hall")
    row = support.locator(f"#job-{first}")
    expect(status_of(row)).to_have_text("Starting")
    expect(support.get_by_text("No jobs yet")).to_be_hidden()
    expect(row).to_contain_text("town-hall")
    expect(row).to_contain_text("producer")
    expect(status_of(row)).to_have_text("Active")
    stop_from_job_page(producer)
    expect(status_of(row)).to_have_text("Complete")
    assert support.evaluate("window.__marker") == 1
    # Each state came through the socket (polling is off while it is open).
    for status in ("Starting", "Active", "Complete"):
        assert pushed(proxy.received, first, status), status

    # A second job runs; then support's socket dies and stays dead while it is stopped.
    second = launch_stream(producer, "podcast")
    row = support.locator(f"#job-{second}")
    expect(status_of(row)).to_have_text("Active")
    expect(support.locator("#job-rows tr")).to_have_count(2)
    expect(support.locator("#job-rows tr").first).to_have_id(f"job-{second}")

    closed = "window.__closed = 0; document.body.addEventListener('htmx:wsClose', () => __closed++)"
    support.evaluate(closed)
    proxy.cut(hold=True)
    # The page saw its socket close and reconnected (htmx's ws extension, after up to a second),
    # to a socket that opens but brings nothing.
    wait_until(support, lambda: support.evaluate("window.__closed") == 1 and len(proxy.routes) == 2)
    stop_from_job_page(producer)
    assert support.evaluate("window.__marker") == 1
    support.wait_for_timeout(300)  # were anything on its way, it would have come by now
    expect(status_of(row)).to_have_text("Active")
    assert not pushed(proxy.received, second, "Complete")

    # Back on the server: the snapshot brings the state it missed.
    before = len(proxy.received)
    proxy.release()
    expect(status_of(row)).to_have_text("Complete")
    expect(support.locator("body")).to_have_class(re.compile(r"\blive-connected\b"))
    assert support.evaluate('document.body.classList.contains("live-connected")') is True
    assert support.evaluate("window.__marker") == 1
    assert support.evaluate("window.__closed") == 2
    assert len(proxy.routes) == 3
    snapshot = proxy.received[before]
    assert 'id="job-rows"' in snapshot
    assert pushed([snapshot], second, "Complete")
    assert pushed([snapshot], first, "Complete")
    assert STREAM_URL not in support.content()
    support.screenshot(path=SCREENSHOT, full_page=True)
