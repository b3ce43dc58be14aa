"""The one rule that hides a secret in a service's words (egress_app/redact.py): every text
of LiveKit, a storage probe or a speech engine goes through it."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from egress_app.redact import HIDDEN, Secrets, redactor
from tests.leaked import ENGINE_KEY

HIDE = redactor([ENGINE_KEY])


@pytest.mark.parametrize(
    "form",
    [
        ENGINE_KEY,
        ENGINE_KEY.upper(),
        ENGINE_KEY.lower(),
        quote(ENGINE_KEY, safe=""),
        quote(ENGINE_KEY),
        quote_plus(ENGINE_KEY),
        quote(ENGINE_KEY, safe="").lower(),  # %2f as well as %2F
    ],
)
def test_it_hides_the_key_in_each_form_a_service_may_quote_it(form):
    assert HIDE(f"401: key {form} refused") == f"401: key {HIDDEN} refused"


def test_it_hides_a_key_with_the_spaces_around_it_trimmed():
    assert redactor([f"  {ENGINE_KEY}\n"])(f"[{ENGINE_KEY}]") == f"[{HIDDEN}]"


def test_it_hides_the_longer_of_two_secrets_whole():
    hide = redactor(["secret", "secret-and-more"])
    assert hide("a secret-and-more b secret") == f"a {HIDDEN} b {HIDDEN}"


def test_it_leaves_values_too_short_to_be_secret_and_empty_texts_alone():
    hide = redactor(["", "live", "12345"])
    assert hide("live 12345") == "live 12345"
    assert HIDE("") == ""
    assert not Secrets(["admin"])


def test_it_hides_with_the_placeholder_asked_for():
    assert Secrets([ENGINE_KEY], hidden="{…}").hide(f"k={ENGINE_KEY}") == "k={…}"
