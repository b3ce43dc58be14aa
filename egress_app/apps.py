from __future__ import annotations

import warnings

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_save, pre_save


class EgressAppConfig(AppConfig):
    name = "egress_app"
    verbose_name = "Egress"

    def ready(self) -> None:
        from egress_app import checks  # noqa: F401  (registers the system checks)
        from egress_app.actions import ledger, room_rules
        from egress_app.actions.alert_events import job_saved, remember_cause, schedule_run_failed
        from egress_app.actions.schedules import run_failed
        from egress_app.failures import keep_cause
        from egress_app.models import EgressJob

        # Before keep_cause: the alerts compare the cause it sets with the one stored.
        pre_save.connect(remember_cause, sender=EgressJob, dispatch_uid="egress_app.alert_cause")
        # The catalogue reads the models, so they cannot call it: it keeps each job's cause.
        pre_save.connect(keep_cause, sender=EgressJob, dispatch_uid="egress_app.cause")
        # Room rules start egress (which imports the ledger): the ledger calls them through this.
        ledger.use_room_rules(room_rules.room_started, room_rules.rule_for_external)
        # A new cause, or a running job's failed stream, raises an alert after commit.
        post_save.connect(job_saved, sender=EgressJob, dispatch_uid="egress_app.alerts")
        # A scheduled run that did not start raises an alert too (sent after its commit).
        run_failed.connect(schedule_run_failed, dispatch_uid="egress_app.schedule_alerts")

        if settings.LIVEKIT_SANDBOX:
            from jwt.warnings import InsecureKeyLengthWarning

            # The sandbox's secret is LiveKit's well-known 6-character dev secret; a real
            # deployment's short secret still gets PyJWT's warning.
            warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)


class DashboardAdminConfig(admin_apps.AdminConfig):
    """Django admin with the dashboard's own site (listed in INSTALLED_APPS by its path)."""

    default = False  # egress_app's own default config stays EgressAppConfig
    default_site = "egress_app.admin.DashboardAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers: django.contrib.auth registers users and groups
        from egress_app.admin import read_only_people

        read_only_people()
