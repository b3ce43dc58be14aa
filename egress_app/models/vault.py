"""Where recordings go and where streams are sent: storage profiles and stream destinations."""

from __future__ import annotations

import contextlib
import functools

from django.apps import apps
from django.db import models
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.crypto import SecretKeyError, decrypt_json
from egress_app.livekit.scrub import (
    Secrets,
    stored_values,
)
from egress_app.models.base import Compiled, Profile, SecretsMixin, one_default
from egress_app.models.statuses import running_jobs
from egress_app.storage import destinations
from egress_app.storage.providers import PROVIDERS, Provider


class StorageProvider(models.TextChoices):
    S3 = "s3", "Amazon S3 or S3-compatible"
    GCP = "gcp", "Google Cloud Storage"
    AZURE = "azure", "Azure Blob Storage"
    ALIOSS = "alioss", "Alibaba Cloud OSS"


class UsedByJobsQuerySet(models.QuerySet):
    def with_job_counts(self) -> UsedByJobsQuerySet:
        """Annotate `job_count` (all jobs) and `running_job_count` (jobs still running)."""
        running = running_jobs("jobs__")
        return self.annotate(
            job_count=models.Count("jobs", distinct=True),
            running_job_count=models.Count("jobs", filter=running, distinct=True),
        )


class StorageProfile(Profile):
    """Where recordings go: a provider, its non-secret `config` and its encrypted secrets."""

    provider = models.CharField(max_length=16, choices=StorageProvider.choices)
    path_template = models.CharField(
        max_length=500, blank=True, help_text="Default path prefix or filename template."
    )

    objects = UsedByJobsQuerySet.as_manager()

    class Meta(Profile.Meta):
        constraints = [one_default("one_default_storage_profile")]

    @property
    def provider_spec(self) -> Provider:
        return PROVIDERS[self.provider]

    @property
    def target(self) -> str:
        """The bucket (or account/container) for lists."""
        return self.provider_spec.target(self.config)

    def upload(self) -> Message:
        """LiveKit's upload message with the decrypted secrets: build it only for the call."""
        return self.provider_spec.upload(self.config, self.secrets())

    def storage_config(self) -> egress.StorageConfig:
        """`egress.StorageConfig` (v2) with the upload message in its provider's slot."""
        return self.provider_spec.storage_config(self.config, self.secrets())


class StreamProtocol(models.TextChoices):
    RTMP = "rtmp", "RTMP"
    RTMPS = "rtmps", "RTMPS"
    SRT = "srt", "SRT"
    MUX = "mux", "Mux"
    TWITCH = "twitch", "Twitch"


class StreamDestination(SecretsMixin):
    """A named live stream target; its server URL and stream key are both secret."""

    name = models.CharField(max_length=100, unique=True)
    protocol = models.CharField(max_length=16, choices=StreamProtocol.choices)
    host = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UsedByJobsQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def output_url(self) -> str:
        """The full URL LiveKit dials, stream key included: build it only for the call."""
        values = self.secrets()
        return destinations.output_url(values.get("server_url", ""), values.get("stream_key", ""))


def stored_secrets() -> Secrets:
    """Every stream key, storage credential, engine key and alert channel secret kept, to hide
    in what LiveKit says before it is stored: a key LiveKit quotes need not be the job's own (an
    egress started elsewhere with it, a key pasted into another destination). One query,
    compiled once; the values are decrypted again only once some row's secrets changed."""
    return _secrets_of(frozenset(token for (token,) in _SECRET_TOKENS.rows([]) if token))


def _every_secret_token(_: list[str]) -> models.QuerySet[StreamDestination, str]:
    destinations = StreamDestination.objects.order_by().values_list("encrypted_secrets", flat=True)
    profiles = StorageProfile.objects.order_by().values_list("encrypted_secrets", flat=True)
    # By name: the engine profiles' module builds on the audio sessions, which build on this one.
    engine_profile = apps.get_model("egress_app", "EngineProfile")
    engines = engine_profile._default_manager.order_by().values_list("encrypted_secrets", flat=True)
    channel = apps.get_model("egress_app", "AlertChannel")
    channels = channel._default_manager.order_by().values_list("encrypted_secrets", flat=True)
    return destinations.union(profiles, engines, channels, all=True).order_by()


_SECRET_TOKENS = Compiled(_every_secret_token)


@functools.lru_cache(maxsize=4)
def _secrets_of(tokens: frozenset[str]) -> Secrets:
    values: list[str] = []
    for token in tokens:
        # A token no configured key reads must not stop an update (the server refuses to start
        # with one: egress_app.checks.verify_secret_keys).
        with contextlib.suppress(SecretKeyError):
            values += stored_values(decrypt_json(token))
    return Secrets(values)
