"""Template filters of the Reports page."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """A percentage to one decimal, or a dash where there is none (nothing to divide by)."""
    return "\N{EN DASH}" if value is None else f"{floatformat(value, 1)} %"
