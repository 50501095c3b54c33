"""The indicator reads refuse by themselves: every list and row, API and page, is 403 without the model's view
permission (the list starts from `permitted`, the row from `get_in_scope`) and 404 outside the reader's scope;
the request schemas built from the service inputs keep their field names, defaults and error paths."""

from __future__ import annotations

import itertools
import json

import pytest

from ibms.core import clock
from ibms.core.scoping import VIEW, has_model_perm, scope_of, scope_q
from ibms.iam.models import User
from ibms.indicators.api.ledger import SpecIn
from ibms.indicators.api.reallocations import InLineIn
from ibms.indicators.models import Indicator, Reallocation, SourceDocument, TransferNotice
from ibms.masterdata.models import Unit

pytestmark = pytest.mark.django_db
API = "/api/v1/indicators"
PROVINCE, OTHER_COUNTY = "990000000", "990222000"
YEAR = clock.fiscal_year()
_n = itertools.count(1)


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def doc(prefix: str, **kw) -> dict:
    n = next(_n)
    return {"doc_no": f"{prefix}〔{YEAR}〕S{n:05d}号", "title": f"{prefix}文件{n}", **kw}


def unit_id(code: str) -> int:
    return Unit.objects.get(region_code=PROVINCE, code=code).pk


def create(client, *specs: dict) -> list[dict]:
    r = post(client, f"{API}/source-documents", {**doc("结构批复"), "region_code": PROVINCE, "year": YEAR,
                                                 "kind": "budget_reply"})
    assert r.status_code == 201, r.content
    r = post(client, f"{API}/", {"source_id": r.json()["id"], "specs": [
        {"fund_nature_code": "111", "exp_func_code": "2050202", "dep_eco_code": "30201", "gov_eco_code": "50201",
         **s} for s in specs]})
    assert r.status_code == 201, r.content
    return r.json()


@pytest.fixture
def rows(client_as):
    """One row of each model the reads serve: an indicator, its document, a 调剂 and a transfer notice."""
    c = client_as("fin_budget")
    a, b, pool = create(c, {"amount": "1000", "unit_id": unit_id("001001")},
                        {"amount": "1000", "unit_id": unit_id("001001")}, {"amount": "1000", "is_executable": False})
    r = post(c, f"{API}/reallocations", {"reason": "结构测试", "outs": [{"indicator_id": a["id"], "amount": "1"}],
                                        "ins": [{"indicator_id": b["id"], "amount": "1"}]})
    assert r.status_code == 201, r.content
    realloc = r.json()["id"]
    r = post(c, f"{API}/{pool['id']}/transfer", {"rec_region_code": OTHER_COUNTY, "amount": "10",
                                                "doc": doc("结构下达")})
    assert r.status_code == 201, r.content
    return {Indicator: a["id"], SourceDocument: a["source_id"], Reallocation: realloc, TransferNotice: r.json()["id"]}


READS = {  # model: (API list, API rows, page list, page rows)
    Indicator: (f"{API}/", [f"{API}/{{pk}}", f"{API}/{{pk}}/entries", f"{API}/{{pk}}/lineage"], "/indicators/",
                ["/indicators/{pk}/"]),
    SourceDocument: (f"{API}/source-documents", [], "/indicators/documents/", []),
    Reallocation: (f"{API}/reallocations", [f"{API}/reallocations/{{pk}}"], "/indicators/reallocations/",
                   ["/indicators/reallocations/{pk}/"]),
    TransferNotice: (f"{API}/transfer-notices", [f"{API}/transfer-notices/{{pk}}"], "/indicators/transfers/",
                     ["/indicators/transfers/{pk}/"]),
}


def _people() -> list[User]:
    return list(User.objects.filter(is_active=True, organization__isnull=False).order_by("username"))


@pytest.mark.parametrize("model", list(READS), ids=lambda m: m.__name__)
def test_without_the_view_permission_every_read_is_refused(rows, client_as, model):
    lacking = [u for u in _people() if not has_model_perm(u, model, VIEW)]
    assert lacking, f"every demo user may view {model.__name__}"
    c = client_as(lacking[0].username)
    api_list, api_rows, page_list, page_rows = READS[model]
    pk = rows[model]
    r = c.get(api_list)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied", (lacking[0].username, api_list)
    assert c.get(page_list).status_code == 403
    assert c.get(page_list, {"export": "xlsx"}).status_code == 403
    for url in api_rows:
        r = c.get(url.format(pk=pk))
        assert r.status_code == 403 and r.json()["code"] == "permission_denied", url
    for url in page_rows:
        assert c.get(url.format(pk=pk)).status_code == 403, url
        assert c.post(url.format(pk=pk), {"decision": "approve", "doc_no": "X"}).status_code == 403, url


@pytest.mark.parametrize("model", list(READS), ids=lambda m: m.__name__)
def test_outside_the_scope_rows_are_not_found_and_not_listed(rows, client_as, model):
    pk = rows[model]
    outside = [u for u in _people() if has_model_perm(u, model, VIEW)
               and (q := scope_q(model.scope_spec, scope_of(u), VIEW)) is not None
               and not model.objects.filter(q, pk=pk).exists()]
    assert outside, f"no demo user with the view permission has {model.__name__} {pk} out of scope"
    c = client_as(outside[0].username)
    api_list, api_rows, page_list, page_rows = READS[model]
    r = c.get(api_list, {"limit": 500})
    assert r.status_code == 200
    items = r.json()["items"] if isinstance(r.json(), dict) else r.json()
    assert pk not in [i["id"] for i in items]
    assert c.get(page_list).status_code == 200
    for url in api_rows:
        r = c.get(url.format(pk=pk))
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
    for url in page_rows:
        assert c.get(url.format(pk=pk)).status_code == 404, url


def test_schemas_from_the_service_inputs_keep_names_fields_and_defaults():
    spec = SpecIn.model_json_schema()
    assert SpecIn.__name__ == "SpecIn" and spec["required"] == ["amount", "fund_nature_code", "exp_func_code"]
    assert "source_type_code" not in spec["properties"] and "bgt_type_code" not in spec["properties"]
    assert spec["properties"]["amount"]["type"] == "string" and spec["properties"]["is_executable"]["default"] is True
    assert InLineIn.__name__ == "InLineIn" and InLineIn.model_json_schema()["required"] == ["amount"]


def test_bad_amounts_name_their_line(client_as):
    c = client_as("fin_budget")
    [a] = create(c, {"amount": "100", "unit_id": unit_id("001001")})
    [pool] = create(c, {"amount": "100", "is_executable": False})
    r = post(c, f"{API}/", {"source_id": a["source_id"], "specs": [
        {"amount": "1", "fund_nature_code": "111", "exp_func_code": "2050202"},
        {"amount": "1.234", "fund_nature_code": "111", "exp_func_code": "2050202"}]})
    assert r.status_code == 422 and [(d["code"], d["field"]) for d in r.json()["detail"]] == [
        ("money_invalid", "specs[1].amount")]
    r = post(c, f"{API}/{pool['id']}/distribute", {"doc": doc("结构分配"), "splits": [
        {"unit_id": unit_id("001001"), "amount": "x"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "splits[0].amount"
    r = post(c, f"{API}/reallocations", {"reason": "金额", "outs": [{"indicator_id": a["id"], "amount": "1"}],
                                        "ins": [{"unit_id": unit_id("002001"), "amount": ""}]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "ins[0].amount"
    r = post(c, f"{API}/{pool['id']}/distribute", {"doc": {"doc_no": "", "title": ""}, "splits": [
        {"unit_id": unit_id("001001"), "amount": "1"}]})
    assert r.status_code == 422 and {d["code"] for d in r.json()["detail"]} >= {"doc_no_required"}
