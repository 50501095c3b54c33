"""Every constraint speaks to a finance user: a stable code (what API clients key on) and a Chinese message; every
relation to a financial record is PROTECT, so deleting a row can never take money records with it."""

from __future__ import annotations

import json
import re

import pytest
from django.apps import apps
from django.db import models

from ibms.core.models import ChangeLog
from ibms.masterdata import models as m

FINANCIAL = {
    "indicators.Indicator", "indicators.IndicatorEntry", "indicators.Reservation", "indicators.SourceDocument",
    "indicators.Reallocation", "indicators.TransferNotice",
    "treasury.PaymentRequest", "treasury.PaymentRequestLine", "treasury.PaymentVoucher", "treasury.VoucherDetail",
    "treasury.Contract", "treasury.Allocation", "treasury.Refund", "treasury.ReconciliationRun",
    "accounting.Voucher", "accounting.VoucherLine", "accounting.AccountSet", "accounting.Account",
    "accounting.Period", "masterdata.BankAccount", "budgeting.BudgetLine",
}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def ibms_models() -> list[type[models.Model]]:
    return [mdl for mdl in apps.get_models() if mdl.__module__.startswith("ibms.")]


def all_constraints():
    return [(mdl, c) for mdl in ibms_models() for c in mdl._meta.constraints]


def test_every_app_is_walked():
    labels = {mdl._meta.label for mdl in ibms_models()}
    assert FINANCIAL <= labels, FINANCIAL - labels
    assert len(all_constraints()) > 100


@pytest.mark.parametrize(("model", "constraint"), all_constraints(),
                         ids=lambda x: x.name if isinstance(x, models.BaseConstraint) else x._meta.label)
def test_constraint_has_code_and_chinese_message(model, constraint):
    code = constraint.violation_error_code
    assert code and SNAKE.match(code), f"{model._meta.label}.{constraint.name}: violation_error_code {code!r}"
    assert constraint.violation_error_message != constraint.default_violation_error_message, constraint.name
    message = constraint.get_violation_error_message()  # formats: no stray %
    assert CJK.search(message), f"{constraint.name}: {message!r}"


def financial_relations():
    for mdl in ibms_models():
        for f in mdl._meta.get_fields():
            if isinstance(f, models.ForeignKey) and f.model is mdl and f.related_model._meta.label in FINANCIAL:
                yield f


@pytest.mark.parametrize("field", list(financial_relations()), ids=lambda f: f"{f.model._meta.label}.{f.name}")
def test_relation_to_financial_record_is_protect(field):
    assert field.remote_field.on_delete is models.PROTECT


def test_no_many_to_many_to_financial_records():
    """A many-to-many's through rows cascade: none may hang off a financial record."""
    for mdl in ibms_models():
        for f in mdl._meta.many_to_many:
            assert f.related_model._meta.label not in FINANCIAL, f"{mdl._meta.label}.{f.name}"


def test_duplicate_through_the_api_carries_the_constraint_code(client_as):
    """unit_region_code_uniq through POST /api/v1/masterdata/units/: the stable code reaches the API error."""
    fin = client_as("fin_budget")
    data = {"code": "001", "name": "省测试局", "unit_type": "organ", "support_level": "full"}
    assert m.Unit.objects.filter(region_code="990000000", code="001").exists()
    before = m.Unit.objects.count(), ChangeLog.objects.count()
    r = fin.post("/api/v1/masterdata/units/", data=json.dumps(data), content_type="application/json")
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "validation_failed"
    assert {"code": "unit_code_exists", "message": "该区划下单位代码已存在", "field": ""} in body["detail"], body
    assert "该区划下单位代码已存在" in body["message"]
    assert (m.Unit.objects.count(), ChangeLog.objects.count()) == before
