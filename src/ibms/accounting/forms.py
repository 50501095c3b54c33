"""Voucher entry: a header form and a formset of lines (blank rows ignored); money in yuan, cleaned to fen."""

from __future__ import annotations

from django import forms

from ibms.core.money import MoneyFormField

from .models import DIMENSION_LABELS, DIMENSIONS
from .posting import LineSpec


class VoucherForm(forms.Form):
    date = forms.DateField(label="凭证日期", widget=forms.DateInput(attrs={"type": "date"}))
    summary = forms.CharField(label="摘要", max_length=200)
    attachments = forms.IntegerField(label="附件数", min_value=0, max_value=999, initial=0, required=False)


class LineForm(forms.Form):
    account = forms.CharField(label="科目", max_length=40, required=False,
                              widget=forms.TextInput(attrs={"list": "leaf-accounts", "size": 12}))
    summary = forms.CharField(label="摘要", max_length=200, required=False)
    debit = MoneyFormField(label="借方金额", required=False)
    credit = MoneyFormField(label="贷方金额", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DIMENSIONS:
            self.fields[name] = forms.CharField(label=DIMENSION_LABELS[name], max_length=120, required=False,
                                                widget=forms.TextInput(attrs={"size": 8}))

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return not d.get("account") and not d.get("debit") and not d.get("credit")

    def to_spec(self) -> LineSpec:
        d = self.cleaned_data
        code = (d.get("account") or "").split(" ", 1)[0].strip()
        return LineSpec(basis="", account_code=code, debit=d.get("debit") or 0, credit=d.get("credit") or 0,
                        summary=d.get("summary") or "",
                        dims={k: d[k].strip() for k in DIMENSIONS if (d.get(k) or "").strip()})


LineFormSet = forms.formset_factory(LineForm, extra=6, max_num=200, validate_max=True)


def lines_of(formset) -> list[LineSpec]:
    return [f.to_spec() for f in formset.forms if f.cleaned_data and not f.is_blank()]


def initial_lines(voucher) -> list[dict]:
    out = []
    for ln in voucher.lines.order_by("line_no"):
        row = {"account": ln.account_code, "summary": ln.summary, "debit": ln.debit or None,
               "credit": ln.credit or None}
        row.update({d: getattr(ln, f) for d, f in DIMENSIONS.items()})
        out.append(row)
    return out
