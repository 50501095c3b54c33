from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(value):
    """Integer fen → grouped yuan text ('1,234.56'); blank for None."""
    return "" if value is None or value == "" else format_fen(int(value))


@register.filter
def signed_yuan(value):
    """Signed movement: '+1,234.56' / '-1,234.56', blank for zero."""
    if not value:
        return ""
    return ("+" if value > 0 else "") + format_fen(int(value))
