"""The carry-over rules as data: the shipped files load; a bad file is refused naming file and line; a region
takes its own rows, else the nearest upper region's; classification (零结转, the carry age, rule order)."""

from __future__ import annotations

import pytest

from ibms.closing import domain, rules
from ibms.closing.domain import Facts, Policy
from tests.constants import CITY, COUNTY, PROVINCE

HEAD = ",".join(rules.RULE_COLUMNS)
GOOD = f",1,ALL,,,,,,,,recall,全部收回\n{CITY},1,CITY_CARRY,,,,,,,,carry,市级全部结转\n"


def write(tmp_path, text: str, name: str = "carry_rules.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_files_load():
    assert rules.load_rules(rules.data_dir() / rules.RULES_FILE)[""]
    assert rules.load_policies(rules.data_dir() / rules.POLICY_FILE)[""].max_carry_age == 2


@pytest.mark.parametrize(("row", "needle"), [
    (",x,A,,,,,,,,carry,原因", "priority"), (",1,A,,,,,,,,keep,原因", "outcome"), (",1,A,,,,,,,,carry,", "reason"),
    (",1,A,,weird,,,,,,carry,原因", "spending"), (",1,A,,,,maybe,,,,carry,原因", "continues"),
    (",1,A,,,9,,,,,carry,原因", "project_category"), ("123,1,A,,,,,,,,carry,原因", "region_code"),
])
def test_bad_rule_rows_are_refused_with_file_and_line(tmp_path, row, needle):
    with pytest.raises(rules.RulesError) as e:
        rules.load_rules(write(tmp_path, f"{HEAD}\n,1,OK,,,,,,,,recall,收回\n{row.replace(',1,', ',2,', 1)}\n"))
    assert "carry_rules.csv:3" in str(e.value) and needle in str(e.value)


def test_duplicate_code_and_missing_national(tmp_path):
    with pytest.raises(rules.RulesError, match="carry_rules.csv:3.*重复"):
        rules.load_rules(write(tmp_path, f"{HEAD}\n,1,A,,,,,,,,recall,收回\n,2,A,,,,,,,,carry,结转\n"))
    with pytest.raises(rules.RulesError, match="全国"):
        rules.load_rules(write(tmp_path, f"{HEAD}\n{CITY},1,A,,,,,,,,recall,收回\n"))


def test_bad_policy_refused(tmp_path):
    head = ",".join(rules.POLICY_COLUMNS)
    for row, needle in ((",maybe,2,refuse,x", "zero_carry"), (",no,-1,refuse,x", "max_carry_age"),
                        (",no,2,void,x", "open_reservations")):
        with pytest.raises(rules.RulesError) as e:
            rules.load_policies(write(tmp_path, f"{head}\n{row}\n", "region_policy.csv"))
        assert "region_policy.csv:2" in str(e.value) and needle in str(e.value)


@pytest.mark.django_db
def test_region_takes_nearest_rows(tmp_path):
    table = rules.load_rules(write(tmp_path, HEAD + "\n" + GOOD))
    assert rules._nearest(table, COUNTY)[0].code == "CITY_CARRY"  # the county's city has its own rows
    assert rules._nearest(table, CITY)[0].code == "CITY_CARRY"
    assert rules._nearest(table, PROVINCE)[0].code == "ALL"


def test_classify():
    table = rules.load_rules(rules.data_dir() / rules.RULES_FILE)[""]
    policy = Policy()
    cont = Facts("111", spending="project", project_category="3", continues=True)
    assert domain.classify(cont, table, policy).rule_code == "PROJECT_CONTINUES"
    assert domain.classify(Facts("111", spending="project"), table, policy).rule_code == "PROJECT_DONE"
    assert domain.classify(Facts("122", spending="project", continues=True), table, policy).rule_code == "BOND"
    assert domain.classify(Facts("111", spending="basic", is_track=True), table, policy).decision == "carry"
    assert domain.classify(Facts("111", executable=False), table, policy).rule_code == "UNALLOCATED"
    assert domain.classify(Facts("111", executable=False, transfer="in"), table, policy).rule_code == "TRANSFER_IN"
    aged = Facts("111", is_track=True, carried=2)
    assert domain.classify(aged, table, policy).rule_code == "CARRY_AGE"
    assert domain.classify(cont, table, Policy(zero_carry=True)).rule_code == "ZERO_CARRY"
    assert domain.classify(cont, (), policy).rule_code == "DEFAULT"


def test_change_violations_and_split():
    assert domain.split("carry", 100, 30) == (30, 70) and domain.split("recall", 100) == (0, 100)
    v = domain.change_violations(unspent=100, proposed="carry", decision="carry", carry_amount=101, reason="")
    assert {x.code for x in v} == {"carry_exceeds_unspent", "reason_required"}
    assert not domain.change_violations(unspent=100, proposed="carry", decision="carry", carry_amount=None, reason="")
