from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(value):
    return format_fen(value) if isinstance(value, int) else ""
