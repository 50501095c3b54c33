"""Values many tests share: the demo province 华夏省's region codes (ibms.demo.province.REGIONS) and password."""

from __future__ import annotations

from ibms.demo.province import DEMO_PASSWORD

__all__ = ["CITY", "COUNTY", "DEMO_PASSWORD", "OTHER_CITY", "OTHER_COUNTY", "PROVINCE"]

PROVINCE = "990000000"  # 华夏省
CITY = "990100000"  # 东川市
COUNTY = "990102000"  # 东川市青山区
OTHER_CITY = "990200000"  # 西岭市
OTHER_COUNTY = "990222000"  # 西岭市石门县
