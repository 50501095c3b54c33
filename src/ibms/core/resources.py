"""Declarative resources: one declaration per entity gives its list/detail/create/edit pages, its REST
endpoints, and its Excel template/import/export, all through the same form and the same service.

Apps declare a `Resource` in `resources.py` and register it; the writes go through `core.services`,
which check permission and scope, validate with the entity's form, save, and audit in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import models

from .excel import Column
from .scoping import VIEW

_registry: dict[str, Resource] = {}


@dataclass
class Resource:
    model: type[models.Model]
    slug: str
    title: str
    form: type[forms.ModelForm]
    list_fields: list[str]
    group: str = "基础信息"
    filter_fields: list[str] = field(default_factory=list)
    search_fields: list[str] = field(default_factory=list)
    excel: list[Column] = field(default_factory=list)
    natural_key: list[str] = field(default_factory=list)  # import upserts on these (within the region)
    detail_fields: list[str] | None = None
    ordering: list[str] | None = None
    # Derive fields the form does not carry (region_code, path, …) before full_clean; may raise ValidationFailed.
    prepare: Callable[[models.Model, Any], None] | None = None
    after_save: Callable[[models.Model, Any, bool], None] | None = None
    creatable: bool = True
    extra_actions: list[tuple[str, str]] = field(default_factory=list)  # (url name, label) on the detail page

    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    def perm(self, action: str) -> str:
        return f"{self.app_label}.{action}_{self.model._meta.model_name}"

    def queryset(self, user, action: str = VIEW):
        """The rows `user` may see: refused (403) without the view permission, then scoped."""
        qs = self.model.objects.permitted(user, action)
        return qs.order_by(*self.ordering) if self.ordering else qs

    def excel_row(self, obj) -> dict[str, Any]:
        row = {}
        for col in self.excel:
            value = obj
            for part in col.key.split("__"):
                value = getattr(value, part, None) if value is not None else None
            if col.kind == "choice" or isinstance(value, models.Model):
                display = getattr(obj, f"get_{col.key}_display", None)
                value = display() if display and col.kind == "choice" else (str(value) if value is not None else "")
            row[col.key] = value
        return row


def register(resource: Resource) -> Resource:
    _registry[resource.slug] = resource
    return resource


def get_resource(slug: str) -> Resource:
    return _registry[slug]


def all_resources() -> list[Resource]:
    return list(_registry.values())
