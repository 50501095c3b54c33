"""The shell as a person uses it, in Debian's Chromium: log in, browse the region tree, filter the unit
list (HTMX), export it to Excel; a unit clerk cannot open another unit's page; no page loads anything
from outside this server (finance networks have no internet)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.e2e

EXTERNAL_URL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(https?://[^"'\s>]+)""", re.I)


class OffsiteWatch:
    """Records every request the browser makes and every absolute URL in each page's HTML that does not
    point at the live server."""

    def __init__(self, page, base_url: str):
        self.host = urlsplit(base_url).netloc
        self.page = page
        self.offsite: list[str] = []
        page.on("request", self._on_request)

    def _on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.host:
            self.offsite.append(request.url)

    def check_html(self):
        for url in EXTERNAL_URL.findall(self.page.content()):
            if urlsplit(url).netloc != self.host:
                self.offsite.append(f"{self.page.url}: {url}")

    def assert_clean(self):
        assert self.offsite == [], f"页面引用了外部地址：{self.offsite}"


def test_finance_user_browses_filters_and_exports_units(page, login, live_server, tmp_path):
    watch = OffsiteWatch(page, live_server.url)
    page.goto("/login/")
    watch.check_html()
    login("fin_budget")
    watch.check_html()
    assert page.locator("header .who").inner_text().endswith("预算处 王处长")

    # Region tree: the province with its city nested below it.
    page.goto("/masterdata/regions/tree/")
    watch.check_html()
    province = page.locator("#region-tree > ul > li", has_text="华夏省").first
    assert "990000000 华夏省" in province.locator("> a").inner_text()
    assert province.locator("ul li > a", has_text="东川市").count() >= 1

    # Unit list, filtered through HTMX: only the list body is swapped.
    page.goto("/r/units/")
    watch.check_html()
    all_count = page.locator("#list-body tbody tr").count()
    assert all_count > 0
    page.evaluate("document.querySelector('form.filters').dataset.marker = 'kept'")
    page.fill("input[name=q]", "教育")
    with page.expect_response(lambda r: "/r/units/" in r.url and r.request.headers.get("hx-request") == "true"):
        page.click("form.filters button[type=submit]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#list-body tbody tr td:nth-child(2)')]"
        ".every(td => td.innerText.includes('教育'))")
    # The page itself was not reloaded: the marker on the filter form survives the swap.
    assert page.evaluate("document.querySelector('form.filters').dataset.marker") == "kept"
    names = page.locator("#list-body tbody tr td:nth-child(2)").all_inner_texts()
    codes = page.locator("#list-body tbody tr td:nth-child(1)").all_inner_texts()
    assert names and all("教育" in n for n in names)
    assert len(names) < all_count
    assert re.search(r"共\s*(\d+)\s*条", page.locator("#list-body .count").inner_text()).group(1) == str(len(names))
    assert "q=" in page.url  # the filtered address is pushed to the history
    watch.check_html()

    # Excel export of what is on screen.
    with page.expect_download() as dl:
        page.click("#export-xlsx")
    path = tmp_path / "units.xlsx"
    dl.value.save_as(path)
    assert dl.value.suggested_filename.endswith(".xlsx")
    ws = load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("单位代码", "单位名称")
    exported = [(r[0], r[1]) for r in rows[1:]]
    assert sorted(exported) == sorted(zip(codes, names, strict=True)), "导出的行应与筛选后列表一致"

    # The API documentation is served from this server's own static files.
    page.goto("/api/v1/docs")
    watch.check_html()
    watch.assert_clean()
    page.wait_for_selector("#swagger-ui .info .title")
    assert "预算管理一体化系统 API" in page.locator("#swagger-ui .info .title").inner_text()
    watch.assert_clean()


def test_unit_clerk_cannot_open_another_units_page(page, login, live_server):
    from ibms.masterdata.models import Unit

    other = Unit.objects.get(region_code="990000000", code="002001")
    own = Unit.objects.get(region_code="990000000", code="001001")
    watch = OffsiteWatch(page, live_server.url)
    login("school_clerk")

    resp = page.goto(f"/r/units/{own.pk}/")
    assert resp.status == 200
    assert own.name in page.content()

    resp = page.goto(f"/r/units/{other.pk}/")
    assert resp.status == 404
    body = page.locator("body").inner_text()
    assert "不存在或无权访问" in body
    assert other.name not in body
    watch.check_html()
    watch.assert_clean()
