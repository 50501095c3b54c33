"""The filters of the audit log (django-filter), shared by the page, its Excel export and the API: who (user
name), what (event code, its prefix or its Chinese name; a change's action), which object (type and id), a date
range (inclusive, local days), the outcome and the category — business acts, logins, refusals — so refusals never
crowd business entries out of a page."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from .audit_names import (
    CATEGORIES,
    DENIED_CODES,
    EVENT_NAMES,
    LOGIN_CODES,
    OUTCOMES,
    SYSTEM_ACTOR,
    SYSTEM_LABEL,
)
from .models import BusinessEvent, ChangeLog


class AuditFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "截止日期不能早于起始日期")
        return data


def _day_start(d: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(d, dt.time.min))


class _AuditFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(label="操作人（用户名）", method="filter_actor", max_length=150,
                                      widget=forms.TextInput(attrs={"placeholder": "系统操作填“系统”"}))
    object_type = django_filters.CharFilter(label="对象类型", method="filter_object_type", max_length=100,
                                            widget=forms.TextInput(attrs={"placeholder": "如 iam.user"}))
    object_id = django_filters.CharFilter(label="对象ID", method="filter_object_id", max_length=64)
    date_from = django_filters.DateFilter(label="起始日期", method="filter_date_from",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label="截止日期", method="filter_date_to",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    def filter_actor(self, qs, name, value):
        value = value.strip()
        return qs.filter(actor_name=SYSTEM_ACTOR if value == SYSTEM_LABEL else value)

    def filter_object_type(self, qs, name, value):
        return qs.filter(object_type=value.strip().lower())

    def filter_object_id(self, qs, name, value):
        return qs.filter(object_id=value.strip())

    def filter_date_from(self, qs, name, value):
        return qs.filter(created_at__gte=_day_start(value))

    def filter_date_to(self, qs, name, value):
        return qs.filter(created_at__lt=_day_start(value + dt.timedelta(days=1)))


DENIED = Q(code__in=DENIED_CODES)


class EventFilter(_AuditFilter):
    category = django_filters.ChoiceFilter(label="类别", choices=list(CATEGORIES.items()), method="filter_category",
                                           empty_label="全部")
    code = django_filters.CharFilter(label="事件", method="filter_code", max_length=80, widget=forms.TextInput(
        attrs={"list": "audit-event-names", "placeholder": "事件名称、代码或前缀，如 iam."}))
    outcome = django_filters.ChoiceFilter(label="结果", choices=list(OUTCOMES.items()), method="filter_outcome",
                                          empty_label="全部")

    class Meta:
        model = BusinessEvent
        form = AuditFilterForm
        fields = ["category", "actor", "code", "outcome", "object_type", "object_id", "date_from", "date_to"]

    def filter_category(self, qs, name, value):
        if value == "business":
            return qs.exclude(DENIED).exclude(code__in=LOGIN_CODES)
        if value == "login":
            return qs.filter(code__in=LOGIN_CODES)
        if value == "denied":
            return qs.filter(DENIED)
        return qs

    def filter_code(self, qs, name, value):
        value = value.strip()
        named = [code for code, title in EVENT_NAMES.items() if value in title]
        return qs.filter(Q(code__startswith=value) | Q(code__in=named))

    def filter_outcome(self, qs, name, value):
        return qs.filter(DENIED) if value == "denied" else qs.exclude(DENIED)


class ChangeFilter(_AuditFilter):
    action = django_filters.ChoiceFilter(label="动作", choices=ChangeLog.Action.choices, empty_label="全部")

    class Meta:
        model = ChangeLog
        form = AuditFilterForm
        fields = ["actor", "action", "object_type", "object_id", "date_from", "date_to"]


def filter_errors(fs: django_filters.FilterSet) -> list[str]:
    """`字段：错误` for each invalid filter, in Chinese (the form's labels and Django's translated messages)."""
    form = fs.form
    return [f"{form[name].label}：{e}" if name in form.fields else str(e)
            for name, errors in form.errors.items() for e in errors]
