from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(fen):
    """Integer fen → grouped yuan text."""
    return format_fen(fen) if fen is not None else ""


@register.filter
def qty(value):
    """2.5000 → 2.5"""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text
