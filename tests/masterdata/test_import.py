"""Excel through the page and through `resource_import`: all or nothing, every problem named by row number and
column header, non-xlsx and oversized files refused in Chinese; template and filtered export."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from ibms.core.codes import id_check_char, uscc_check_char
from ibms.core.errors import ValidationFailed
from ibms.core.models import ChangeLog
from ibms.core.resources import get_resource
from ibms.core.services import ImportFailed, resource_import
from ibms.masterdata import models as m
from tests.constants import PROVINCE

UNIT_HEADERS = ["单位代码", "单位名称", "上级单位代码", "统一社会信用代码", "单位类型", "财政供养方式", "归口处室", "启用"]
PEOPLE_HEADERS = ["单位代码", "姓名", "身份证号", "人员状态", "编制类型", "职务", "级别", "基本工资（月）",
                  "津贴补贴（月）", "奖金（月）", "绩效工资（月）", "启用"]


def uscc(seed: str) -> str:
    body = ("12990000" + seed + "000000000")[:17]
    return body + uscc_check_char(body)


def id_number(seq: int) -> str:
    body = f"99010119800101{seq:03d}"
    return body + id_check_char(body)


def xlsx(headers: list[str], rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(data: bytes, name: str = "导入.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


GOOD_UNITS = [
    ["801", "省新设局", "", uscc("801"), "行政单位", "全额供养", "", "是"],
    ["801001", "省新设局直属中心", "801", uscc("802"), "事业单位", "差额供养", "", "是"],
    ["801002", "省新设局信息站", "801", "", "institution", "full", "", ""],
]


class TestUnitImportPage:
    url = "/r/units/import/"

    def test_good_file_imports_units_with_parents_from_earlier_rows(self, client_as):
        c = client_as("fin_budget")
        logs = ChangeLog.objects.count()
        r = c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS, GOOD_UNITS))})
        assert r.status_code == 200, r.content.decode()
        assert "导入成功：新增 3 条" in r.content.decode()
        dept = m.Unit.objects.get(region_code=PROVINCE, code="801")
        child = m.Unit.objects.get(region_code=PROVINCE, code="801001")
        third = m.Unit.objects.get(region_code=PROVINCE, code="801002")
        assert child.parent == dept and child.department == dept and child.path == "/801/801001/"
        assert child.unit_type == "institution" and child.support_level == "partial"
        assert third.parent == dept and third.unit_type == "institution"
        assert third.is_active  # a blank 启用 cell keeps the default, it does not switch the unit off
        assert ChangeLog.objects.count() == logs + 3
        assert ChangeLog.objects.filter(object_type="masterdata.unit", object_id=str(child.pk),
                                        actor_name="fin_budget", action="create").exists()

    def test_reimport_updates_by_code(self, client_as):
        c = client_as("fin_budget")
        c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS, GOOD_UNITS))})
        rows = [list(GOOD_UNITS[0]), list(GOOD_UNITS[1])]
        rows[1][1] = "省新设局直属中心（更名）"
        r = c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS, rows))})
        assert "新增 0 条，更新 2 条" in r.content.decode()
        assert m.Unit.objects.get(region_code=PROVINCE, code="801001").name == "省新设局直属中心（更名）"

    @pytest.mark.parametrize("bad_row,header,needle", [
        (["801003", "坏单位", "", uscc("803")[:-1] + "0", "事业单位", "全额供养", "", "是"], "统一社会信用代码", "校验位"),
        (["801003", "坏单位", "999", "", "事业单位", "全额供养", "", "是"], "上级单位代码", ""),
        (["801003", "坏单位", "", "", "不存在的类型", "全额供养", "", "是"], "单位类型", "无效选项"),
        (["80!", "坏单位", "", "", "事业单位", "全额供养", "", "是"], "单位代码", "单位代码"),
    ])
    def test_one_bad_row_saves_nothing_and_names_row_and_column(self, client_as, bad_row, header, needle):
        c = client_as("fin_budget")
        before = m.Unit.objects.count(), ChangeLog.objects.count()
        rows = [GOOD_UNITS[0], GOOD_UNITS[1], bad_row, GOOD_UNITS[2]]
        r = c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS, rows))})
        assert r.status_code == 422
        page = r.content.decode()
        assert "未保存任何数据" in page
        problems = r.context["problems"]
        assert len(problems) == 1, problems
        assert problems[0]["row"] == 4 and problems[0]["column"] == header  # header row is 1; bad row is 4th
        assert needle in problems[0]["message"]
        assert f"<td>4</td><td>{header}</td>" in page
        assert (m.Unit.objects.count(), ChangeLog.objects.count()) == before
        assert not m.Unit.objects.filter(code__startswith="801").exists()

    def test_same_code_twice_in_a_file_updates_the_earlier_row(self, client_as):
        """The code is the natural key: a later row with the same code is an update of the earlier one."""
        c = client_as("fin_budget")
        rows = [GOOD_UNITS[0], GOOD_UNITS[1], ["801001", "重复", "801", "", "事业单位", "全额供养", "", "是"]]
        r = c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS, rows))})
        assert r.status_code == 200
        assert r.context["result"] == {"created": 2, "updated": 1}
        assert m.Unit.objects.get(region_code=PROVINCE, code="801001").name == "重复"

    def test_non_xlsx_file_is_refused_in_chinese(self, client_as):
        c = client_as("fin_budget")
        for data, name in [(b"code,name\n801,x\n", "units.csv"), (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "units.xls"),
                           (b"PK\x03\x04 not really a zip", "units.xlsx")]:
            r = c.post(self.url, {"file": upload(data, name)})
            assert r.status_code == 422
            assert "不是有效的 Excel" in r.context["problems"][0]["message"]
        assert not m.Unit.objects.filter(code="801").exists()

    def test_missing_file_and_missing_required_column(self, client_as):
        c = client_as("fin_budget")
        r = c.post(self.url, {})
        assert r.status_code == 422 and "请选择" in r.context["problems"][0]["message"]
        r = c.post(self.url, {"file": upload(xlsx(UNIT_HEADERS[1:], [GOOD_UNITS[0][1:]]))})
        assert r.status_code == 422
        assert r.context["problems"][0]["column"] == "单位代码" and "缺少必填列" in r.context["problems"][0]["message"]

    def test_oversized_file_is_refused(self, client_as, settings):
        data = xlsx(UNIT_HEADERS, GOOD_UNITS)
        settings.IBMS_IMPORT_MAX_BYTES = len(data) - 1
        r = client_as("fin_budget").post(self.url, {"file": upload(data)})
        assert r.status_code == 422
        assert "文件过大" in r.context["problems"][0]["message"]
        assert not m.Unit.objects.filter(code="801").exists()
        settings.IBMS_IMPORT_MAX_BYTES = len(data)
        assert client_as("fin_budget").post(self.url, {"file": upload(data)}).status_code == 200

    def test_import_needs_add_permission(self, client_as):
        r = client_as("auditor").post(self.url, {"file": upload(xlsx(UNIT_HEADERS, GOOD_UNITS))})
        assert r.status_code == 403
        assert not m.Unit.objects.filter(code="801").exists()


class TestPeopleImport:
    def test_money_in_yuan_becomes_fen(self, client_as):
        rows = [["001001", "张三", id_number(1), "在职", "事业编制", "教师", "", "5,678.90", 1234.5, "0", "1000", "是"],
                ["002001", "李四", id_number(2), "离退休", "事业编制", "", "", "3000", "0.01", "", "", ""]]
        r = client_as("fin_budget").post("/r/people/import/", {"file": upload(xlsx(PEOPLE_HEADERS, rows))})
        assert r.status_code == 200, r.context.get("problems")
        zs = m.Person.objects.get(name="张三")
        assert (zs.basic_salary, zs.allowance, zs.bonus, zs.performance_pay) == (567890, 123450, 0, 100000)
        assert zs.unit == m.Unit.objects.get(region_code=PROVINCE, code="001001")
        assert zs.region_code == PROVINCE
        ls = m.Person.objects.get(name="李四")
        assert (ls.basic_salary, ls.allowance, ls.status) == (300000, 1, "retired")

    def test_bad_money_and_bad_id_are_named(self, client_as):
        before = m.Person.objects.count()
        rows = [["001001", "张三", id_number(1), "在职", "事业编制", "", "", "12.345", "", "", "", "是"],
                ["001001", "王五", id_number(3)[:-1] + ("0" if id_number(3)[-1] != "0" else "1"), "在职", "事业编制",
                 "", "", "100", "", "", "", "是"]]
        r = client_as("fin_budget").post("/r/people/import/", {"file": upload(xlsx(PEOPLE_HEADERS, rows))})
        assert r.status_code == 422
        problems = r.context["problems"]
        assert {"row": 2, "column": "基本工资（月）"}.items() <= problems[0].items()
        assert "两位小数" in problems[0]["message"]
        assert m.Person.objects.count() == before

    def test_unit_clerk_imports_only_into_own_unit(self, client_as):
        rows = [["001001", "本单位", id_number(4), "在职", "事业编制", "", "", "100", "", "", "", "是"],
                ["002001", "外单位", id_number(5), "在职", "事业编制", "", "", "100", "", "", "", "是"]]
        r = client_as("school_clerk").post("/r/people/import/", {"file": upload(xlsx(PEOPLE_HEADERS, rows))})
        assert r.status_code == 422
        assert [(p["row"], p["column"]) for p in r.context["problems"]] == [(3, "单位代码")]
        assert not m.Person.objects.filter(name__in=["本单位", "外单位"]).exists()


class TestImportService:
    def test_service_is_all_or_nothing(self, user):
        res = get_resource("units")
        rows = [{"_row": 2, "code": "801", "name": "甲", "parent": None, "uscc": None, "unit_type": "organ",
                 "support_level": "full", "division_code": None, "is_active": True},
                {"_row": 3, "code": "801001", "name": "乙", "parent": "801", "uscc": "123", "unit_type": "institution",
                 "support_level": "full", "division_code": None, "is_active": True}]
        with pytest.raises(ImportFailed) as exc:
            resource_import(actor=user("fin_budget"), resource=res, rows=rows)
        assert isinstance(exc.value, ValidationFailed) and exc.value.code == "import_rejected"
        assert exc.value.detail == [{"row": 3, "column": "统一社会信用代码", "message": exc.value.detail[0]["message"]}]
        assert "统一社会信用代码" in exc.value.detail[0]["message"]
        assert "第3行" in exc.value.message
        assert not m.Unit.objects.filter(code="801").exists()
        rows[1]["uscc"] = None
        assert resource_import(actor=user("fin_budget"), resource=res, rows=rows) == {"created": 2, "updated": 0}
        assert m.Unit.objects.get(region_code=PROVINCE, code="801001").parent.code == "801"

    def test_every_bad_row_is_reported(self, user):
        res = get_resource("units")
        rows = [{"_row": i, "code": c, "name": "x", "unit_type": t, "support_level": "full"}
                for i, (c, t) in enumerate([("801", "organ"), ("8!", "organ"), ("802", "bogus"), ("803", "organ")], 2)]
        with pytest.raises(ImportFailed) as exc:
            resource_import(actor=user("fin_budget"), resource=res, rows=rows)
        assert [(p["row"], p["column"]) for p in exc.value.detail] == [(3, "单位代码"), (4, "单位类型")]
        assert not m.Unit.objects.filter(code__in=["801", "803"]).exists()

    def test_upper_level_import_cannot_touch_lower_regions(self, user):
        res = get_resource("regions")
        rows = [{"_row": 2, "code": "990102001", "name": "某镇", "level": "5", "parent": "990102000", "is_active": True}]
        with pytest.raises(ImportFailed) as exc:
            resource_import(actor=user("fin_budget"), resource=res, rows=rows)
        assert exc.value.detail[0]["row"] == 2 and "本级以外" in exc.value.detail[0]["message"]
        assert not m.Region.objects.filter(code="990102001").exists()


class TestTemplateAndExport:
    def test_template_opens_with_the_headers(self, client_as):
        r = client_as("fin_budget").get("/r/units/template/")
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(r.content))
        headers = [str(c.value).rstrip("*") for c in wb.worksheets[0][1]]
        assert headers == UNIT_HEADERS
        wb = load_workbook(io.BytesIO(client_as("school_clerk").get("/r/people/template/").content))
        assert [str(c.value).rstrip("*") for c in wb.worksheets[0][1]] == PEOPLE_HEADERS

    def test_filled_template_imports(self, client_as):
        c = client_as("fin_budget")
        wb = load_workbook(io.BytesIO(c.get("/r/units/template/").content))
        ws = wb.worksheets[0]
        for r, row in enumerate(GOOD_UNITS, start=2):
            for col, value in enumerate(row, start=1):
                ws.cell(row=r, column=col).value = value
        buf = io.BytesIO()
        wb.save(buf)
        r = c.post("/r/units/import/", {"file": upload(buf.getvalue())})
        assert r.status_code == 200, r.context.get("problems")
        assert r.context["result"] == {"created": 3, "updated": 0}

    @pytest.mark.parametrize("username,params", [
        ("fin_budget", {"q": "教育"}),
        ("fin_budget", {"q": "中学", "unit_type": "institution"}),
        ("fin_budget", {"region_code": "990102000"}),
        ("county_treasury", {"q": "局"}),
        ("school_clerk", {}),
    ])
    def test_export_contains_exactly_the_filtered_rows(self, client_as, user, username, params):
        from django.db.models import Q

        r = client_as(username).get("/r/units/", {**params, "export": "xlsx"})
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
        ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        assert [str(h).rstrip("*") for h in rows[0]] == UNIT_HEADERS
        got = sorted((row[0], row[1]) for row in rows[1:] if any(v is not None for v in row))
        qs = m.Unit.objects.restrict(user(username))
        if "q" in params:
            qs = qs.filter(Q(code__icontains=params["q"]) | Q(name__icontains=params["q"])
                           | Q(uscc__icontains=params["q"]))
        for k in ("unit_type", "region_code"):
            if k in params:
                qs = qs.filter(**{k: params[k]})
        expected = sorted(qs.values_list("code", "name"))
        assert got == expected and expected
        if username == "school_clerk":
            assert got == [("001001", "省第一实验中学")]

    def test_people_export_has_yuan_amounts(self, client_as):
        own = m.Unit.objects.get(region_code=PROVINCE, code="001001")
        p = m.Person.objects.filter(unit=own).order_by("id").first()
        r = client_as("school_clerk").get("/r/people/", {"q": p.name, "export": "xlsx"})
        ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
        rows = [row for row in ws.iter_rows(min_row=2, values_only=True) if row[1] == p.name]
        assert rows and all(str(row[2]) == p.id_number for row in rows)
        from decimal import Decimal

        assert Decimal(str(rows[0][7])) == Decimal(p.basic_salary) / 100
