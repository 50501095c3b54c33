from django import template

register = template.Library()

ACTION_CLASS = {"block": "danger", "warn_red": "danger", "warn_yellow": "warning", "notice": "info"}


@register.filter
def action_class(action: str) -> str:
    return ACTION_CLASS.get(action, "")
