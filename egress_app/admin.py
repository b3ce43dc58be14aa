from __future__ import annotations

from django.contrib import admin

# Admins manage users and their roles (groups) here; the domain models register as they arrive.
admin.site.site_header = "Egress Dashboard administration"
admin.site.site_title = "Egress Dashboard admin"
admin.site.index_title = "Users, roles and settings"
admin.site.site_url = "/"
