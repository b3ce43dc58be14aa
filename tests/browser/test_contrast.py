"""Every button and badge is readable: its text against its own background (or the nearest
ancestor's, when its own is transparent) meets WCAG AA for text, 4.5:1, on every page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.every_page import Shown, log_in_as

pytestmark = pytest.mark.browser

AA_TEXT = 4.5

# Each visible, enabled button-like element and badge: its text, its computed colour and the
# colour behind it, and their contrast ratio (WCAG 2.x relative luminance).
CONTRASTS = """
() => {
  const parse = (value) => {
    const parts = value.match(/[\\d.]+/g).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const over = (top, below) => ({
    r: top.r * top.a + below.r * (1 - top.a),
    g: top.g * top.a + below.g * (1 - top.a),
    b: top.b * top.a + below.b * (1 - top.a),
    a: 1,
  });
  const behind = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour.a > 0) layers.push(colour);
      if (colour.a === 1) break;
    }
    return layers.reduceRight((below, top) => over(top, below), { r: 255, g: 255, b: 255, a: 1 });
  };
  const luminance = ({ r, g, b }) => {
    const [R, G, B] = [r, g, b].map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const selector = "button, a.button, a.danger, .badge, .role, input[type=submit]";
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length && !el.disabled && el.textContent.trim())
    .map((el) => {
      const background = behind(el);
      const text = over(parse(getComputedStyle(el).color), background);
      const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a);
      return {
        text: el.textContent.trim().replace(/\\s+/g, " "),
        classes: el.className,
        ratio: (light + 0.05) / (dark + 0.05),
      };
    });
}
"""


def test_it_makes_every_button_and_badge_readable(
    every_page: list[Shown], new_page: Callable[[], Page]
) -> None:
    pages = every_page
    checked, unreadable = 0, []
    for role in ("producer", "admin", "support"):
        page = new_page()
        log_in_as(page, role)
        for shown in pages:
            if role not in shown.roles:
                continue
            page.goto(shown.path)
            for item in page.evaluate(CONTRASTS):
                checked += 1
                if item["ratio"] < AA_TEXT:
                    unreadable.append((shown.path, item["text"], item["classes"], item["ratio"]))
    assert checked > 50
    assert unreadable == []


def test_it_shows_stop_as_white_on_red(every_page: list[Shown], page: Page) -> None:
    pages = every_page
    running = next(shown for shown in pages if shown.name == "dashboard-job-detail")
    log_in_as(page, "producer")
    page.goto(running.path)

    stop = page.get_by_role("link", name="Stop this egress")
    colours = stop.evaluate(
        "(el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )

    assert colours == ["rgb(255, 255, 255)", "rgb(180, 35, 24)"]
