"""The filters of the budgeting lists (django-filter); a round can be picked only among those the user may read."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from ibms.core.scoping import VIEW
from ibms.core.views import YesNoAllSelect

from .models import BudgetLine, BudgetRound, Reply, Version


class LineFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(label="预算编制", queryset=BudgetRound.objects.none())
    version = django_filters.ChoiceFilter(label="版本", choices=Version.choices)
    direction = django_filters.ChoiceFilter(label="收支", choices=BudgetLine.Direction.choices)
    exp_kind = django_filters.ChoiceFilter(label="支出类型", choices=BudgetLine.ExpKind.choices)
    unit = django_filters.CharFilter(label="单位代码", field_name="unit__code", lookup_expr="startswith")
    project = django_filters.CharFilter(label="项目代码/名称", method="filter_project")
    fund_nature_code = django_filters.CharFilter(label="资金性质", lookup_expr="startswith")
    exp_func_code = django_filters.CharFilter(label="功能分类", lookup_expr="startswith")
    is_transfer = django_filters.BooleanFilter(label="转移支付", widget=YesNoAllSelect)
    is_sangong = django_filters.BooleanFilter(label="三公经费", widget=YesNoAllSelect)

    class Meta:
        model = BudgetLine
        fields: list[str] = []

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["round"].queryset = BudgetRound.objects.restrict(user, VIEW)

    def filter_project(self, qs, name, value):
        return qs.filter(Q(project__code__startswith=value) | Q(project__name__icontains=value))


class ReplyFilter(django_filters.FilterSet):
    round = django_filters.ModelChoiceFilter(label="预算编制", queryset=BudgetRound.objects.none())
    level = django_filters.ChoiceFilter(label="层级", choices=Reply.Level.choices)
    is_late = django_filters.BooleanFilter(label="超期", widget=YesNoAllSelect)
    pending = django_filters.BooleanFilter(label="未批复", field_name="reply_date", lookup_expr="isnull",
                                           widget=YesNoAllSelect)

    class Meta:
        model = Reply
        fields: list[str] = []

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["round"].queryset = BudgetRound.objects.restrict(user, VIEW)
