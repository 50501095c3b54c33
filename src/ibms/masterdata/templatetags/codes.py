"""`{% code_name "exp_func" code year %}` → 名称（代码）: a classification code shown by its name from the year's
value set (national, or the region's own child codes), the bare code when the set does not know it."""

from __future__ import annotations

from django import template

from ibms.masterdata.models import ValueSetItem

register = template.Library()


@register.simple_tag
def code_name(value_set: str, code: str, year: int) -> str:
    if not code:
        return ""
    name = (ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, code=code)
            .order_by("region_code").values_list("name", flat=True).first())
    return f"{name}（{code}）" if name else code
