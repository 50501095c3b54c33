"""金额大写: the amount in Chinese capitals as vouchers and cheques write it (《支付结算办法》 conventions)."""

import pytest

from ibms.core.money import fen_to_capitals


@pytest.mark.parametrize(("fen", "text"), [
    (0, "零元整"), (5, "伍分"), (50, "伍角整"), (100, "壹元整"), (1_000, "壹拾元整"), (105, "壹元零伍分"),
    (10_500, "壹佰零伍元整"), (1_234_505, "壹万贰仟叁佰肆拾伍元零伍分"), (1_000_000, "壹万元整"),
    (123_456_789, "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"), (10_000_000_000, "壹亿元整"),
    (10_001_000_000, "壹亿零壹万元整"), (100_000_010_000, "壹拾亿零壹佰元整"),
    (1_010_101_010, "壹仟零壹拾万零壹仟零壹拾元壹角整"), (-250, "负贰元伍角整"),
])
def test_capitals(fen, text):
    assert fen_to_capitals(fen) == text
