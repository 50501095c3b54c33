"""Values many tests share: the demo province 华夏省's region codes (ibms.demo.province.REGIONS), password and signing
PIN (every demo signer's), and the classification the treasury and indicator tests give the indicators they build."""

from __future__ import annotations

from ibms.demo.province import DEMO_PASSWORD
from ibms.demo.users import DEMO_PIN

__all__ = ["CITY", "COUNTY", "DEMO_PASSWORD", "DEMO_PIN", "ECO", "FUNC", "FUND", "GOV_ECO", "OTHER_CITY",
           "OTHER_COUNTY", "PROVINCE"]

PROVINCE = "990000000"  # 华夏省
CITY = "990100000"  # 东川市
COUNTY = "990102000"  # 东川市青山区
OTHER_CITY = "990200000"  # 西岭市
OTHER_COUNTY = "990222000"  # 西岭市石门县

FUND = "111"  # 一般公共预算资金
FUNC = "2050202"  # 小学教育
ECO = "30201"  # 办公费
GOV_ECO = "50201"  # 办公经费
