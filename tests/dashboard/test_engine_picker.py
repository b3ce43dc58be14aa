from __future__ import annotations

import pytest
from django import forms

from dashboard.engine_forms import engine_profile_field
from egress_app import actions

pytestmark = pytest.mark.django_db


class StartForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"] = engine_profile_field()


def make(name: str, kind: str = "builtin", **secrets: str):
    return actions.create_engine_profile(None, name=name, kind=kind, config={}, secrets=secrets)


def test_it_offers_every_profile_by_name_the_default_first_and_chosen():
    offline = make("Offline")
    gladia = make("Gladia", kind="gladia", api_key="picker-secret-key-1234")
    actions.make_default_engine_profile(None, gladia)
    html = str(StartForm()["engine"])
    assert html.index("Gladia (default)") < html.index("Offline")
    assert f'value="{gladia.pk}" selected' in html
    assert "picker-secret-key-1234" not in html
    assert StartForm({"engine": str(offline.pk)}).is_valid()


def test_it_refuses_a_profile_that_is_not_there():
    make("Offline")
    form = StartForm({"engine": "999"})
    assert not form.is_valid()
    assert "Select a valid choice" in form.errors["engine"][0]
