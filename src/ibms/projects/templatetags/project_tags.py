from django import template

register = template.Library()


@register.filter
def qty(value):
    """2.5000 → 2.5"""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text
