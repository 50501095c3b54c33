"""Page details that matter to finance staff: a Chinese UI whatever the browser asks for, and code inputs
instead of selects with thousands of options."""

from ibms.core.forms import ScopedModelForm


def test_ui_stays_chinese_for_an_english_browser(client_as):
    resp = client_as("fin_budget").get("/r/units/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert '<option value="unknown" selected>全部</option>' in html
    assert "Unknown" not in html


def test_large_code_choice_renders_as_code_input(client_as, monkeypatch):
    c = client_as("fin_budget")
    html = c.get("/r/people/new/").content.decode()
    assert '<select name="unit"' in html  # 15 units in the province: a select is fine
    monkeypatch.setattr(ScopedModelForm, "max_select_options", 5)
    html = c.get("/r/people/new/").content.decode()
    assert '<select name="unit"' not in html
    assert 'name="unit"' in html and 'placeholder="输入单位代码"' in html


def test_detail_page_shows_booleans_and_money_in_chinese_form(client_as):
    from ibms.masterdata.models import Person

    person = Person.objects.filter(unit__code="001001", region_code="990000000").first()
    html = client_as("fin_budget").get(f"/r/people/{person.pk}/").content.decode()
    assert "<th>启用</th><td>是</td>" in html
    yuan, fen = divmod(person.basic_salary, 100)
    assert f"<td>{yuan:,}.{fen:02d}</td>" in html
