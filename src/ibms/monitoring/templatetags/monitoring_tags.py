from django import template

from ibms.core.money import format_fen

register = template.Library()


@register.filter
def yuan(value):
    """Integer fen → grouped yuan text ('1,234.56'); blank for None."""
    return "" if value is None or value == "" else format_fen(int(value))


ACTION_CLASS = {"block": "danger", "warn_red": "danger", "warn_yellow": "warning", "notice": "info"}


@register.filter
def action_class(action: str) -> str:
    return ACTION_CLASS.get(action, "")
