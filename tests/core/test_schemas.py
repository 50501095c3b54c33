"""core.schemas: the API schema is built from the service dataclass; money crosses as yuan strings."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ibms.core.errors import ValidationFailed
from ibms.core.money import Fen
from ibms.core.schemas import schema_from, to_service


@dataclass
class _Line:
    name: str
    amount: Fen


@dataclass
class _Payee:
    account_no: str = ""


@dataclass
class _Draft:
    """A draft."""

    indicator_id: int
    amount: Fen = 0
    payee: _Payee = field(default_factory=_Payee)
    lines: list[_Line] | None = None
    note: str = ""


def test_schema_has_the_dataclass_fields_with_money_as_strings():
    schema = schema_from(_Draft, name="DraftTestIn")
    props = schema.model_json_schema()["properties"]
    assert set(props) == {"indicator_id", "amount", "payee", "lines", "note"}
    assert props["amount"]["type"] == "string" and props["amount"]["default"] == ""
    assert schema.model_json_schema()["required"] == ["indicator_id"]
    assert schema.__doc__ == "A draft."


def test_payload_becomes_the_dataclass_in_fen():
    schema = schema_from(_Draft, name="DraftTestIn")
    payload = schema(indicator_id=7, amount="1,234.56", payee={"account_no": "6222"},
                     lines=[{"name": "甲", "amount": "10"}, {"name": "乙", "amount": "0.01"}])
    d = to_service(payload, _Draft)
    assert d == _Draft(indicator_id=7, amount=123456, payee=_Payee("6222"),
                       lines=[_Line("甲", 1000), _Line("乙", 1)])
    assert to_service(schema(indicator_id=1), _Draft).amount == 0  # blank: the dataclass default


def test_bad_amount_names_the_field():
    schema = schema_from(_Draft, name="DraftTestIn")
    with pytest.raises(ValidationFailed) as exc:
        to_service(schema(indicator_id=1, lines=[{"name": "甲", "amount": "1"}, {"name": "乙", "amount": "x"}]),
                   _Draft)
    assert exc.value.violations[0].field == "lines[1].amount"
    assert exc.value.violations[0].code == "money_invalid"
