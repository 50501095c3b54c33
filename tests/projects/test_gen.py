"""`ibms gen` projects stage: about 35 projects per unit, valid codes continuing in the library's sequences,
totals equal to the year plans, 二级 under their department's 一级, audited, deterministic."""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Sum

from ibms.core import verify
from ibms.demo.generator import STAGES, generate
from ibms.masterdata.models import Unit
from ibms.projects.gen import PROJECTS_PER_UNIT
from ibms.projects.models import Project, ProjectYearPlan
from ibms.projects.services import project_create

from .helpers import YEAR, project_data

pytestmark = pytest.mark.django_db
PP = "94"


@pytest.fixture
def small(db):
    return generate("small", 5, prefix=PP, progress=False,
                    stages=[s for s in STAGES if s.name in ("regions", "units", "people", "projects")])


def test_counts_codes_and_totals(small):
    projects = Project.objects.filter(region_code__startswith=PP)
    assert projects.count() == 60 * PROJECTS_PER_UNIT == small.counts["project"]
    per_unit = projects.values("unit").annotate(n=Count("id"))
    assert len(per_unit) == 60 and min(r["n"] for r in per_unit) >= 30
    codes = list(projects.values_list("code", "region_code", "year"))
    assert len({c for c, *_ in codes}) == len(codes)
    assert all(len(c) == 21 and c.isdigit() and c[:6] == r[:6] and c[6:8] == f"{y % 100:02d}" for c, r, y in codes)
    sums = dict(ProjectYearPlan.objects.filter(region_code__startswith=PP).values("project")
                .annotate(s=Sum("amount")).values_list("project", "s"))
    assert all(sums[pk] == total for pk, total in projects.values_list("pk", "total_amount"))
    assert not projects.filter(level=2).exclude(parent__department=F("department")).exists()
    assert not projects.filter(level=2, parent__level=2).exists()
    assert set(projects.values_list("category", flat=True)) == {"1", "21", "22", "3"}
    # every unit has its basic projects for the year, in the library
    assert projects.filter(category="1", year=YEAR, status="in_library").count() == 60
    assert all(not problems for problems in verify.run_all().values())
    assert len(small.data["projects"]["by_unit"]) == 60


def test_next_entry_continues_the_generated_sequence(small):

    from ibms.iam.models import User
    from ibms.projects.domain import CostLineData

    root = Unit.objects.filter(region_code=f"{PP}0000000", parent__isnull=True).order_by("code").first()
    codes = Project.objects.filter(region_code=root.region_code, year=YEAR).values_list("code", flat=True)
    last = max(int(c[8:]) for c in codes)
    admin = User.objects.create_superuser("tp_gen_admin", password="Another#Pass2026")  # no organisation: all scope
    p = project_create(actor=admin, data=project_data(
        unit_id=root.pk, cost_lines=[CostLineData(year=YEAR, item="测算", unit_price=10_000)]))
    assert int(p.code[8:]) == last + 1 and p.code[:6] == root.region_code[:6]


def test_deterministic(db):
    from ibms.demo.generator import digest

    stages = [s for s in STAGES if s.name in ("regions", "units", "people", "projects")]
    from django.db import transaction

    values = []
    for _ in range(2):
        with transaction.atomic():
            generate("small", 5, prefix=PP, progress=False, stages=stages)
            values.append(digest(PP, stages))
            transaction.set_rollback(True)
    assert values[0] == values[1]
