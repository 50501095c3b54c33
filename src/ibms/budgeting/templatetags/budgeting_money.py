"""`{{ fen|yuan }}`: integer fen shown as grouped yuan (1,234.56)."""

from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(value) -> str:
    return format_fen(value) if value is not None else ""
