"""Pages people see. Access goes through permissions (egress_app/roles.py), never group names."""

from __future__ import annotations

from dashboard.views.audit import audit
from dashboard.views.destinations import (
    destination_create,
    destination_delete,
    destination_duplicate,
    destination_edit,
    destination_list,
)
from dashboard.views.engines import (
    engine_create,
    engine_default,
    engine_delete,
    engine_edit,
    engine_fields,
    engine_list,
    engine_test,
    engine_test_settings,
)
from dashboard.views.home import home, home_live
from dashboard.views.reports import reports
from dashboard.views.storage import (
    storage_create,
    storage_default,
    storage_delete,
    storage_duplicate,
    storage_edit,
    storage_fields,
    storage_list,
    storage_test,
    storage_test_settings,
)

__all__ = [
    "audit",
    "destination_create",
    "destination_delete",
    "destination_duplicate",
    "destination_edit",
    "destination_list",
    "engine_create",
    "engine_default",
    "engine_delete",
    "engine_edit",
    "engine_fields",
    "engine_list",
    "engine_test",
    "engine_test_settings",
    "home",
    "home_live",
    "reports",
    "storage_create",
    "storage_default",
    "storage_delete",
    "storage_duplicate",
    "storage_edit",
    "storage_fields",
    "storage_list",
    "storage_test",
    "storage_test_settings",
]
