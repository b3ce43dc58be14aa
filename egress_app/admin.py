from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from egress_app.models import LedgerEntry
from egress_app.roles import MANAGE_USERS, perm


class LedgerEntryAdmin(admin.ModelAdmin):
    """The event ledger, read-only: everything LiveKit told the dashboard, refused webhooks
    included (filter by outcome)."""

    list_display = ("received_at", "source", "event", "outcome", "status", "egress_id", "job")
    list_filter = ("source", "outcome", "event")
    search_fields = ("egress_id", "event_id", "room_name", "reason", "remote_addr")
    date_hierarchy = "received_at"
    list_select_related = ("job",)
    ordering = ("-received_at", "-id")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(perm(MANAGE_USERS))

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(perm(MANAGE_USERS))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DashboardAdminSite(admin.AdminSite):
    """Django admin for admins: users and their roles (groups); domain models join as they arrive.

    Anyone holding the admin role's permission to manage users may enter, so adding a user to the
    admins group is enough: nobody has to remember `is_staff` as well.
    """

    site_header = "Egress Dashboard administration"
    site_title = "Egress Dashboard admin"
    index_title = "Users, roles and settings"
    site_url = "/"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Here, not with @admin.register: this module is what builds the default site, so a
        # decorator here would register on an instance Django then throws away.
        self.register(LedgerEntry, LedgerEntryAdmin)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and (user.is_staff or user.has_perm(perm(MANAGE_USERS)))


class ReadOnly:
    """Shown, never changed here: people and roles change on the People page, which keeps
    the last admin and audits every change (Django admin would do neither)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def read_only_people(site: admin.AdminSite = admin.site) -> None:
    """Swap auth's user and group admin for read-only ones (after autodiscovery: auth's admin
    module uses the default site, which this module builds, so it is imported here)."""
    from django.contrib.auth.admin import GroupAdmin, UserAdmin
    from django.contrib.auth.models import Group, User

    for model, base in ((User, UserAdmin), (Group, GroupAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, type(f"ReadOnly{base.__name__}", (ReadOnly, base), {}))
