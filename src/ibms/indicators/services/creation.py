"""Creating indicators: validated in bulk against the classifications, numbered gap-free, inserted with their
creation entries. `is_sangong` is derived from the department economic class (`masterdata.selectors.is_sangong`)
on every indicator created here; a caller's `IndicatorSpec.is_sangong` is not used."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from ibms.core import audit
from ibms.core.errors import ValidationFailed, Violation, invalid
from ibms.core.models import Sequence
from ibms.core.money import fen_to_str
from ibms.core.scoping import check_write_scope, require_perm
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.models import Unit, ValueSetItem
from ibms.masterdata.selectors import fiscal_year_require, is_sangong, region_chain, sangong_eco_codes
from ibms.projects.models import Project

from .. import domain
from ..domain import IndicatorSpec
from ..models import Indicator, IndicatorEntry, SourceDocument
from ._common import CREATING_KINDS, P_ADD, E

# --- numbering ---------------------------------------------------------------------------------------------

def _next_block(key: str, count: int) -> int:
    """Take `count` gap-free numbers under `key` in the caller's transaction; returns the first of them."""
    table = Sequence._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET last_value = last_value + %s WHERE key = %s RETURNING last_value",  # noqa: S608
                    [count, key])
        row = cur.fetchone()
    if row is not None:
        return row[0] - count + 1
    try:
        with transaction.atomic():
            Sequence.objects.create(key=key, last_value=count)
        return 1
    except IntegrityError:  # created by a concurrent transaction: take the normal path
        return _next_block(key, count)


@in_callers_transaction
def indicator_codes_next(region_code: str, year: int, count: int) -> list[str]:
    """Gap-free indicator codes (like bgt_id): region (9) + year (4) + serial (8) within the region and year."""
    first = _next_block(f"indicator:{region_code}:{year}", count)
    return [f"{region_code}{year}{n:08d}" for n in range(first, first + count)]


# --- creating indicators ------------------------------------------------------------------------------------

def _classification_violations(year: int, region_code: str, wanted: dict[str, set[str]],
                               leaf_required: set[str]) -> dict[tuple[str, str], Violation]:
    """Bulk leaf check: a handful of queries per call, whatever the number of specs."""
    regions = region_chain(region_code)
    out: dict[tuple[str, str], Violation] = {}
    for vs, codes in wanted.items():
        codes = {c for c in codes if c}
        if not codes:
            continue
        items: dict[str, dict] = {}
        for row in (ValueSetItem.objects.filter(value_set__code=vs, fiscal_year=year, code__in=codes,
                                                region_code__in=regions, is_active=True)
                    .values("id", "code", "name", "is_leaf", "region_code")):
            if row["code"] not in items or len(row["region_code"]) > len(items[row["code"]]["region_code"]):
                items[row["code"]] = row
        refined = set(ValueSetItem.objects.filter(parent_id__in=[r["id"] for r in items.values()],
                                                  region_code__in=regions, is_active=True)
                      .values_list("parent_id", flat=True))
        for code in codes:
            item = items.get(code)
            if item is None:
                out[(vs, code)] = Violation("classification_unknown", f"{year}年度不存在代码 {code}（{vs}）", vs)
            elif vs in leaf_required and (not item["is_leaf"] or item["id"] in refined):
                out[(vs, code)] = Violation("classification_not_leaf",
                                            f"{code} {item['name']} 不是末级代码，指标只能使用末级", vs)
    return out


def _build_rows(source: SourceDocument, specs: list[IndicatorSpec], *, parents: list[Indicator | None] | None = None,
                allow_zero: bool = False) -> list[Indicator]:
    """Unsaved indicators for the specs, validated all at once (every problem named with its line)."""
    region, year = source.region_code, source.year
    v: list[Violation] = []
    unit_ids = {s.unit_id for s in specs if s.unit_id} | {s.department_id for s in specs if s.department_id}
    units = {u.pk: u for u in Unit.objects.filter(pk__in=unit_ids, region_code=region)
             .only("id", "path", "department_id", "region_code")}
    project_ids = {s.project_id for s in specs if s.project_id}
    projects = set(Project.objects.filter(pk__in=project_ids, region_code=region).values_list("pk", flat=True))
    wanted = {"fund_type": {s.fund_nature_code for s in specs}, "exp_func": {s.exp_func_code for s in specs},
              "dep_eco": {s.dep_eco_code for s in specs}, "gov_eco": {s.gov_eco_code for s in specs}}
    bad_codes = _classification_violations(year, region, wanted, {"exp_func", "dep_eco", "gov_eco"})
    sangong = sangong_eco_codes(fiscal_year=year, region_code=region)
    default_source, default_type = domain.source_codes().get(source.kind, ("", ""))
    rows: list[Indicator] = []
    for i, s in enumerate(specs):
        where = f"第{i + 1}行"
        line: list[Violation] = []
        if not isinstance(s.amount, int) or isinstance(s.amount, bool) or s.amount < 0 or (
                s.amount == 0 and not allow_zero):
            line.append(Violation("amount_not_positive", f"{where}：金额必须大于零", f"specs[{i}].amount"))
        if not s.fund_nature_code or not s.exp_func_code:
            line.append(Violation("classification_required", f"{where}：必须填写资金性质和支出功能分类",
                                  f"specs[{i}]"))
        for vs, code in (("fund_type", s.fund_nature_code), ("exp_func", s.exp_func_code),
                         ("dep_eco", s.dep_eco_code), ("gov_eco", s.gov_eco_code)):
            if (vs, code) in bad_codes:
                bad = bad_codes[(vs, code)]
                line.append(Violation(bad.code, f"{where}：{bad.message}", f"specs[{i}].{vs}"))
        unit = units.get(s.unit_id) if s.unit_id else None
        if s.unit_id and unit is None:
            line.append(Violation("unit_unknown", f"{where}：本区划不存在该预算单位", f"specs[{i}].unit_id"))
        if s.is_executable and not s.unit_id:
            line.append(Violation("unit_required", f"{where}：可执行指标必须落实到预算单位", f"specs[{i}].unit_id"))
        if s.department_id and s.department_id not in units:
            line.append(Violation("unit_unknown", f"{where}：本区划不存在该主管部门", f"specs[{i}].department_id"))
        if s.project_id and s.project_id not in projects:
            line.append(Violation("project_unknown", f"{where}：本区划不存在该项目", f"specs[{i}].project_id"))
        if s.rec_region_code and s.rec_region_code == region:
            line.append(Violation("rec_region_invalid", f"{where}：接收区划不能是本级", f"specs[{i}].rec_region_code"))
        if line:
            v.extend(line)
            if len(v) >= 50:
                break
            continue
        department_id = s.department_id or ((unit.department_id or unit.pk) if unit else None)
        rows.append(Indicator(
            region_code=region, year=year, source=source, parent=parents[i] if parents else None,
            unit_id=s.unit_id, department_id=department_id, unit_path=unit.path if unit else "",
            project_id=s.project_id, summary=(s.summary or "")[:200], fund_nature_code=s.fund_nature_code,
            exp_func_code=s.exp_func_code, gov_eco_code=s.gov_eco_code, dep_eco_code=s.dep_eco_code,
            pay_type_code=s.pay_type_code, source_type_code=s.source_type_code or default_source,
            bgt_type_code=s.bgt_type_code or default_type, is_executable=s.is_executable, is_gov_pur=s.is_gov_pur,
            is_track=s.is_track, is_sanbao=s.is_sanbao,
            is_sangong=is_sangong(s.dep_eco_code, fiscal_year=year, region_code=region, codes=sangong),
            rec_region_code=s.rec_region_code, adj_batch_no=source.adj_batch_no,
            amount=s.amount, available=s.amount))
    if v:
        raise ValidationFailed(v, message="指标数据校验未通过")
    return rows


def _insert(actor, rows: list[Indicator], *, counterparts: list[Indicator | None] | None = None,
            memo: str = "") -> list[Indicator]:
    """Give codes, insert the indicators and their creation entries, audit both (bulk)."""
    if not rows:
        return rows
    by_key: dict[tuple[str, int], list[Indicator]] = {}
    for ind in rows:
        by_key.setdefault((ind.region_code, ind.year), []).append(ind)
    for (region, year), group in by_key.items():
        for ind, code in zip(group, indicator_codes_next(region, year, len(group)), strict=True):
            ind.code = code
    Indicator.objects.bulk_create(rows, batch_size=1000)
    who = actor if getattr(actor, "pk", None) else None
    entries = [IndicatorEntry(indicator=ind, region_code=ind.region_code, unit_path=ind.unit_path, kind=E.CREATE,
                              d_amount=ind.amount, d_available=ind.available, source=ind.source,
                              doc_no=ind.source.doc_no, counterpart=(counterparts[i] if counterparts else None),
                              adj_batch_no=ind.adj_batch_no, memo=memo[:300], actor=who)
               for i, ind in enumerate(rows) if ind.amount]
    IndicatorEntry.objects.bulk_create(entries, batch_size=1000)
    audit.record_changes(rows, "create")
    audit.record_changes(entries, "create")
    return rows


def indicators_create(*, actor, source: SourceDocument, specs: list[IndicatorSpec]) -> list[Indicator]:
    """Create indicators from a source document (e.g. budgeting's 批复, one per reply line), each with its
    creation entry. Bulk: a few queries whatever the number of specs. Runs inside the caller's transaction when
    there is one (a savepoint: budgeting's reply), else in its own (the API); nothing is written when any spec is
    refused."""
    require_perm(actor, P_ADD)
    if source is None or source.pk is None:
        raise invalid("source_required", "指标必须依据来源文件生成", "source")
    check_write_scope(actor, region_code=source.region_code)
    if source.kind not in CREATING_KINDS:
        raise invalid("source_cannot_create", f"“{source.get_kind_display()}”文件不能生成新指标", "source")
    fiscal_year_require(source.region_code, source.year, purpose="indicator")
    if not specs:
        return []
    with transaction.atomic():
        rows = _build_rows(source, list(specs))
        _insert(actor, rows)
        audit.record_event("indicators.created", region_code=source.region_code, obj=source,
                           message=f"{len(rows)} indicators", payload={"count": len(rows),
                                                                     "amount": fen_to_str(sum(r.amount for r in rows))})
        return rows
