from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The rate limits count in Django's cache: each test starts with none used."""
    cache.clear()
    yield
    cache.clear()
