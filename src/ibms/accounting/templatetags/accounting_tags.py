from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(fen):
    """Integer fen → grouped yuan text (1,234.56)."""
    return format_fen(fen)
