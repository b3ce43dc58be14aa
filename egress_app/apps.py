from __future__ import annotations

from django.apps import AppConfig


class EgressAppConfig(AppConfig):
    name = "egress_app"
    verbose_name = "Egress"

    def ready(self) -> None:
        from egress_app import checks  # noqa: F401  (registers the system checks)
