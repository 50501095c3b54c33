import datetime as dt

from ibms.core import audit
from ibms.masterdata.models import Holiday
from ibms.masterdata.selectors import is_business_day


def _holiday(region_code, day, name, workday=False):
    h = Holiday.objects.create(region_code=region_code, date=day, name=name, is_workday=workday)
    audit.record_change(h, "create")


def test_weekdays_weekends_national_holidays_and_local_overrides(db):
    monday, saturday = dt.date(2031, 3, 3), dt.date(2031, 3, 8)
    assert is_business_day(monday, region_code="990102000")
    assert not is_business_day(saturday, region_code="990102000")
    _holiday("", monday, "全国假日")
    assert not is_business_day(monday, region_code="990102000")
    _holiday("990100000", saturday, "调休上班", workday=True)  # the city works that Saturday
    assert is_business_day(saturday, region_code="990102000")  # a county below the city inherits it
    assert not is_business_day(saturday, region_code="990202000")  # the other city does not
