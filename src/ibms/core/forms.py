"""Base form for resources: knows its user, so choice fields only offer rows within the user's scope."""

from __future__ import annotations

from django import forms

from .scoping import CHANGE, VIEW


class ScopedModelForm(forms.ModelForm):
    # field name → (action) for ModelChoiceFields whose queryset is restricted to the user's scope
    scoped_fields: dict[str, str] = {}
    max_select_options = 300

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField) and hasattr(field.queryset, "restrict"):
                field.queryset = field.queryset.restrict(user, self.scoped_fields.get(name, VIEW))
                region = getattr(user, "region_code", "") if user is not None else ""
                if field.to_field_name and region and _has_field(field.queryset.model, "region_code"):
                    # business codes are unique only within a region: look them up in the user's own
                    field.queryset = field.queryset.filter(region_code=region)
            if isinstance(field.widget, forms.Select | forms.SelectMultiple):
                field.widget.attrs.setdefault("class", "select")


    def for_display(self) -> ScopedModelForm:
        """Before rendering: a code-keyed choice over thousands of rows (units of a province) becomes a
        code input instead of a select with thousands of options."""
        for field in self.fields.values():
            if (isinstance(field, forms.ModelChoiceField) and field.to_field_name
                    and field.queryset.count() > self.max_select_options):
                field.widget = forms.TextInput(attrs={"placeholder": f"输入{field.label or ''}代码"})
        return self


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.concrete_fields)


__all__ = ["ScopedModelForm", "CHANGE", "VIEW"]
