"""Money: integer fen in, yuan text out, and back — exactly, with Chinese errors for people."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibms.core.money import (
    MAX_FEN,
    MoneyError,
    MoneyField,
    MoneyFormField,
    decimal_to_fen,
    fen_to_decimal,
    fen_to_str,
    format_fen,
    parse_yuan,
)

FEN = st.integers(min_value=-(10**15), max_value=10**15)


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@given(FEN)
def test_grouped_ui_form_round_trips(fen):
    assert parse_yuan(format_fen(fen)) == fen


@given(FEN)
def test_api_form_round_trips(fen):
    text = fen_to_str(fen)
    assert "," not in text and text.count(".") == 1 and len(text.split(".")[1]) == 2
    assert parse_yuan(text) == fen


@given(FEN)
def test_ungrouped_and_decimal_forms_agree(fen):
    assert format_fen(fen, grouped=False) == fen_to_str(fen)
    assert parse_yuan(fen_to_decimal(fen)) == fen
    assert decimal_to_fen(fen_to_decimal(fen)) == fen


@given(st.integers(min_value=-(MAX_FEN - 1), max_value=MAX_FEN - 1))
def test_round_trip_up_to_the_bound(fen):
    assert parse_yuan(format_fen(fen)) == fen


def test_known_values():
    assert parse_yuan("1,234.56") == 123456
    assert parse_yuan("1234.5") == 123450
    assert parse_yuan("-0.01") == -1
    assert parse_yuan("￥1，234") == 123400
    assert parse_yuan(12) == 1200
    assert parse_yuan(Decimal("0.10")) == 10
    assert format_fen(-123456789) == "-1,234,567.89"
    assert fen_to_str(5) == "0.05"
    assert format_fen(None) == ""


@pytest.mark.parametrize("text", ["12.345", "abc", "1,23", "", "   ", "1.2.3", "--1", "1e5", "12,3456.00"])
def test_bad_text_gives_a_chinese_error(text):
    with pytest.raises(MoneyError) as exc:
        parse_yuan(text)
    message = str(exc.value)
    assert _has_chinese(message), message


def test_specific_messages():
    with pytest.raises(MoneyError, match="两位小数"):
        parse_yuan("12.345")
    with pytest.raises(MoneyError, match="不能为空"):
        parse_yuan("")
    with pytest.raises(MoneyError, match="格式不正确"):
        parse_yuan("abc")
    with pytest.raises(MoneyError, match="格式不正确"):
        parse_yuan("1,23")
    with pytest.raises(MoneyError, match="超出"):
        parse_yuan(str(MAX_FEN // 100))
    with pytest.raises(MoneyError):
        parse_yuan(True)  # a bool is not an amount
    with pytest.raises(MoneyError):
        parse_yuan(1.5)  # floats are refused outright


def test_decimal_to_fen_refuses_fractions_of_a_fen():
    with pytest.raises(MoneyError, match="两位小数"):
        decimal_to_fen(Decimal("1.001"))


class TestMoneyFormField:
    def test_cleans_yuan_text_to_fen(self):
        f = MoneyFormField(required=True)
        assert f.clean("1,234.56") == 123456
        assert f.clean("0") == 0

    def test_empty_optional_is_none_and_required_is_refused(self):
        assert MoneyFormField(required=False).clean("") is None
        from django import forms

        with pytest.raises(forms.ValidationError) as exc:
            MoneyFormField(required=True).clean("")
        assert exc.value.code == "required"

    @pytest.mark.parametrize("text", ["12.345", "abc", "1,23"])
    def test_bad_text(self, text):
        from django import forms

        with pytest.raises(forms.ValidationError) as exc:
            MoneyFormField().clean(text)
        assert exc.value.code == "money_invalid"
        assert _has_chinese(exc.value.messages[0])

    def test_negative_refused_by_default_and_allowed_when_asked(self):
        from django import forms

        with pytest.raises(forms.ValidationError) as exc:
            MoneyFormField().clean("-1.00")
        assert exc.value.code == "money_negative" and "负数" in exc.value.messages[0]
        assert MoneyFormField(min_fen=None).clean("-1.00") == -100

    def test_integer_fen_from_excel_passes_through(self):
        from django import forms

        assert MoneyFormField().clean(123456) == 123456
        with pytest.raises(forms.ValidationError):
            MoneyFormField().clean(-5)

    def test_shows_fen_as_grouped_yuan(self):
        f = MoneyFormField()
        assert f.prepare_value(123456789) == "1,234,567.89"
        assert f.prepare_value("12.5") == "12.5"

    def test_model_field_uses_it(self):
        assert isinstance(MoneyField("x").formfield(), MoneyFormField)

    @given(FEN.filter(lambda x: x >= 0))
    def test_form_field_round_trip(self, fen):
        f = MoneyFormField()
        assert f.clean(f.prepare_value(fen)) == fen


def test_api_fen_blank_and_error_code():
    from ibms.core.errors import ValidationFailed
    from ibms.core.money import api_fen

    assert api_fen("1,234.56") == 123_456 and api_fen(Decimal("0.5"), "x") == 50
    assert api_fen("", blank=0) == 0 and api_fen(None, blank=None) is None
    with pytest.raises(ValidationFailed) as e:
        api_fen("", "amount")  # no blank given: an empty amount is refused
    assert e.value.violations[0].code == "money_invalid" and e.value.violations[0].field == "amount"
    with pytest.raises(ValidationFailed) as e:
        api_fen("12.345", "lines.0.debit", code="amount_invalid")
    assert (e.value.violations[0].code, e.value.violations[0].field) == ("amount_invalid", "lines.0.debit")
