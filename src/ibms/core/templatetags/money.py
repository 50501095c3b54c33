"""`{% load money %}`: `{{ fen|yuan }}` shows integer fen as grouped yuan (1,234.56), blank for none;
`{{ delta|signed_yuan }}` a signed movement (+1,234.56 / -1,234.56), blank for zero."""

from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(value) -> str:
    if value is None or value == "":
        return ""
    try:
        return format_fen(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def signed_yuan(value) -> str:
    if not value:
        return ""
    return ("+" if int(value) > 0 else "") + format_fen(int(value))
