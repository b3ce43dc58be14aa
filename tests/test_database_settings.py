"""How the database connection is configured from the environment: on PostgreSQL a statement
run again and again is prepared once per connection (Django turns that off by default, for
poolers that cannot keep prepared statements), unless DB_PREPARE_THRESHOLD is 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from egress_app.actions.ledger import _SEEN

ROOT = Path(__file__).resolve().parent.parent


def options_with(**extra: str) -> dict[str, object]:
    """The default database's OPTIONS as the settings build them from this environment."""
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/egress", **extra}
    code = (
        "import json; from dashboard import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_postgresql_prepares_a_statement_run_five_times() -> None:
    assert options_with()["prepare_threshold"] == 5
    assert options_with(DB_PREPARE_THRESHOLD="2")["prepare_threshold"] == 2


def test_a_threshold_of_0_prepares_nothing_behind_a_pooler_that_cannot_keep_them() -> None:
    assert "prepare_threshold" not in options_with(DB_PREPARE_THRESHOLD="0")


@pytest.mark.django_db
def test_a_batchs_query_is_prepared_once_it_has_run_often_enough() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    with transaction.atomic():
        for n in range(6):
            assert _SEEN.rows([f"EV_prepared_{n}"]) == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] >= 1
