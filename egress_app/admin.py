from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from egress_app.roles import MANAGE_USERS, perm


class DashboardAdminSite(admin.AdminSite):
    """Django admin for admins: users and their roles (groups); domain models join as they arrive.

    Anyone holding the admin role's permission to manage users may enter, so adding a user to the
    admins group is enough: nobody has to remember `is_staff` as well.
    """

    site_header = "Egress Dashboard administration"
    site_title = "Egress Dashboard admin"
    index_title = "Users, roles and settings"
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and (user.is_staff or user.has_perm(perm(MANAGE_USERS)))
