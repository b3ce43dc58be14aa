"""What every model of the dashboard shares: its permissions anchor and its encrypted secrets."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import connections, models
from django.db.models import QuerySet
from django.utils import timezone

from egress_app.crypto import decrypt_json, encrypt_json, hint
from egress_app.roles import PERMISSIONS

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class Access(models.Model):
    """A table-less anchor for the dashboard's own permissions (see egress_app/roles.py).

    Permissions need a content type; the domain models added later carry their own.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(PERMISSIONS.items())
        verbose_name = "dashboard access"

    def __str__(self) -> str:
        return "dashboard access"


# Models with a JSONField declare it, so that Django's JSONField system check need not query the
# database on every run of the checks (tests of the checks run without one). Every backend the
# dashboard supports (PostgreSQL, SQLite with JSON1) has it.
NEEDS_JSON = ("supports_json_field",)


class SecretsMixin(models.Model):
    """Secret values kept as one Fernet token of their JSON (see egress_app/crypto.py)."""

    encrypted_secrets = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    def secrets(self) -> dict[str, str]:
        """The decrypted secrets; SecretKeyError when no configured key can read them."""
        return decrypt_json(self.encrypted_secrets)

    def set_secrets(self, values: Mapping[str, str]) -> None:
        kept = {name: value for name, value in values.items() if value}
        self.encrypted_secrets = encrypt_json(kept) if kept else ""

    def secret_hints(self) -> dict[str, str]:
        """Field name -> masked hint, for the secrets that are set."""
        return {name: hint(value) for name, value in self.secrets().items() if value}


class Profile(SecretsMixin):
    """What storage and engine profiles share: a unique name, non-secret `config`, one default
    of each kind (`one_default`), and the outcome of the last Test."""

    name = models.CharField(max_length=100, unique=True)
    config = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        required_db_features = NEEDS_JSON
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def record_test(self, *, ok: bool, message: str) -> None:
        self.last_tested_at = timezone.now()
        self.last_test_ok = ok
        self.last_test_message = message


def one_default(name: str) -> models.UniqueConstraint:
    """At most one row of a profile model is the default (the database enforces it)."""
    return models.UniqueConstraint(
        fields=["is_default"], condition=models.Q(is_default=True), name=name
    )


Rows = Sequence[Any]  # one row's values, in the columns' order


def execute_many(connection: BaseDatabaseWrapper, sql: str, rows: Sequence[Rows]) -> int:
    """Run `sql` (Django's `%s` placeholders) once for each row, inside the caller's
    transaction; the rows affected (-1 when the driver cannot tell).

    On PostgreSQL the rows are bound by the server, not quoted into the statement's text in
    Python (Django's psycopg cursors bind on the client): psycopg's C dumpers, one statement
    prepared per connection after a few uses, the rows sent in one pipeline. A webhook batch's
    two writes cost less CPU that way. Errors are Django's, as from its own cursors."""
    with _server_binding(connection) as cursor:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)


def insert_rows(
    connection: BaseDatabaseWrapper, table: str, columns: Sequence[str], rows: Sequence[Rows]
) -> None:
    """Insert `rows` (values as `values_to_save` gives them) into `table`'s `columns`, all or
    none, inside the caller's transaction. On PostgreSQL with one COPY: psycopg formats each
    row in C and sends them in one stream, where an INSERT a row cost a webhook batch about
    0.1 ms of CPU a row here. Errors are Django's, as from its own cursors."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    if connection.vendor != "postgresql":
        values = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES {values}"  # noqa: S608
        execute_many(connection, sql, rows)
        return
    # The names are the model's own; the values go as COPY's data, never as SQL.
    sql = f"COPY {quote(table)} ({names}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:

        def copy(sql: str, rows: Sequence[Rows], many: bool, context: Any) -> None:
            with cursor.cursor.copy(sql) as stream:
                for row in rows:
                    stream.write_row(row)

        # Through the connection's execute wrappers and query log, as Django's statements go.
        debug = getattr(cursor, "debug_sql", None)  # a CursorDebugWrapper: queries are logged
        with debug(sql, rows, many=True) if debug else contextlib.nullcontext():
            cursor._execute_with_wrappers(sql, rows, many=True, executor=copy)


def _server_binding(connection: BaseDatabaseWrapper) -> Any:
    """A cursor whose parameters PostgreSQL binds (a statement run again with other values is
    prepared once per connection: parsed and planned once); elsewhere Django's cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    # Django's own server-binding cursor, wrapped as its cursors are (query log, wrappers).
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
        return connection._prepare_cursor(raw)  # type: ignore[attr-defined]


_TEXT_FIELDS = (models.CharField, models.TextField)  # exactly these: a subclass may convert


def values_to_save(
    instance: models.Model,
    fields: Sequence[models.Field[Any, Any]],
    connection: BaseDatabaseWrapper,
    *,
    add: bool,
) -> list[Any]:
    """The fields' values as `save()` sends them to the database. A plain text field's str is
    sent as it is, which is all Django's preparation does with one: a batch of webhooks
    prepared some 30 values each, most of them text, and Django's chain of calls per value
    cost more than the rows' writes."""
    values = []
    for field in fields:
        if type(field) in _TEXT_FIELDS:
            value = getattr(instance, field.attname)
            if value is None or type(value) is str:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, add), connection))
    return values


@dataclass(frozen=True)
class _Statement:
    """A compiled query: its SQL, and how its rows become values (`None`: not reusable)."""

    sql: str | None
    converters: dict[int, tuple[list[Any], Any]]  # column -> the compiler's converters for it
    attnames: list[str]  # the model's fields, in the order of the columns


class Compiled[M: models.Model]:
    """A query that Django compiles once per database and number of values, then runs again
    with other values. `build` makes it from a list of values that must be its only parameters,
    in their order (a filter `__in` them, say). Compiling an ORM query, or running it through
    a raw queryset, costs about a millisecond here, more than running a short one: each batch
    of webhooks asks the same three, with a few values each. Its rows come back as the ORM
    gives them, converted by the same converters (JSON read, times made aware)."""

    def __init__(self, build: Callable[[list[str]], QuerySet[M, Any]]) -> None:
        self.build = build
        self.statements: dict[tuple[str, int], _Statement] = {}

    @functools.cached_property
    def unrun(self) -> QuerySet[M, Any]:
        """The query with no values, never run: its model and database."""
        return self.build([])

    @property
    def using(self) -> str:
        """The database the query goes to (the router's, for reading or for a lock)."""
        return self.unrun.db

    def objects(self, values: Sequence[str]) -> list[M]:
        """The model instances it selects with `values`, as its queryset would."""
        model, using = self.unrun.model, self.using
        statement, rows = self._run(values)
        return [model.from_db(using, statement.attnames, row) for row in rows]

    def rows(self, values: Sequence[str]) -> list[list[Any]]:
        """The rows it selects with `values`, each column converted."""
        return self._run(values)[1]

    def _run(self, values: Sequence[str]) -> tuple[_Statement, list[list[Any]]]:
        values = list(dict.fromkeys(values))  # distinct, as an `__in` of them would be
        key = (self.using, len(values))
        if key not in self.statements:
            marks = [f"\x1f{n}" for n in range(len(values))]  # like no value a compiler adds
            statement, params = self._compiled(marks)
            reusable = params == marks  # Django may reorder or add parameters: then each time
            self.statements[key] = statement if reusable else replace(statement, sql=None)
        statement = self.statements[key]
        params = values
        if statement.sql is None:
            statement, params = self._compiled(params)
        connection = connections[self.using]
        with _server_binding(connection) as cursor:
            cursor.execute(statement.sql, params)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:  # as Django's SQLCompiler.apply_converters
            for position, (converters, expression) in statement.converters.items():
                for convert in converters:
                    row[position] = convert(row[position], expression, connection)
        return statement, rows

    def _compiled(self, values: list[str]) -> tuple[_Statement, list[str]]:
        compiler = self.build(values).query.get_compiler(self.using)
        sql, params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        attnames = [getattr(getattr(column, "target", None), "attname", "") for column in columns]
        return _Statement(sql, compiler.get_converters(columns), attnames), list(params)
