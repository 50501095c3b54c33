"""Base form for resources: knows its user, so choice fields only offer rows within the user's scope."""

from __future__ import annotations

from django import forms

from .scoping import CHANGE, VIEW


class ScopedModelForm(forms.ModelForm):
    # field name → (action) for ModelChoiceFields whose queryset is restricted to the user's scope
    scoped_fields: dict[str, str] = {}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField) and hasattr(field.queryset, "restrict"):
                field.queryset = field.queryset.restrict(user, self.scoped_fields.get(name, VIEW))
            if isinstance(field.widget, forms.Select | forms.SelectMultiple):
                field.widget.attrs.setdefault("class", "select")


__all__ = ["ScopedModelForm", "CHANGE", "VIEW"]
