"""Egress jobs, as the dashboard keeps what LiveKit says of them, and support's notes on them."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from livekit.protocol import egress

from egress_app.crypto import SecretKeyError
from egress_app.livekit import times
from egress_app.livekit.scrub import (
    Secrets,
    hide_stream_urls,
    info_dict,
    results_of,
    scrub_info,
    stream_urls_in,
)
from egress_app.models.base import (
    NEEDS_JSON,
    SecretsMixin,
    execute_many,
    values_to_save,
)
from egress_app.models.reports import forget_days_of
from egress_app.models.statuses import (
    ACTIVE_STATUSES,
    EgressKind,
    EgressStatus,
    JobFlag,
    LaunchState,
    Triage,
    status_label,
    status_of,
)
from egress_app.models.vault import StorageProfile, StreamDestination, stored_secrets

# What the Reports page sums of a job (egress_app.reports).
REPORTED_FIELDS = frozenset(
    ("status", "launch_state", "kind", "started_at", "ended_at", "config", "results", "created_at")
)


class EgressJob(SecretsMixin):
    """One egress started from the dashboard; `config` never holds secret values.

    The row exists before LiveKit answers (`launch_state` launching, no `egress_id`, blank
    `status`). `encrypted_secrets` maps each stream output (`destination:<id>`, `adhoc:<n>`) to
    the exact URL LiveKit dials, since UpdateStream removes a stream by its original URL and
    LiveKit only ever shows redacted copies; a track egress's websocket URL is kept there too.
    """

    ACTIVE_STATUSES = ACTIVE_STATUSES
    FAILED_STATUSES = (EgressStatus.FAILED, EgressStatus.ABORTED, EgressStatus.LIMIT_REACHED)
    # What `apply_info` changes (and a flag it may settle): all an update from LiveKit saves.
    INFO_FIELDS = (
        "status",
        "room_name",
        "started_at",
        "ended_at",
        "updated_at",
        "error",
        "details",
        "error_code",
        "results",
        "info",
        "flag",
        "flagged_at",
    )
    # What `failures.keep_cause` may change before a save, from the fields the cause depends on.
    CAUSE_FIELDS = ("cause", "triage", "triaged_by", "triaged_at")
    # All `save_infos` may write.
    SAVED_BY_INFOS = frozenset((*INFO_FIELDS, *CAUSE_FIELDS))
    # LiveKit accepts Stop/Update only in these (a later one answers failed_precondition).
    UPDATABLE_STATUSES = (EgressStatus.STARTING, EgressStatus.ACTIVE)

    egress_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    launch_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    launch_state = models.CharField(
        max_length=16, choices=LaunchState.choices, default=LaunchState.LAUNCHED
    )
    kind = models.CharField(max_length=32, choices=EgressKind.choices)
    # A room name is as long as the LiveKit server lets it be: 256 bytes by default, any length
    # once `limit.max_room_name_length` is 0 (livekit/livekit pkg/config/config.go,
    # LimitConfig.CheckRoomNameLength). Kept whole; identities and metadata only live in JSON.
    room_name = models.TextField(blank=True)
    status = models.CharField(
        max_length=32, choices=EgressStatus.choices, default=EgressStatus.STARTING, blank=True
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="egress_jobs",
    )
    config = models.JSONField(default=dict, blank=True)
    storage_profile = models.ForeignKey(
        StorageProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    destinations = models.ManyToManyField(StreamDestination, blank=True, related_name="jobs")
    # Every ad-hoc stream URL ever attached, redacted, by number (`adhoc:<n>`); None once removed.
    adhoc_outputs = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    details = models.TextField(blank=True)
    results = models.JSONField(default=dict, blank=True)
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Started outside the dashboard (auto egress, the CLI, another app): known from LiveKit only.
    external = models.BooleanField(default=False)
    # What the reconciler noticed that needs a person (stuck in STARTING, unknown to LiveKit).
    flag = models.CharField(max_length=16, choices=JobFlag.choices, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    # The reconciler's claim on the row (several workers never check the same job at once).
    checked_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    # Why it needs a person (egress_app.failures: a cause's key, or "unknown:<message>"), blank
    # when it does not; kept by `failures.keep_cause` on every save. Support triages it.
    cause = models.CharField(max_length=255, blank=True)
    triage = models.CharField(max_length=16, choices=Triage.choices, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    # The job this one re-launched (Retry, or Clone and edit); its retries are `job.retries`.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # The room rule that started it, or that LiveKit's own auto egress (an external job) matches.
    room_rule = models.ForeignKey(
        "egress_app.RoomRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-created_at"]
        # The history's filters and orders (egress_app/history.py): each sortable column with
        # the pk that breaks its ties, so a keyset page reads its rows straight off an index.
        # On PostgreSQL, migration 0010 adds trigram indexes for the error text search.
        indexes = [
            models.Index(fields=["cause", "triage", "created_at"]),
            models.Index(fields=["status", "id"], name="egress_job_status_id"),
            models.Index(fields=["kind", "id"], name="egress_job_kind_id"),
            models.Index(fields=["room_name", "id"], name="egress_job_room_id"),
            models.Index(fields=["started_by", "created_at"]),
            models.Index(fields=["created_at", "id"], name="egress_job_created_id"),
        ]

    def __str__(self) -> str:
        return self.egress_id or f"job {self.pk} ({self.get_launch_state_display().lower()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A save that names its fields saves the cause and triage too: the failure catalogue
        brings them up to date before every save (`failures.keep_cause`). Saving a job more than
        a day old drops the Reports page's rows of its days, in the same transaction:
        the next report counts them again (egress_app.reports)."""
        fields = kwargs.get("update_fields")
        if fields is not None:
            kwargs["update_fields"] = {*fields, *self.CAUSE_FIELDS}
        if not self._counted_in_reports(fields):
            super().save(*args, **kwargs)
            return
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            super().save(*args, **kwargs)
            forget_days_of(self.created_at)

    def _counted_in_reports(self, fields: Any) -> bool:
        """Whether the Reports page may have counted this job in a day it keeps."""
        if self._state.adding or self.created_at is None:
            return False
        if fields is not None and not REPORTED_FIELDS.intersection(fields):
            return False
        # Younger than a day: within yesterday or today in every zone, which reports count live.
        return self.created_at < timezone.now() - timedelta(days=1)

    @classmethod
    @functools.cache
    def _saved_by_infos(cls) -> list[models.Field[Any, Any]]:
        return [field for field in cls._meta.concrete_fields if field.name in cls.SAVED_BY_INFOS]

    def info_values(self) -> tuple[Any, ...]:
        """What an update from LiveKit may change, as the job holds it now: read with the
        job, then given to `save_infos`, which writes only what differs."""
        return tuple(getattr(self, field.attname) for field in self._saved_by_infos())

    @classmethod
    def save_infos(
        cls, jobs: Sequence[EgressJob], read: Mapping[Any, tuple[Any, ...]] | None = None
    ) -> None:
        """Save what `apply_info` changed on these (stored) jobs, as `save(update_fields=
        INFO_FIELDS)` of each would, signals and the Reports page's forgotten days included, but
        with one statement the driver sends for all of them: an ORM save compiles its UPDATE
        each time, most of a batch of webhooks' CPU. `read` holds each job's `info_values()`
        as it was read (locked): then only the columns that differ are written (an update
        from LiveKit mostly changes its time and the info), and a job that did not change is
        not written again; a job without them is written whole."""
        if not jobs:
            return
        using = router.db_for_write(cls)
        connection = connections[using]
        names, fields = cls.SAVED_BY_INFOS, cls._saved_by_infos()
        for job in jobs:
            pre_save.send(cls, instance=job, raw=False, using=using, update_fields=names)
        changes: dict[tuple[models.Field[Any, Any], ...], list[EgressJob]] = {}
        for job in jobs:
            changes.setdefault(_changed(job, fields, (read or {}).get(job.pk)), []).append(job)
        with transaction.atomic(using=using, savepoint=False):
            for changed, some in changes.items():
                if changed:
                    _update(connection, changed, some)
            for created_at in {job.created_at for job in jobs if job._counted_in_reports(names)}:
                forget_days_of(created_at)  # as save() does: the next report counts them again
        for job in jobs:
            post_save.send(
                cls, instance=job, created=False, update_fields=names, raw=False, using=using
            )

    @property
    def status_label(self) -> str:
        """LiveKit's status, or where the launch stands while there is no egress."""
        return status_label(self.status) if self.status else self.get_launch_state_display()

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_updatable(self) -> bool:
        launched = self.launch_state == LaunchState.LAUNCHED and bool(self.egress_id)
        return launched and self.status in self.UPDATABLE_STATUSES

    @property
    def can_stop(self) -> bool:
        return self.is_updatable

    @property
    def can_update_layout(self) -> bool:
        return self.is_updatable and _uses_template(self.kind, self.info)

    @property
    def can_update_stream(self) -> bool:
        return self.is_updatable and _has_stream_output(self.config, self.info)

    @property
    def launched_here(self) -> bool:
        """Launched from the dashboard, so it has a configuration of ours to launch again (an
        external job has none)."""
        return not self.external and bool(self.config)

    @property
    def can_retry(self) -> bool:
        """Finished (no egress running, no Start waiting) and launched from the dashboard; not a
        launch LiveKit never answered, whose egress may still appear (a retry could start it
        twice)."""
        waiting = (LaunchState.LAUNCHING, LaunchState.UNKNOWN)
        finished = not self.is_active and self.launch_state not in waiting
        return finished and self.launched_here

    def stream_outputs(self) -> list[tuple[str, str]]:
        """The stream outputs now attached: (`destination:<id>` / `adhoc:<n>`, what to show)."""
        outputs = [(f"destination:{d.pk}", d.name) for d in self.destinations.all()]
        outputs += [(f"adhoc:{n}", url) for n, url in enumerate(self.adhoc_outputs) if url]
        return outputs

    def stream_output_url(self, output: str) -> str | None:
        """The URL LiveKit dials for `output` ("destination:<id>" / "adhoc:<n>"), if kept."""
        return self.secrets().get(output)

    def apply_info(self, info: egress.EgressInfo, secrets: Secrets | None = None) -> bool:
        """Fold LiveKit's view of the egress in (not saved); False, changing nothing, when
        `info` is older than what the job already shows, so late updates never move it back.

        LiveKit's error fields replace the job's whenever LiveKit reports an error or details,
        or the egress has ended; otherwise an error kept by a failed action stays visible.
        Every stored secret is hidden in what is kept (`secrets`: `stored_secrets()`, read
        once for many infos).
        """
        if info.updated_at < _stored_updated_ns(self.info, self.updated_at):
            return False
        self.status = status_of(info)
        self.room_name = info.room_name or self.room_name
        self.started_at = times.from_ns(info.started_at) or self.started_at
        self.ended_at = times.from_ns(info.ended_at) or self.ended_at
        self.updated_at = times.from_ns(info.updated_at) or self.updated_at
        raw = info_dict(info)
        urls = self.hidden_urls(raw)
        secrets = stored_secrets() if secrets is None else secrets
        if info.error or info.details or not self.is_active:
            self.error = hide_stream_urls(info.error, urls, secrets)
            self.details = hide_stream_urls(info.details, urls, secrets)
            self.error_code = info.error_code or None
        self.results = results_of(info, urls, secrets)
        self.info = scrub_info(raw, urls, secrets)
        return True

    @property
    def info_updated_ns(self) -> int:
        """LiveKit's `updated_at` of the state the job shows (0 before any)."""
        return _stored_updated_ns(self.info, self.updated_at)

    def shows(self, info: egress.EgressInfo) -> bool:
        """Whether `info` is exactly the state the job already shows (nothing new)."""
        same_time = info.updated_at == self.info_updated_ns
        return same_time and self.status == status_of(info)

    def hidden_urls(self, raw: Mapping[str, Any]) -> list[str]:
        """Every stream URL to hide in LiveKit's texts about this egress (`raw`, an info as
        `info_dict` gives it): the ones the dashboard dialled, and any the info quotes whole
        (an egress started elsewhere)."""
        return [*self.dialled_urls(), *stream_urls_in(raw)]

    def dialled_urls(self) -> list[str]:
        """The real stream URLs, only to hide them in LiveKit's texts: a missing key must not
        stop an update, so it gives none."""
        try:
            return list(self.secrets().values())
        except SecretKeyError:
            return []


def _changed(
    job: EgressJob, fields: Sequence[models.Field[Any, Any]], read: tuple[Any, ...] | None
) -> tuple[models.Field[Any, Any], ...]:
    """Which of `fields` differ from what was `read` of the job (all of them, unknown)."""
    if read is None:
        return tuple(fields)
    return tuple(f for f, was in zip(fields, read, strict=True) if getattr(job, f.attname) != was)


def _update(
    connection: BaseDatabaseWrapper,
    fields: Sequence[models.Field[Any, Any]],
    jobs: Sequence[EgressJob],
) -> None:
    """Write these columns of these jobs, in one statement the driver sends for all."""
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    # The names are the model's own, the values parameters.
    table, key = quote(EgressJob._meta.db_table), quote(str(EgressJob._meta.pk.column))
    sql = f"UPDATE {table} SET {columns} WHERE {key} = %s"  # noqa: S608
    rows = [[*values_to_save(job, fields, connection, add=False), job.pk] for job in jobs]
    if execute_many(connection, sql, rows) not in (-1, len(jobs)):  # as save() refuses
        raise DatabaseError("Save with update_fields did not affect any rows.")


def _stored_updated_ns(info: Mapping[str, Any], updated_at: datetime | None) -> int:
    if info.get("updated_at"):
        return int(info["updated_at"])  # exact: int64 kept as a string by json_format
    if updated_at is None:
        return 0
    return times.to_ns(updated_at)


def _uses_template(kind: str, info: Mapping[str, Any]) -> bool:
    """A room composite: v1 RoomComposite or a v2 StartEgress with a template source."""
    request = info.get("egress") or {}
    return kind == EgressKind.ROOM_COMPOSITE or "room_composite" in info or "template" in request


def _has_stream_output(config: Mapping[str, Any], info: Mapping[str, Any]) -> bool:
    outputs = config.get("outputs") or {}
    return bool(outputs.get("stream") or info.get("stream_results"))


class JobNote(models.Model):
    """What support wrote about a job (plain text, never secrets: shown to every reviewer)."""

    TEXT_LENGTH = 2000

    job = models.ForeignKey(EgressJob, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=TEXT_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note on {self.job}"
