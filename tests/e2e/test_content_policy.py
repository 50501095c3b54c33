"""Under the Content-Security-Policy (no inline script, handler or style), the behaviour moved to core/ibms.js
still works in Chromium, and the API docs (Swagger UI from ninja's static files) still render. The `page`
fixture fails any test whose pages the policy had to block."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_department_select_submits_its_form(page, login):
    login("edu_clerk")
    page.goto("/projects/rank/")
    select = page.locator("select[name=department]")
    assert select.get_attribute("data-autosubmit") is not None
    value = select.input_value()
    with page.expect_navigation():
        page.dispatch_event("select[name=department]", "change")  # as choosing another department does
    assert re.search(rf"[?&]department={value}(&|$)", page.url)
    assert page.locator("#rank-table").count() == 1


def test_api_docs_render_under_the_policy(page, login):
    login("fin_budget")
    page.goto("/api/v1/docs")
    page.wait_for_selector("#swagger-ui .opblock", timeout=30_000)
    assert page.locator("#swagger-ui .opblock").count() > 10


def test_the_policy_blocks_an_injected_handler_and_the_page_reports_it(browser, live_server, committed_db):
    """What the `page` fixture relies on: Chromium refuses an inline handler and says so on the console."""
    context = browser.new_context(base_url=live_server.url)
    try:
        pg = context.new_page()
        seen: list[str] = []
        pg.on("console", lambda msg: seen.append(msg.text))
        pg.goto("/login/")
        pg.evaluate("""() => { const b = document.createElement('button'); b.id = 'evil';
                               b.setAttribute('onclick', 'document.title = "pwned"'); document.body.append(b); }""")
        pg.click("#evil")
        pg.wait_for_timeout(200)
        assert pg.title() != "pwned"
        assert any("Content Security Policy" in t for t in seen), seen
    finally:
        context.close()
