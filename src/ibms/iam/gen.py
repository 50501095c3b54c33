"""`ibms gen` stage of this app: the organisations of a generated province (`GEN_STAGES`, collected by
`demo.generator`) — one per department and unit, which their users hang on, and the finance divisions."""

from __future__ import annotations

from collections.abc import Iterator

from .models import Organization


def stage_organizations(ctx) -> None:
    """An organisation for each department and unit (their users hang on these) and the finance divisions."""
    div = {2: "处", 3: "科", 4: "股"}

    def rows() -> Iterator[Organization]:
        for r in ctx.regions:
            bureau = "财政厅" if r.level == 2 and not ctx.scale.direct_counties else "财政局"
            for name in ("预算", "国库", "会计", "信息中心"):
                label = name if name == "信息中心" else name + div[r.level]
                yield Organization(region_code=r.code, code=f"fin-{label}", name=f"{r.name}{bureau}{label}",
                                   kind=Organization.Kind.FINANCE)
        for u in ctx.units:
            dept = u.parent_id is None
            yield Organization(region_code=u.region_code, code=f"{'dept' if dept else 'unit'}-{u.code}", name=u.name,
                               kind=Organization.Kind.DEPARTMENT if dept else Organization.Kind.UNIT, unit=u)

    ctx.insert(Organization, rows(), total=4 * len(ctx.regions) + len(ctx.units), desc="组织机构")


GEN_STAGES: list = [("organizations", stage_organizations, (Organization,))]
