"""`ibms gen`: deterministic, valid, audited synthetic master data that coexists with the demo province."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from ibms.core.codes import (
    bank_account_error,
    bank_code_error,
    id_number_error,
    org_code_with_check,
    region_code_error,
    region_level_from_code,
    unit_code_error,
    uscc_error,
)
from ibms.core.verify import run_all
from ibms.demo.generator import EXIT_ALREADY_GENERATED, SCALES, GenError, digest, generate
from ibms.iam.models import Organization, User
from ibms.masterdata import models as m

PP = "98"


@pytest.fixture
def small(db):
    return generate("small", 11, prefix=PP, progress=False)


def _digest_of_fresh_run(seed: int) -> str:
    with transaction.atomic():
        generate("small", seed, prefix=PP, progress=False)
        value = digest(PP)
        transaction.set_rollback(True)
    assert not m.Region.objects.filter(code__startswith=PP).exists()
    return value


def test_small_scale_counts(small):
    spec = SCALES["small"]
    regions = m.Region.objects.filter(code__startswith=PP)
    assert regions.count() == 7 == spec.region_count
    assert sorted(regions.values_list("level", flat=True)) == [2, 3, 3, 4, 4, 4, 4]
    units = m.Unit.objects.filter(region_code__startswith=PP)
    assert units.count() == 60
    assert set(units.values_list("region_code", flat=True)) == set(regions.values_list("code", flat=True))
    people = m.Person.objects.filter(region_code__startswith=PP).count()
    assert 60 * spec.people_per_unit[0] <= people <= 60 * spec.people_per_unit[1]
    assert m.Payee.objects.filter(region_code__startswith=PP).count() == 120
    # every unit has its zero-balance account; every region its finance bureau's two accounts
    accounts = m.BankAccount.objects.filter(region_code__startswith=PP)
    assert accounts.filter(account_type="12").count() == 60
    assert accounts.filter(unit__isnull=True).count() == 14
    assert m.FiscalYear.objects.filter(region_code__startswith=PP).count() == 14
    assert Organization.objects.filter(region_code__startswith=PP, kind__in=["department", "unit"]).count() == 60
    assert small.counts["person"] == people and small.counts["unit"] == 60
    # the demo province is untouched
    assert m.Unit.objects.filter(region_code__startswith="99").count() == 63


def test_codes_are_valid_and_trees_consistent(small):
    for r in m.Region.objects.filter(code__startswith=PP).select_related("parent"):
        assert region_code_error(r.code) is None
        assert region_level_from_code(r.code) == r.level
        assert r.path == (r.parent.path if r.parent else "/") + r.code + "/"
    units = list(m.Unit.objects.filter(region_code__startswith=PP).select_related("parent", "department"))
    for u in units:
        assert unit_code_error(u.code) is None and uscc_error(u.uscc) is None, u
        assert u.uscc[2:8] == u.region_code[:6]
        if u.parent is None:
            assert len(u.code) == 3 and u.path == f"/{u.code}/" and u.department is None
        else:
            assert u.parent.region_code == u.region_code and u.parent.parent_id is None
            assert u.code[:3] == u.parent.code and len(u.code) == 6
            assert u.path == f"{u.parent.path}{u.code}/" and u.department_id == u.parent_id
    assert len({u.uscc for u in units}) == len(units)
    ids = list(m.Person.objects.filter(region_code__startswith=PP).values_list("id_number", "basic_salary"))
    assert len({i for i, _ in ids}) == len(ids)
    for id_number, salary in ids:
        assert id_number_error(id_number) is None, id_number
        assert isinstance(salary, int) and salary > 0
    for p in m.Payee.objects.filter(region_code__startswith=PP):
        check = uscc_error if p.kind == m.Payee.Kind.CORPORATE else id_number_error
        assert check(p.id_code) is None, p.id_code
        assert bank_account_error(p.account_no) is None and bank_code_error(p.bank_code) is None
    for a in m.BankAccount.objects.filter(region_code__startswith=PP):
        assert bank_account_error(a.account_no) is None and a.bank.region_code == a.region_code
    for b in m.AgentBank.objects.filter(region_code__startswith=PP):
        assert bank_code_error(b.code) is None


def test_org_code_check_character():
    # GB 11714 worked example: body D2143569 → check X
    assert org_code_with_check("D2143569") == "D2143569X"


def test_verify_passes_after_generation(small):
    assert {name: problems for name, problems in run_all().items() if problems} == {}


def test_verify_names_a_generated_row_changed_behind_the_application(small):
    unit = m.Unit.objects.filter(region_code__startswith=PP).order_by("id").first()
    m.Unit.objects.filter(pk=unit.pk).update(name="篡改")
    problems = run_all()["audit.rows"]
    assert problems == [f"masterdata_unit id={unit.pk}: row differs from its last audited state "
                        f"(changed outside the application)"]


def test_same_seed_same_data_other_seed_other_data(db):
    first = _digest_of_fresh_run(5)
    assert _digest_of_fresh_run(5) == first
    assert _digest_of_fresh_run(6) != first


def test_unit_scope_on_generated_data(small):
    unit = m.Unit.objects.filter(region_code__startswith=PP, parent__isnull=False).order_by("region_code", "code")[3]
    org = Organization.objects.get(region_code=unit.region_code, unit=unit)
    clerk = User.objects.create(username="gen_clerk", organization=org)
    assert list(m.Unit.objects.in_scope(clerk)) == [unit]
    people = m.Person.objects.in_scope(clerk)
    assert people.count() == unit.people.count() > 0
    assert set(m.Payee.objects.in_scope(clerk).values_list("unit_id", flat=True)) == {unit.pk}
    # same unit code in a sibling region is out of scope
    twin = m.Unit.objects.filter(code=unit.code).exclude(pk=unit.pk).first()
    assert twin is not None and not m.Unit.objects.in_scope(clerk).filter(pk=twin.pk).exists()

    dept_org = Organization.objects.get(region_code=unit.region_code, unit=unit.department)
    dept_user = User.objects.create(username="gen_dept", organization=dept_org)
    assert set(m.Unit.objects.in_scope(dept_user)) == set(m.Unit.objects.filter(
        region_code=unit.region_code, path__startswith=unit.department.path))


def test_finance_scope_on_generated_regions(small):
    county = m.Region.objects.filter(code__startswith=PP, level=4).order_by("code").first()
    county_fin = User.objects.create(username="gen_fin_county", organization=Organization.objects.get(
        region_code=county.code, code="fin-国库股"))
    assert set(m.Unit.objects.in_scope(county_fin).values_list("region_code", flat=True)) == {county.code}
    root_fin = User.objects.create(username="gen_fin_root", organization=Organization.objects.get(
        region_code=f"{PP}0000000", code="fin-预算处"))
    visible = m.Unit.objects.in_scope(root_fin)
    assert visible.count() == 60 and not visible.filter(region_code__startswith="99").exists()


def test_command_refuses_a_province_that_already_has_data(db, capsys):
    call_command("gen", scale="small", seed=3, province="97", no_progress=True)
    out = capsys.readouterr().out
    assert "digest " + digest("97") in out
    with pytest.raises(CommandError) as exc:
        call_command("gen", scale="small", seed=3, province="97", no_progress=True)
    assert exc.value.returncode == EXIT_ALREADY_GENERATED and "不重复生成" in str(exc.value)
    with pytest.raises(GenError):
        generate("small", 3, prefix="99", progress=False)  # the demo province's prefix is never generated into
