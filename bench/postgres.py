"""The benchmark databases: each script's own, on the local PostgreSQL (trust auth)."""

from __future__ import annotations

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"


def exists(database: str) -> bool:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return conn.execute(query, [database]).fetchone() is not None


def fresh(database: str) -> None:
    """`database` dropped (its connections closed) and created empty."""
    drop(database)
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")


def drop(database: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
